"""The load survives its server being restarted in the middle of the run and reports the gap.

The test starts its own sandbox server (the shared one must stay up) and restarts it on the
same port and data directory while rig runs against it. The server is restarted from the
test's main thread (the sandbox's server dies with the thread that started it), rig runs in
another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import rig
from rig.testing import RigRun, RigRunner, ServerDSN


@pytest.fixture(scope="module")
def own_server() -> Iterator[rig.Sandbox]:
    with rig.Sandbox() as box:
        yield box


def test_the_run_survives_a_server_restart_and_reports_the_gap(
        own_server: rig.Sandbox, tmp_path: Path, wait_for: Callable[..., Any]) -> None:
    box = own_server
    server = ServerDSN(box.host, box.port, box.user)
    runner = RigRunner(tmp_path, server)
    runs: list[RigRun] = []
    loader = threading.Thread(target=lambda: runs.append(runner.run_on_server(
        "--plugin", "load", "--load-table-size", "200", "--connections", "2",
        "--load-duration", "4", "--breaker-cooldown", "0.5")))
    loader.start()
    admin = server.connect()
    try:
        with admin.cursor() as cursor:
            def load_shows() -> bool:
                if not loader.is_alive():
                    raise AssertionError(f"rig ended before the load showed: {runs}")
                cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                               "WHERE INFO LIKE 'SELECT c FROM%'")
                row = cursor.fetchone()
                return bool(row and row[0])

            wait_for(load_shows, "the load's point selects in the processlist")
    finally:
        admin.close()
    box.restart()
    loader.join()

    [run] = runs
    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["reconnects"] >= 2, run.output
    assert {gap["connection"] for gap in section["gaps"]} == {"c1", "c2"}
    assert all(gap["reconnected"] for gap in section["gaps"])
    assert section["errors"]["by_class"]["needs-reconnect"] >= 2
    assert section["events"] > 0 and all(c["events"] > 0 for c in section["per_connection"])
    assert section["intervals"][-1]["tps"] > 0  # running again after the restart
    assert "gap: c1 lost its connection" in run.stdout
