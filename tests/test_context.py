"""What a handler gets in ``ctx``, on a real server: reconnecting in the same database, extra
sessions through the run's retry policy (closed when the workflow ends), retries that reconnect,
and values shared between connections under typed keys."""

from __future__ import annotations

import time
from typing import Any

import rig
from rig.testing import RigRunner, ServerDSN, make_plugin


def states(*pairs: tuple[str, Any]) -> Any:
    def rig_register_states(registry: rig.StateRegistry) -> None:
        for name, handler in pairs:
            registry.add_state(name, handler)

    return make_plugin(rig_register_states=rig_register_states)


def test_reconnect_returns_to_the_database_in_use(rig_runner: RigRunner,
                                                  rig_database: str) -> None:
    def reconnect(ctx: rig.Context) -> None:
        before = ctx.require_connection().server_thread_id
        connection = ctx.reconnect()
        assert connection.server_thread_id != before
        ctx.check("database_after_reconnect", rig.Verdict.PASS,
                  str(connection.scalar("SELECT DATABASE()")))

    run = rig_runner.run_on_server("--database", rig_database, "--plugin", "r",
                                   plugins=[("r", states(("r_reconnecting", reconnect)))])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    check = next(c for c in run.report["checks"] if c["name"] == "database_after_reconnect")
    assert check["detail"] == rig_database
    assert [e["name"] for e in run.report["timeline"]] == ["reconnect"]
    assert run.report["connections"][0]["metrics"]["counters"]["reconnects"] == 1


def test_extra_sessions_are_numbered_and_closed_when_the_workflow_ends(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str) -> None:
    opened: list[int] = []

    def open_two(ctx: rig.Context) -> None:
        first = ctx.open_connection()
        second = ctx.open_connection(database=rig_database)
        opened.extend([first.server_thread_id, second.server_thread_id])
        assert (first.id, second.id) == ("c1.1", "c1.2")
        assert second.scalar("SELECT DATABASE()") == rig_database
        assert first.server_thread_id != ctx.require_connection().server_thread_id

    run = rig_runner.run_on_server("--plugin", "x",
                                   plugins=[("x", states(("x_opening", open_two)))])
    assert run.exit_code == 0, run.stderr
    assert len(opened) == 2
    with rig_server.connect() as conn, conn.cursor() as cursor:
        deadline = time.monotonic() + 30  # the server drops a closed session a moment later
        while True:
            cursor.execute("SELECT ID FROM information_schema.PROCESSLIST")
            alive = {row[0] for row in cursor.fetchall()} & set(opened)
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    assert not alive


def test_retry_reconnects_after_the_session_is_killed(rig_runner: RigRunner) -> None:
    def killed(ctx: rig.Context) -> None:
        victim = ctx.require_connection().server_thread_id
        ctx.open_connection().execute(f"KILL {victim}")
        value = ctx.retry(lambda connection: connection.scalar("SELECT 42"),
                          operation="select after kill")
        ctx.check("after_kill", rig.Verdict.PASS if value == 42 else rig.Verdict.FAIL,
                  str(value))

    run = rig_runner.run_on_server("--plugin", "k",
                                   plugins=[("k", states(("k_killing", killed)))])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    counters = run.report["connections"][0]["metrics"]["counters"]
    assert counters["retries"] == 1 and counters["reconnects"] == 1


TICKETS: rig.Key[int] = rig.Key("shared_test.tickets")
SEEN: rig.Key[list[str]] = rig.Key("shared_test.seen")


def test_connections_share_values_under_typed_keys(rig_runner: RigRunner) -> None:
    def take(ctx: rig.Context) -> None:
        ctx.shared.update(TICKETS, lambda n: (n or 0) + 1)
        with ctx.shared.lock() as store:
            store.setdefault(SEEN, []).append(ctx.connection_id)
        assert ctx.shared.wait_all_ready("taken", timeout=60)
        ctx.check("tickets", rig.Verdict.PASS, str(ctx.shared.get(TICKETS, 0)))

    run = rig_runner.run_on_server("--connections", "3", "--plugin", "t",
                                   plugins=[("t", states(("t_taking", take)))])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    details = {c["detail"] for c in run.report["checks"] if c["name"] == "tickets"}
    assert details == {"3"}


def test_a_barrier_does_not_wait_for_a_connection_that_failed(rig_runner: RigRunner) -> None:
    def maybe_fail(ctx: rig.Context) -> None:
        if ctx.connection_id == "c2":
            raise RuntimeError("c2 fails before the barrier")
        assert ctx.shared.wait_all_ready("after_failure", timeout=60)
        ctx.check("barrier", rig.Verdict.PASS, "passed")

    run = rig_runner.run_on_server("--connections", "3", "--plugin", "b",
                                   plugins=[("b", states(("b_waiting", maybe_fail)))])
    assert run.exit_code == 3
    assert run.report is not None
    passed = sorted(c["connection"] for c in run.report["checks"] if c["name"] == "barrier")
    assert passed == ["c1", "c3"]
