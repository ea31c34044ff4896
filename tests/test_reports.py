"""JSON and JUnit reports: their content, and that they are written when the run fails or is
interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import rig
from rig.testing import RigRunner, ServerDSN

from fake_distributions import FakeDistributions


def test_json_report_has_the_documented_fields(
        rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run_on_server("--plugin", "basic")
    assert run.exit_code == 0, run.stderr
    report = run.report
    assert report is not None
    assert report["rig_version"] == rig.__version__
    assert report["exit_code"] == 0
    assert report["plugins"] == [{"name": "basic", "distribution": "rig-plugin-basic",
                                  "version": "0.2.0"}]
    (conn,) = report["connections"]
    assert (conn["id"], conn["host"], conn["port"]) == ("c1", rig_server.host, rig_server.port)
    with rig_server.connect() as raw, raw.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        version_string = cursor.fetchone()[0]
    assert conn["server"]["flavor"] == "mariadb"
    assert conn["server"]["version_string"] == version_string
    assert version_string.startswith(conn["server"]["version"])
    assert [s["name"] for s in conn["states"]] == [
        "initial", "parsing_config", "connecting", "testing_connection", "verifying_database",
        "getting_version", "basic_measuring_latency", "basic_inspecting_session", "completed"]
    assert all(s["outcome"] == "ok" and s["duration_s"] >= 0 for s in conn["states"])
    assert conn["error"] is None
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert verdicts == {"connection": "pass", "latency": "pass", "tls": "skip"}
    assert report["sections"]["basic"]["c1"]["latency_ms"]["count"] == 10


def test_junit_xml_has_one_testcase_per_check(rig_runner: RigRunner, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "rig.xml"
    run = rig_runner.run_on_server("--junit-xml", str(junit))
    assert run.exit_code == 0, run.stderr
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "0", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"connection", "latency", "tls"}
    assert cases["latency"].get("classname") == "rig.basic.c1"
    assert cases["tls"].find("skipped") is not None


def test_a_failed_check_exits_1_and_shows_in_both_reports(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    def strict_state(ctx: rig.Context) -> None:
        ctx.check("answer", rig.Verdict.FAIL, "expected 42, got 41")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("judging", strict_state)

    judge = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states))
    junit = tmp_path / "rig.xml"
    run = rig_runner.run_on_server("--plugin", "judge", "--junit-xml", str(junit),
                         plugins=[("judge", judge)])
    assert run.exit_code == 1
    assert run.report is not None and run.report["exit_code"] == 1
    failure = ET.parse(junit).getroot().find("testcase[@name='answer']/failure")
    assert failure is not None and failure.get("message") == "expected 42, got 41"
    assert "FAIL  answer: expected 42, got 41" in run.stdout


def test_reports_are_written_when_the_server_cannot_be_reached(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    junit = tmp_path / "rig.xml"
    run = rig_runner.run("--host", "127.0.0.1:1", "--retry-attempts", "1", "--junit-xml",
                         str(junit))
    assert run.exit_code == 5
    assert run.report is not None
    assert run.report["exit_code"] == 5
    assert "connection refused" in run.report["connections"][0]["error"]["message"]
    error = ET.parse(junit).getroot().find("testcase[@name='workflow']/error")
    assert error is not None and "connection refused" in (error.get("message") or "")


SLEEPER = """
    import rig

    def sleeping(ctx):
        ctx.check("before_sleep", "pass", "reached")
        ctx.require_connection().query("SELECT SLEEP(120) AS rig_interrupt_probe")

    @rig.hookimpl
    def rig_register_states(registry):
        registry.add_state("sleeping", sleeping)
