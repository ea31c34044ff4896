"""A server that dies, restarts or freezes in the middle of a run ends it with the right verdict:
a lost server is exit 5 with one ``rig: error:`` line naming it and the fix, whichever plugin's
handler was talking to it (see docs/faults.md)."""

from __future__ import annotations

import re
from pathlib import Path

from fault_helpers import FaultRun, error_lines

import rig


def test_a_server_killed_under_basic_is_exit_5_with_one_line(alive: rig.Sandbox,
                                                             tmp_path: Path) -> None:
    run = FaultRun(alive, tmp_path, "basic", "--connections", "6",
                   "--basic-ping-count", "1000000")
    run.wait_state("basic_measuring_latency")
    alive.kill()
    result = run.result()

    assert result.exit_code == 5, result.output
    [line] = error_lines(result)
    assert re.search(f"lost the connection to {re.escape(alive.address)} in state "
                     "(basic_measuring_latency|getting_version|testing_connection): ", line), line
    assert f"check that the server at {alive.address} is running" in line
    for wrong in ("handler", "OperationalError", "pymysql", "permanent", "circuit breaker",
                  "Traceback", "--sandbox"):
        assert wrong not in result.stderr, line
    assert result.report is not None
    errors = [c["error"] for c in result.report["connections"]]
    assert all(e is not None and e["exit_code"] == 5 for e in errors), errors


def test_a_server_that_stays_down_ends_in_exit_5_not_a_breaker_error(
        alive: rig.Sandbox, tmp_path: Path) -> None:
    # many connections fail their reconnects at once: the breaker opens, and must not be
    # what the user is told about
    run = FaultRun(alive, tmp_path, "python_demo", "--connections", "8",
                   "--breaker-threshold", "2", "--python-demo-rows", "50000")
    run.wait_state("getting_version")
    alive.kill()
    result = run.result()

    assert result.exit_code == 5, result.output
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert alive.address in lines[0]
    assert "circuit breaker" not in result.stderr and "permanent" not in result.stderr
