"""Chaos on a real sandbox server: each fault kind has an observable effect and is undone, a
kill in the middle of load is survived and its recovery measured, and Ctrl-C during a pause
leaves nothing paused and nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import rig_chaos
from rig.testing import RigRunner

PLUGINS = [("chaos", rig_chaos)]
DEADLINE_S = 90.0

ROUNDING = 0.001
"""The report rounds times to the millisecond: two rounded ends may be this much closer."""


def periods(report: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["kind"], e["data"]) for e in report["timeline"] if e["name"] == name]


def busy_processes() -> list[int]:
    """This process's descendants running chaos's busy loop."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"while True: pass" in cmdline:
                found.append(int(entry.name))
    return found


def test_a_kill_and_a_pause_mid_load_are_survived_judged_and_marked_on_the_intervals(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--plugin", "load,chaos", "--chaos",
                         "kill@1s, pause@3s+1s", "--duration", "6",
                         "--load-report-interval", "0.5", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.report is not None
    faults = run.section("chaos")["faults"]
    assert [(f["kind"], f["verdict"]) for f in faults] == [("kill", "pass"), ("pause", "pass")]
    kill, pause = (f["effect"] for f in faults)
    assert kill["errors"] >= 1 or kill["dip"]["errors"] >= 1  # the kill was seen
    assert kill["first_success_after_s"] is not None  # back; throughput recovery may lag
    assert pause["dip"] is not None and pause["dip"]["drop"] > 0.5  # frozen: no transactions
    assert faults[1]["end_s"] - faults[1]["start_s"] >= 1.0 - ROUNDING  # it lasted its 1 s
    intervals = run.section("load")["intervals"]
    marked = {fault["detail"] for record in intervals for fault in record["faults"]}
    assert marked == {"kill", "pause"}
    assert "[chaos: pause]" in run.output
    assert periods(run.report, "chaos.pause")[0][0] == "start"
    assert [kind for kind, _ in periods(run.report, "chaos.kill")] == ["start", "end"]
    assert any(check["name"] == "chaos kill #1" for check in run.report["checks"])


def test_a_restart_and_cpu_pressure_have_an_effect_and_are_undone(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--plugin", "load,chaos", "--chaos",
                         "restart@1s, cpu=2@2.5s+1s", "--duration", "4", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    restart, cpu = run.section("chaos")["faults"]
    assert restart["verdict"] == "pass" and cpu["verdict"] == "pass"
    assert run.section("load")["reconnects"] >= 1  # the graceful restart closed the sessions
    assert cpu["end_s"] - cpu["start_s"] >= 1.0 - ROUNDING
    assert busy_processes() == []


def test_a_recovery_over_the_limit_fails_the_run(rig_runner: RigRunner) -> None:
    """A server down for 2 s with --chaos-max-recovery 0.5 recovers too late: exit 1, one
    failed check naming the fault."""
    run = rig_runner.run("--sandbox", "--plugin", "chaos", "--chaos", "kill@0.5s+2s",
                         "--chaos-max-recovery", "0.001", plugins=PLUGINS)
    assert run.exit_code == 1, run.output
    (fault,) = run.section("chaos")["faults"]
    assert fault["verdict"] == "fail"
    failed = [c for c in run.report["checks"] if c["verdict"] == "fail"] if run.report else []
    assert [c["name"] for c in failed] == ["chaos kill #1"]


def test_ctrl_c_during_a_pause_resumes_the_server_and_removes_everything(
        tmp_path: Path) -> None:
    sandboxes, report = tmp_path / "tmp", tmp_path / "r.json"
    sandboxes.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RIG_")},
           "TMPDIR": str(sandboxes)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "--sandbox", "--plugin", "chaos", "--chaos",
         "pause@0.2s+120s", "--report-json", str(report)], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        pid = wait_for(lambda: stopped_server(sandboxes), proc)
        proc.send_signal(signal.SIGINT)
        _out, stderr = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert not Path(f"/proc/{pid}").exists() or state_of(pid) not in ("T", "t")
    assert list(sandboxes.iterdir()) == []
    timeline = json.loads(report.read_text())["timeline"]
    ends = [e for e in timeline if e["name"] == "chaos.pause" and e["kind"] == "end"]
    assert ends and ends[0]["data"].get("undone_early") is True


def state_of(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[0]


def stopped_server(sandboxes: Path) -> int | None:
    """The pid of the sandbox server once it is stopped (SIGSTOP), else None."""
    for pidfile in sandboxes.glob("rig-sandbox-*/server.pid"):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if state_of(pid) in ("T", "t") else None
    return None


def wait_for(condition: Any, proc: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"rig ended first: {proc.communicate()}")
        assert time.monotonic() < deadline, "gave up waiting for the paused server"
        time.sleep(0.02)


def test_the_html_report_has_the_recovery_table(rig_runner: RigRunner, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    run = rig_runner.run("--sandbox", "--plugin", "chaos", "--chaos", "pause@0.2s+0.3s",
                         "--report-html", str(page), plugins=PLUGINS)

    assert run.exit_code == 0, run.output
    html = page.read_text()
    assert "<h2" in html and ">Faults<" in html
    assert re.search(r"<td>pause #1</td><td>[0-9.]+ s → [0-9.]+ s</td>", html), html[-3000:]
    assert 'class="verdict-pass">pass<' in html
