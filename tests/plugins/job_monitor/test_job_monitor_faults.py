"""The job monitor and a server that goes away: it keeps polling through the gap, reconnects
soon after the server is back (the circuit breaker does not hold it off), and a run that ended
without a view of the server does not pass. Each test starts its own sandbox (the shared server
must stay up) and kills it while rig runs (see docs/faults.md)."""

from __future__ import annotations

from pathlib import Path

from fault_helpers import FaultRun, error_lines

import rig

MONITORING = "job_monitor_monitoring"


def test_monitoring_reconnects_after_a_restart_and_records_the_gap(
        alive: rig.Sandbox, tmp_path: Path) -> None:
    run = FaultRun(alive, tmp_path, "job_monitor", "--job-monitor-poll-interval", "0.2",
                   "--job-monitor-duration", "8")
    run.wait_state(MONITORING)
    alive.kill()
    run.wait_log("retrying every poll")
    # enough failed attempts that the server's circuit breaker (threshold 5) is open
    run.wait_log(f"to {alive.address} failed", count=8)
    alive.revive()
    result = run.result()

    assert result.exit_code == 0, result.output
    [monitor] = result.section("job_monitor")["connections"].values()
    [gap] = monitor["gaps"]
    assert gap["ended"] is not None and gap["reconnected"], gap
    assert gap["ended"] < monitor["ended"]  # polling went on after the gap
    events = [e["name"] for e in result.report["timeline"]]  # type: ignore[index]
    assert "reconnect" in events and "job_monitor.gap" in events
    assert "gap without a view of the server" in result.stdout


def test_a_run_that_ends_blind_does_not_pass(alive: rig.Sandbox, tmp_path: Path) -> None:
    run = FaultRun(alive, tmp_path, "job_monitor", "--job-monitor-poll-interval", "0.2",
                   "--job-monitor-duration", "3")
    run.wait_state(MONITORING)
    alive.kill()
    result = run.result()

    assert result.exit_code == 5, result.output
    [line] = error_lines(result)
    assert f"lost the connection to {alive.address}" in line
    assert "monitoring ended" in line
    [monitor] = result.section("job_monitor")["connections"].values()
    assert monitor["gaps"] and monitor["gaps"][-1]["ended"] is None
    assert "still open" in result.stdout