"""


def test_ctrl_c_exits_2_and_the_reports_hold_what_ran(
        rig_server: ServerDSN, fake_dists: FakeDistributions, tmp_path: Path) -> None:
    fake_dists.add("rig-plugin-sleeper", "sleeper", "rig_sleeper_mod", SLEEPER)
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    env = {**os.environ, "PYTHONPATH": str(fake_dists.root),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", *rig_server.rig_args(), "--plugin", "sleeper",
         "--report-json", str(report), "--junit-xml", str(junit)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        with rig_server.connect() as conn, conn.cursor() as cursor:
            while time.monotonic() < deadline:  # wait until the query is really running
                cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                               "WHERE INFO LIKE 'SELECT SLEEP(120) AS rig_interrupt_probe%'")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the sleeping query never started")
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["exit_code"] == 2
    assert {"name": "before_sleep", "verdict": "pass"}.items() <= data["checks"][-1].items()
    assert ET.parse(junit).getroot().find("testcase[@name='before_sleep']") is not None
    # Ctrl-C shut the blocked session down: its thread finished before the reports were
    # written (a session left blocked in SLEEP(120) would have no final state yet)
    conn = data["connections"][0]
    assert conn["final_state"] == "error"
    assert conn["error"]["kind"] == "interrupted"
    sleeping = next(s for s in conn["states"] if s["name"] == "sleeping")
    assert sleeping["outcome"] == "interrupted"


def test_a_report_section_that_is_not_json_is_an_error_naming_plugin_and_path(
        rig_runner: RigRunner) -> None:
    from decimal import Decimal

    def rig_report() -> dict[str, object]:
        return {"c1": {"total": Decimal("12.5"), "fine": [1, "two"]}}

    odd = types.SimpleNamespace(rig_report=rig.hookimpl(rig_report))
    run = rig_runner.run_on_server("--plugin", "basic,odd", plugins=[("odd", odd)])
    assert run.exit_code == 3
    assert "rig: error: plugin 'odd' returned a report section that is not JSON: " \
           "sections.odd.c1.total is a Decimal, not a JSON type: convert it" in run.stderr
    assert run.report is not None
    assert "odd" not in run.report["sections"]
    assert "basic" in run.report["sections"]  # the other sections are kept


def test_the_lost_server_outranks_a_plugin_error(rig_runner: RigRunner,
                                                  rig_server: ServerDSN) -> None:
    """Exit codes by severity: 2, 5, 3, 4, 1. One connection cannot reach its server (5), the
    other's handler raises (3): the run exits 5, and both errors are reported."""

    def explode(ctx: rig.Context) -> None:
        raise RuntimeError("injected")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("exploding", explode)

    boom = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states))
    run = rig_runner.run("--host", f"{rig_server.address},127.0.0.1:1", "--user",
                         rig_server.user, "--retry-attempts", "1", "--plugin", "boom",
                         env=rig_server.rig_env(), plugins=[("boom", boom)])
    assert run.exit_code == 5
    assert run.report is not None
    codes = sorted(c["error"]["exit_code"] for c in run.report["connections"])
    assert codes == [3, 5]
    assert "raised RuntimeError: injected" in run.stderr
    assert "connection refused by 127.0.0.1:1" in run.stderr


def test_a_failed_check_and_a_plugin_error_exit_3(rig_runner: RigRunner) -> None:
    def judge_then_fail(ctx: rig.Context) -> None:
        ctx.check("judged", rig.Verdict.FAIL, "wrong")
        raise RuntimeError("and then broken")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("judging", judge_then_fail)

    plugin = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states))
    run = rig_runner.run_on_server("--plugin", "j", plugins=[("j", plugin)])
    assert run.exit_code == 3


def test_timeline_events_reach_the_json_report_and_the_observers(rig_runner: RigRunner) -> None:
    seen: list[str] = []

    def emitting(ctx: rig.Context) -> None:
        ctx.event("probe.fault", kind="start", detail="a fault begins", data={"kind": "kill"})
        ctx.event("probe.fault", kind="end", detail="a fault ends")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("probe_emitting", emitting)

    def rig_timeline_event(event: rig.TimelineEvent) -> None:
        seen.append(f"{event.name}:{event.kind}:{event.source}:{event.connection}")

    plugin = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states),
                                   rig_timeline_event=rig.hookimpl(rig_timeline_event))
    junit = rig_runner.workdir / "timeline.xml"
    run = rig_runner.run_on_server("--plugin", "probe", "--junit-xml", str(junit),
                                   plugins=[("probe", plugin)])
    assert run.exit_code == 0, run.stderr
    assert seen == ["probe.fault:start:probe:c1", "probe.fault:end:probe:c1"]
    assert "timeline: 2 event(s)" in run.stdout
    assert "s c1 probe.fault start: a fault begins" in run.stdout
    system_out = ET.parse(junit).getroot().find("system-out")
    assert system_out is not None and "c1 probe.fault end: a fault ends" in (system_out.text or "")
    assert run.report is not None
    first, second = run.report["timeline"]
    assert first["detail"] == "a fault begins" and first["data"] == {"kind": "kill"}
    assert 0 <= first["at_s"] <= second["at_s"]


def test_timeline_data_must_be_json(rig_runner: RigRunner) -> None:
    def emitting(ctx: rig.Context) -> None:
        ctx.event("probe.odd", data={"when": object()})

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("probe_emitting", emitting)

    plugin = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states))
    run = rig_runner.run_on_server("--plugin", "probe", plugins=[("probe", plugin)])
    assert run.exit_code == 3
    assert "raised TypeError: the data of timeline event 'probe.odd'.when is a object, not a " \
           "JSON type" in run.stderr
