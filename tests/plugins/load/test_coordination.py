"""Coordination of many connections on a real server: every connection finishes, several
hosts, a connection killed from outside is isolated, and a barrier waits for the live ones."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import rig
from rig.testing import RigRunner, ServerDSN


def test_eight_connections_all_finish(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "basic", "--connections", "8")

    assert run.exit_code == 0, run.output
    assert run.report is not None
    connections = run.report["connections"]
    assert [c["id"] for c in connections] == [f"c{n}" for n in range(1, 9)]
    assert {c["final_state"] for c in connections} == {"completed"}
    assert run.stdout.count("PASS  latency") == 8


def test_connections_to_each_host(rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run("--plugin", "basic", "--host", rig_server.address,
                         "--host", rig_server.address, "--user", rig_server.user,
                         "--connections", "2", env=rig_server.rig_env())

    assert run.exit_code == 0, run.output
    assert run.report is not None
    assert len(run.report["connections"]) == 4  # 2 hosts (the same server twice) x 2


class KillablePlugin:
    """c2 runs a long query and publishes its server thread id; the others arrive at a
    barrier and note when they pass it."""

    def __init__(self) -> None:
        self.thread_id: int | None = None
        self.victim_ready = threading.Event()
        self.arrived = 0
        self.log: list[str] = []
        self.lock = threading.Lock()

    @rig.hookimpl
    def rig_register_states(self, registry: rig.StateRegistry) -> None:
        registry.add_state("killable_blocking", self.blocking)

    def blocking(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        if ctx.connection_id == "c2":
            self.thread_id = connection.server_thread_id
            self.victim_ready.set()
            connection.scalar("SELECT SLEEP(30)")
            return
        with self.lock:
            self.arrived += 1
        passed = ctx.shared.wait_all_ready("after_blocking", timeout=20)
        with self.lock:
            self.log.append(f"{ctx.connection_id} passed={passed}")


def test_a_connection_killed_from_outside_is_isolated_and_the_barrier_holds(
        rig_runner: RigRunner, processlist: Any, wait_for: Callable[..., Any]) -> None:
    plugin = KillablePlugin()
    stop = threading.Event()

    def c2_sleeps_and_the_others_wait() -> bool:
        sleeping = plugin.thread_id in processlist.ids("SELECT SLEEP%")
        with plugin.lock:
            ready = sleeping and plugin.arrived == 2
            if ready:
                plugin.log.append("kill")
        return ready

    def killer() -> None:
        if not wait_for(plugin.victim_ready.is_set, "c2's thread id", stop=stop):
            return
        if wait_for(c2_sleeps_and_the_others_wait, "c2 in SLEEP, c1 and c3 at the barrier",
                    stop=stop):
            processlist.kill(int(plugin.thread_id or 0))

    thread = threading.Thread(target=killer)
    thread.start()
    run = rig_runner.run_on_server("--plugin", "killable", "--connections", "3",
                                   plugins=[("killable", plugin)])
    stop.set()
    thread.join()

    assert run.report is not None
    states = {c["id"]: c["final_state"] for c in run.report["connections"]}
    assert states == {"c1": "completed", "c2": "error", "c3": "completed"}
    victim = run.report["connections"][1]
    assert victim["error"]["state"] == "killable_blocking"
    assert "SELECT SLEEP" in victim["error"]["message"]
    assert "lost the connection to" in victim["error"]["message"]  # a lost session: exit 5
    assert plugin.log[0] == "kill"  # nobody passed the barrier before c2 was killed
    assert sorted(plugin.log[1:]) == ["c1 passed=True", "c3 passed=True"]
    assert run.exit_code == 5
    assert "in state killable_blocking: SELECT SLEEP(30) failed" in run.stderr
