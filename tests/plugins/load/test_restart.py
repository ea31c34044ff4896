"""The load survives its server being restarted in the middle of the run and reports the gap,
ends in exit 5 when the server does not come back, and reports a frozen server as a stall.

The test starts its own sandbox server (the shared one must stay up) and restarts it on the
same port and data directory, kills it for good, or freezes it (SIGSTOP) while rig runs
against it (tests/fault_helpers.py). What the report says is in docs/faults.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_helpers import FaultRun, error_lines

import rig
from rig.testing import ServerDSN


@pytest.fixture(scope="module")
def own_server() -> Iterator[rig.Sandbox]:
    with rig.Sandbox() as box:
        yield box


@pytest.fixture
def alive(own_server: rig.Sandbox) -> rig.Sandbox:
    """The module's server, running, without the tables a run killed with it left behind
    (nobody could drop them)."""
    own_server.revive()
    admin = ServerDSN(own_server.host, own_server.port, own_server.user).connect()
    with admin:
        admin.cursor().execute("DROP DATABASE IF EXISTS rig_load")
    return own_server


@pytest.mark.parametrize("layout", [
    pytest.param((), id="defaults"),  # auto: the C driver, a worker process per connection
    pytest.param(("--load-driver", "pymysql", "--load-processes", "1"), id="threads-pymysql"),
])
def test_the_run_survives_a_server_restart_and_reports_the_gap(
        alive: rig.Sandbox, tmp_path: Path, layout: tuple[str, ...]) -> None:
    """Each layout reconnects through rig.call_with_retry, the run's retry policy and the
    server's circuit breaker (the coordinator's, or one per worker process)."""
    box = alive
    run = FaultRun(box, tmp_path, "load", "--load-table-size", "200", "--connections", "2",
                   "--load-duration", "6", "--load-report-interval", "0.5", *layout)
    run.wait_log("load_running")
    run.wait_log("tps:")  # an interval with the load running
    box.kill()
    run.wait_log("lost the connection", count=2)
    # enough failed reconnects that the server's circuit breaker (threshold 5) is open: with
    # the default --breaker-cooldown the run must get back in within the run
    run.wait_log("reconnect failed", count=8)
    box.revive()
    result = run.result()

    section = result.section("load")
    figures = section["availability"]
    assert result.exit_code == (1 if figures["verdict"] == "fail" else 0), result.output
    assert section["reconnects"] >= 2, result.output
    assert {gap["connection"] for gap in section["gaps"]} == {"c1", "c2"}
    assert all(gap["reconnected"] for gap in section["gaps"]), section["gaps"]
    assert section["errors"]["by_class"]["needs-reconnect"] >= 2
    assert all(c["events"] > 0 for c in section["per_connection"])
    last_gap_end = max(gap["at_s"] + gap["duration_s"] for gap in section["gaps"])
    after = [i for i in section["intervals"] if i["t_s"] - i["seconds"] > last_gap_end]
    assert after and any(i["events"] for i in after)  # work resumed after the gap
    assert figures["lost_s"] == pytest.approx(sum(g["duration_s"] for g in section["gaps"]))
    assert "gap: c1 lost its connection" in result.stdout
    assert "availability" in result.stdout and "lost to gaps" in result.stdout
    checks = {c["name"]: c for c in result.report["checks"]}  # type: ignore[index]
    assert checks["load availability"]["verdict"] == figures["verdict"]


def test_a_server_killed_for_good_is_exit_5_naming_it(alive: rig.Sandbox,
                                                     tmp_path: Path) -> None:
    box = alive
    run = FaultRun(box, tmp_path, "load", "--load-table-size", "200", "--connections", "3",
                   "--load-duration", "3", "--load-report-interval", "0.5")
    run.wait_log("tps:")
    box.kill()
    result = run.result()

    assert result.exit_code == 5, result.output
    [line] = error_lines(result)
    assert f"lost the connection to {box.address}" in line and "not back by the end" in line
    assert "circuit breaker" not in result.stderr and "permanent" not in result.stderr


def test_a_frozen_server_is_a_stall_that_fails_the_run(alive: rig.Sandbox,
                                                       tmp_path: Path) -> None:
    box = alive
    run = FaultRun(box, tmp_path, "load", "--load-table-size", "200", "--connections", "2",
                   "--load-duration", "4", "--load-report-interval", "0.2")
    run.wait_log("tps:")
    box.pause()
    try:
        run.wait_log("tps: 0.00", count=6)  # six intervals in which nothing completed
    finally:
        box.resume()
    result = run.result()

    assert result.exit_code == 1, result.output
    figures = result.section("load")["availability"]
    assert figures["stalls"] and figures["stalls"][0]["intervals"] >= 5, figures
    assert figures["verdict"] == "fail" and figures["stalled_fraction"] > 0.1
    assert "stall: no event completed or failed" in result.stdout
    checks = {c["name"]: c for c in result.report["checks"]}  # type: ignore[index]
    assert checks["load availability"]["verdict"] == "fail"
    assert "stalled" in checks["load availability"]["detail"]
