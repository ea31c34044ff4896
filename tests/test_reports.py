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
    run = rig_runner.run("--plugin", "basic")
    assert run.exit_code == 0, run.stderr
    report = run.report
    assert report is not None
    assert report["rig_version"] == rig.__version__
    assert report["exit_code"] == 0
    assert report["plugins"] == [{"name": "basic", "distribution": "rig-plugin-basic",
                                  "version": "0.1.0"}]
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
        "getting_version", "measuring_latency", "inspecting_session", "completed"]
    assert all(s["outcome"] == "ok" and s["duration_s"] >= 0 for s in conn["states"])
    assert conn["error"] is None
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert verdicts == {"connection": "pass", "latency": "pass", "tls": "skip"}
    assert report["sections"]["basic"]["c1"]["latency_ms"]["count"] == 10


def test_junit_xml_has_one_testcase_per_check(rig_runner: RigRunner, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "rig.xml"
    run = rig_runner.run("--junit-xml", str(junit))
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
    run = rig_runner.run("--plugin", "judge", "--junit-xml", str(junit),
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
