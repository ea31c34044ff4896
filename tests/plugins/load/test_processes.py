"""``--load-processes``: workers in worker processes, their samples merged in the parent, and a
worker process that dies is reported while the others finish."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from rig.testing import RigRunner


def test_workers_in_processes_merge_into_one_report(rig_runner: RigRunner,
                                                    rig_database: str) -> None:
    run = rig_runner.run_on_server(
        "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--load-processes", "2", "--connections", "3", "--load-duration", "1",
        "--load-report-interval", "0.5")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["processes"] == 2
    assert [c["id"] for c in section["per_connection"]] == ["c1", "c2", "c3"]
    assert all(c["events"] > 0 for c in section["per_connection"])
    assert section["latency_ms"]["count"] == section["events"] == sum(
        c["events"] for c in section["per_connection"])
    assert sum(i["events"] for i in section["intervals"]) == section["events"]
    assert "started 2 worker processes" in run.stderr
    assert multiprocessing.active_children() == []


def test_a_worker_process_that_dies_is_reported(
        rig_runner: RigRunner, rig_database: str, processlist: Any,
        wait_for: Callable[..., Any]) -> None:
    killed: list[int] = []
    seen: set[int] = set()
    stop = threading.Event()

    def both_processes_run_queries() -> bool:
        seen.update(processlist.ids("SELECT c FROM%", rig_database))
        return len(seen) >= 2  # a worker connection of each process has sent a point select

    def kill_a_worker_process() -> None:
        if not wait_for(both_processes_run_queries, "the worker processes' queries", stop=stop):
            return
        [victim] = [p for p in multiprocessing.active_children() if p.name == "rig-load-1"]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        killed.append(victim.pid)

    killer = threading.Thread(target=kill_a_worker_process)
    killer.start()
    run = rig_runner.run_on_server(
        "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--load-processes", "2", "--connections", "2", "--load-duration", "2")
    stop.set()
    killer.join()

    assert killed, "the worker processes never showed up in the processlist"
    assert run.exit_code == 3, run.output
    assert run.report is not None
    states = {c["id"]: c["final_state"] for c in run.report["connections"]}
    assert states == {"c1": "completed", "c2": "error"}  # c2 ran in process 1
    message = f"load worker process {killed[0]} died (exit code -9) while running c2"
    assert run.report["connections"][1]["error"]["message"] == message
    assert run.section("load")["failures"] == {"c2": message}
    assert run.section("load")["per_connection"][0]["events"] > 0
    assert f"rig: error: {message}" in run.stderr
