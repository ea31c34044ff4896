"""The engine as plugins see it: what observers and handlers receive in every state, the
outcomes and errors recorded in the report, the interrupt path (Ctrl-C in-process), a crash
inside the engine, the connections of a run, and ``ctx`` used directly on a real server."""

from __future__ import annotations

import _thread
import dataclasses
import io
import operator
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

import rig
from rig.config.config import Config
from rig.db.connection import Connector
from rig.db.resilience import BreakerBoard, RetryPolicy
from rig.db.scratch import Scratch
from rig.engine.coordinator import connection_targets
from rig.engine.machine import StateMachine
from rig.engine.results import RunErrorInfo
from rig.engine.states import COMMON_STATES
from rig.errors import ExitCode
from rig.session.bootstrap import bootstrap, build_parser, load_plugins
from rig.testing import RigRunner, ServerDSN, make_plugin
from rig.testing.tidb_standin import TidbStandin

COMMON = list(COMMON_STATES)


def states(*pairs: tuple[str, Any], cleanup: tuple[str, ...] = ()) -> Any:
    """A plugin adding ``(name, handler)`` states in order."""
    def rig_register_states(registry: rig.StateRegistry) -> None:
        for name, handler in pairs:
            registry.add_state(name, handler, cleanup=name in cleanup)

    return make_plugin(rig_register_states=rig_register_states)


def connection(run: Any, index: int = 0) -> dict[str, Any]:
    assert run.report is not None, run.output
    result: dict[str, Any] = run.report["connections"][index]
    return result


def error_line(run: Any) -> str:
    return next(line for line in run.stderr.splitlines() if line.startswith("rig: error:"))


@contextmanager
def captured_logs(level: str = "DEBUG") -> Iterator[list[tuple[str, str]]]:
    """``(level, message)`` of every loguru record while the block runs."""
    records: list[tuple[str, str]] = []
    sink = logger.add(lambda message: records.append(
        (message.record["level"].name, message.record["message"])), level=level)
    try:
        yield records
    finally:
        logger.remove(sink)


@pytest.fixture
def ctrl_c() -> Iterator[Callable[[], None]]:
    """Ctrl-C for an in-process run: SIGINT's default handler (KeyboardInterrupt in the main
    thread) for the test — a test runner may ignore SIGINT — and a function that presses it
    from a connection's thread, as a user would while the run waits for its connections."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield lambda: _thread.interrupt_main(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)


# -- what observers and handlers receive ------------------------------------------------------

def test_observers_see_the_context_in_each_state_and_every_outcome(
        rig_runner: RigRunner) -> None:
    enters: list[dict[str, Any]] = []
    exits: list[tuple[str, str, rig.StateOutcome]] = []
    in_handler: list[tuple[str, str, str | None]] = []

    def rig_state_enter(ctx: rig.Context, state: str) -> None:
        enters.append({"state": state, "ctx.state": ctx.state, "plugin": ctx.plugin,
                       "id": ctx.connection_id, "no server": ctx.server is None,
                       "session state": ctx.connection.state if ctx.connection else None})

    def rig_state_exit(ctx: rig.Context, state: str, outcome: rig.StateOutcome) -> None:
        exits.append((state, ctx.state, outcome))

    def first(ctx: rig.Context) -> str:
        in_handler.append((ctx.state, ctx.plugin, ctx.require_connection().state))
        return "o_third"

    def skipped(ctx: rig.Context) -> None:
        raise AssertionError("o_first jumps over o_second")

    def third(ctx: rig.Context) -> None:
        in_handler.append((ctx.state, ctx.plugin, ctx.require_connection().state))

    workflow = states(("o_first", first), ("o_second", skipped), ("o_third", third))
    watch = make_plugin(rig_state_enter=rig_state_enter, rig_state_exit=rig_state_exit)
    run = rig_runner.run_on_server("--plugin", "o,watch",
                                   plugins=[("o", workflow), ("watch", watch)])
    assert run.exit_code == 0, run.output
    visited = [*COMMON, "o_first", "o_third"]
    assert [e["state"] for e in enters] == [*visited, "completed"]
    assert all(e["ctx.state"] == e["state"] and e["id"] == "c1" for e in enters)
    assert [e["plugin"] for e in enters][:-1] == ["common"] * 6 + ["o", "o"]
    # the session is labelled with the state it works in, once there is one
    assert [e["session state"] for e in enters][:4] == [None, None, None, "testing_connection"]
    assert in_handler == [("o_first", "o", "o_first"), ("o_third", "o", "o_third")]
    # the server is known once getting_version has run
    assert [e["no server"] for e in enters][:8] == [True] * 6 + [False, False]

    assert [(state, ctx_state) for state, ctx_state, _ in exits] == [(s, s) for s in visited]
    outcomes = [outcome for _, _, outcome in exits]
    assert [o.next_state for o in outcomes] == [*visited[1:], "completed"]
    assert {(o.status, o.error) for o in outcomes} == {("ok", None)}

    report = connection(run)
    records = report["states"]
    assert [(r["name"], r["outcome"], r["plugin"]) for r in records] == \
        [(s, "ok", "common") for s in COMMON] + [("o_first", "ok", "o"), ("o_third", "ok", "o"),
                                                 ("completed", "ok", "rig")]
    assert records[-1]["duration_s"] == 0.0
    assert run.report is not None
    for outcome, record in zip(outcomes, records, strict=False):
        assert outcome.duration_s >= 0
        assert record["duration_s"] == round(outcome.duration_s, 6)
        assert record["duration_s"] <= run.report["duration_s"]  # a part of the whole run


def test_a_failing_state_shows_observers_an_error_outcome_and_no_next_state(
        rig_runner: RigRunner) -> None:
    outcomes: dict[str, rig.StateOutcome] = {}

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        outcomes[state] = outcome

    def failing(ctx: rig.Context) -> None:
        raise ValueError("broken on purpose")

    workflow = states(("f_failing", failing), ("f_never", lambda ctx: None))
    run = rig_runner.run_on_server(
        "--plugin", "f,watch",
        plugins=[("f", workflow), ("watch", make_plugin(rig_state_exit=rig_state_exit))])
    assert run.exit_code == 3
    error = connection(run)["error"]
    assert error["message"].startswith("the handler of state 'f_failing' (plugin f) raised "
                                       f"ValueError: broken on purpose at {__file__}:")
    assert error["message"].endswith(": run with -v for the traceback")
    assert (error["state"], error["kind"], error["exit_code"]) == ("f_failing", "WorkflowError", 3)
    assert error["path"] == [*COMMON, "f_failing"]
    assert outcomes["f_failing"].status == "error"
    assert outcomes["f_failing"].next_state is None
    assert outcomes["f_failing"].error == error["message"]
    assert "f_never" not in outcomes
    records = connection(run)["states"]
    assert [(r["name"], r["outcome"]) for r in records[-2:]] == [("f_failing", "error"),
                                                                 ("error", "error")]
    assert records[-1]["duration_s"] == 0.0
    assert connection(run)["final_state"] == "error"


def test_a_handler_returning_no_state_name_fails_with_the_type(rig_runner: RigRunner) -> None:
    outcomes: dict[str, rig.StateOutcome] = {}

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        outcomes[state] = outcome

    run = rig_runner.run_on_server(
        "--plugin", "odd,watch",
        plugins=[("odd", states(("odd_returning", lambda ctx: 42))),
                 ("watch", make_plugin(rig_state_exit=rig_state_exit))])
    assert run.exit_code == 3
    assert outcomes["odd_returning"].next_state is None  # 42 is no state
    error = connection(run)["error"]
    assert error["message"] == "the handler of state 'odd_returning' returned a int, not a " \
        "state name: execute(ctx) must return the next state's name or None"
    assert (error["state"], error["path"][-1]) == ("odd_returning", "odd_returning")
    assert connection(run)["final_state"] == "error"
    assert connection(run)["states"][-1]["name"] == "error"


@pytest.mark.parametrize("count", [6, 7])
def test_an_unknown_next_state_names_the_path_and_the_known_states(
        rig_runner: RigRunner, count: int) -> None:
    names = [f"u_{n}" for n in range(1, count + 1)]
    handlers = [(name, lambda ctx: None) for name in names[:-1]]
    workflow = states(*handlers, (names[-1], lambda ctx: "nowhere"))
    outcomes: dict[str, rig.StateOutcome] = {}

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        outcomes[state] = outcome

    run = rig_runner.run_on_server(
        "--plugin", "u,watch",
        plugins=[("u", workflow), ("watch", make_plugin(rig_state_exit=rig_state_exit))])
    assert run.exit_code == 3
    path = [*COMMON, *names]
    shown = " → ".join(path[-12:])
    if len(path) > 12:  # only the last twelve states are shown
        shown = "… → " + shown
    error = connection(run)["error"]
    assert error["message"] == (
        f"the handler of state '{names[-1]}' returned unknown state 'nowhere'; path: {shown}: "
        f"known states: {', '.join([*path, 'completed'])}")
    assert error["state"] == names[-1]
    assert error["path"] == path
    assert connection(run)["final_state"] == "error"
    assert outcomes[names[-1]].next_state == "nowhere"


def test_a_workflow_past_max_transitions_names_where_it_stopped(rig_runner: RigRunner) -> None:
    looping = states(("loop_a", lambda ctx: "loop_b"), ("loop_b", lambda ctx: "loop_a"))
    run = rig_runner.run_on_server("--plugin", "loop", "--max-transitions", "20",
                                   plugins=[("loop", looping)])
    assert run.exit_code == 3
    error = connection(run)["error"]
    path = error["path"]
    assert len(path) == 20
    assert path[:8] == [*COMMON, "loop_a", "loop_b"]
    assert error["state"] == ("loop_a" if path[-1] == "loop_b" else "loop_b")  # the next one
    assert error["message"] == (
        "the workflow passed 20 transitions without finishing (a loop?); last states: … → "
        f"{' → '.join(path[-12:])}: fix the handler that loops, or raise --max-transitions")
    assert connection(run)["final_state"] == "error"
    assert [r["name"] for r in connection(run)["states"]] == [*path, "error"]


def test_a_handler_error_with_no_plugin_line_has_no_location(rig_runner: RigRunner) -> None:
    # a handler implemented in C: no frame of the traceback is the plugin's
    run = rig_runner.run_on_server(
        "--plugin", "c", plugins=[("c", states(("c_calling", operator.methodcaller("nope"))))])
    assert run.exit_code == 3
    assert connection(run)["error"]["message"] == (
        "the handler of state 'c_calling' (plugin c) raised AttributeError: 'Context' object "
        "has no attribute 'nope': run with -v for the traceback")


class Tracked:
    """A handler with enter and exit, recording what each receives."""

    def __init__(self, calls: list[tuple[str, str, str]], *, execute_fails: bool = False,
                 exit_fails: bool = False) -> None:
        self.calls = calls
        self.execute_fails = execute_fails
        self.exit_fails = exit_fails

    def enter(self, ctx: rig.Context) -> None:
        self.calls.append(("enter", ctx.state, ctx.connection_id))

    def execute(self, ctx: rig.Context) -> str | None:
        self.calls.append(("execute", ctx.state, ctx.connection_id))
        if self.execute_fails:
            raise RuntimeError("execute broke")
        return None

    def exit(self, ctx: rig.Context) -> None:
        self.calls.append(("exit", ctx.state, ctx.connection_id))
        if self.exit_fails:
            raise RuntimeError("exit broke")


def test_an_exit_that_raises_after_a_good_execute_fails_the_state(rig_runner: RigRunner) -> None:
    calls: list[tuple[str, str, str]] = []
    outcomes: dict[str, rig.StateOutcome] = {}

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        outcomes[state] = outcome

    workflow = states(("t_tracked", Tracked(calls, exit_fails=True)),
                      ("t_after", lambda ctx: calls.append(("after", "", "")) and None))
    run = rig_runner.run_on_server(
        "--plugin", "t,watch",
        plugins=[("t", workflow), ("watch", make_plugin(rig_state_exit=rig_state_exit))])
    assert run.exit_code == 3
    assert calls == [(step, "t_tracked", "c1") for step in ("enter", "execute", "exit")]
    error = connection(run)["error"]
    assert error["message"].startswith("the handler of state 't_tracked' (plugin t) raised "
                                       f"RuntimeError: exit broke at {__file__}:")
    assert error["state"] == "t_tracked"
    assert outcomes["t_tracked"].status == "error"
    assert outcomes["t_tracked"].next_state is None
    assert connection(run)["states"][-2]["outcome"] == "error"


def test_when_execute_and_exit_both_raise_the_first_error_is_reported(
        rig_runner: RigRunner) -> None:
    calls: list[tuple[str, str, str]] = []
    workflow = states(("t_tracked", Tracked(calls, execute_fails=True, exit_fails=True)))
    run = rig_runner.run_on_server("--plugin", "t", plugins=[("t", workflow)])
    assert run.exit_code == 3
    assert [step for step, _, _ in calls] == ["enter", "execute", "exit"]
    assert "raised RuntimeError: execute broke at " in connection(run)["error"]["message"]
    assert "exit broke" not in run.output


def test_an_observer_failing_to_enter_a_state_records_it_as_failed_before_it_ran(
        rig_runner: RigRunner) -> None:
    ran: list[str] = []

    def rig_state_enter(state: str) -> None:
        if state == "e_second":
            raise ValueError("no entry")

    workflow = states(("e_first", lambda ctx: ran.append("e_first") and None),
                      ("e_second", lambda ctx: ran.append("e_second") and None))
    run = rig_runner.run_on_server(
        "--plugin", "e,watch",
        plugins=[("e", workflow), ("watch", make_plugin(rig_state_enter=rig_state_enter))])
    assert run.exit_code == 3
    assert ran == ["e_first"]
    records = connection(run)["states"]
    assert records[-2] == {"name": "e_second", "duration_s": 0.0, "outcome": "error",
                           "plugin": "e"}
    error = connection(run)["error"]
    assert error["message"].startswith("plugin 'watch' failed in rig_state_enter: ValueError: "
                                       "no entry (at ")
    assert (error["state"], error["kind"]) == ("e_second", "PluginError")


def test_an_observer_failing_on_completed_turns_the_run_into_an_error(
        rig_runner: RigRunner) -> None:
    contexts: list[rig.Context] = []

    def rig_state_enter(ctx: rig.Context, state: str) -> None:
        contexts.append(ctx)
        if state == "completed":
            raise ValueError("not done yet")

    run = rig_runner.run_on_server(
        "--plugin", "c,watch",
        plugins=[("c", states(("c_only", lambda ctx: None))),
                 ("watch", make_plugin(rig_state_enter=rig_state_enter))])
    assert run.exit_code == 3
    conn = connection(run)
    assert conn["error"]["state"] == "completed"
    assert conn["error"]["path"] == [*COMMON, "c_only"]
    assert conn["final_state"] == "error"
    assert conn["states"][-1] == {"name": "error", "duration_s": 0.0, "outcome": "error",
                                  "plugin": "rig"}
    assert contexts[-1].state == "error"  # the context ends in error too


def test_a_failing_cleanup_state_is_reported_and_the_first_error_stays(
        rig_runner: RigRunner) -> None:
    def failing(ctx: rig.Context) -> None:
        raise ValueError("the test breaks")

    def cleanup(ctx: rig.Context) -> None:
        raise ValueError("the cleanup breaks too")

    workflow = states(("k_failing", failing), ("k_cleanup", cleanup),
                      ("k_fine_cleanup", lambda ctx: None), cleanup=("k_cleanup", "k_fine_cleanup"))
    run = rig_runner.run_on_server("--plugin", "k", plugins=[("k", workflow)])
    assert run.exit_code == 3
    assert "the test breaks" in connection(run)["error"]["message"]
    failed = [line for line in run.stderr.splitlines() if "failed:" in line]
    assert len(failed) == 1
    assert " cleanup state k_cleanup failed: the handler of state 'k_cleanup' (plugin k) " \
           "raised ValueError: the cleanup breaks too at " in failed[0]
    assert failed[0].endswith(": run with -v for the traceback")
    assert [(r["name"], r["outcome"]) for r in connection(run)["states"][-4:]] == \
        [("k_failing", "error"), ("k_cleanup", "error"), ("k_fine_cleanup", "ok"),
         ("error", "error")]


# -- a state machine driven directly, with observers that are not hooks ----------------------

class Observing:
    """Observers that record and raise what they are told to."""

    def __init__(self, raise_on: str = "") -> None:
        self.raise_on = raise_on
        self.seen: list[tuple[str, str]] = []

    def state_enter(self, ctx: rig.Context, state: str) -> None:
        self.seen.append(("enter", state))
        if state == self.raise_on:
            raise ValueError(f"no {state}")

    def state_exit(self, ctx: rig.Context, state: str, outcome: rig.StateOutcome) -> None:
        self.seen.append(("exit", f"{state}:{outcome.status}"))


def two_states() -> Any:
    registry = rig.StateRegistry()
    registry.current_plugin = "direct"
    registry.add_state("d_first", lambda ctx: None)
    registry.add_state("d_second", lambda ctx: None)
    return registry.workflow()


@pytest.mark.parametrize(("raise_on", "last_entered"), [
    ("d_second", "error"),  # the run then ends in error, which the observers enter
    ("completed", "completed"),  # entering completed failed: that was the end
])
def test_an_observer_that_is_no_hook_fails_the_run_with_what_it_raised(
        make_context: Callable[..., rig.Context], raise_on: str, last_entered: str) -> None:
    ctx = make_context()
    observers = Observing(raise_on=raise_on)
    assert StateMachine(two_states(), observers).run(ctx) == "error"
    assert ctx.result.error == RunErrorInfo(f"an observer raised ValueError: no {raise_on}",
                                            raise_on, ExitCode.INTERNAL, "WorkflowError",
                                            ("d_first", "d_second"))
    assert ctx.result.final_state == "error"
    assert ctx.state == "error"
    assert observers.seen[-1] == ("enter", last_entered)


def test_a_direct_run_reaches_completed_and_tells_the_observers(
        make_context: Callable[..., rig.Context]) -> None:
    ctx = make_context()
    observers = Observing()
    assert StateMachine(two_states(), observers).run(ctx) == "completed"
    assert observers.seen == [("enter", "d_first"), ("exit", "d_first:ok"),
                              ("enter", "d_second"), ("exit", "d_second:ok"),
                              ("enter", "completed")]
    assert ctx.result.ok
    assert [(r.name, r.outcome, r.plugin) for r in ctx.result.states] == [
        ("d_first", "ok", "direct"), ("d_second", "ok", "direct"), ("completed", "ok", "rig")]


# -- Ctrl-C, in-process -----------------------------------------------------------------------

def test_ctrl_c_between_states_ends_interrupted_after_the_cleanup_states(
        rig_runner: RigRunner, ctrl_c: Callable[[], None]) -> None:
    ran: list[tuple[str, bool]] = []

    def waiting(ctx: rig.Context) -> None:
        ctrl_c()
        if not ctx.wait(60):
            raise AssertionError("Ctrl-C never reached the connection")

    workflow = states(("i_waiting", waiting),
                      ("i_next", lambda ctx: ran.append(("i_next", ctx.cancelled)) and None),
                      ("i_cleanup", lambda ctx: ran.append(("i_cleanup", ctx.cancelled)) and None),
                      cleanup=("i_cleanup",))
    run = rig_runner.run_on_server("--plugin", "i", plugins=[("i", workflow)])
    assert run.exit_code == 2, run.output
    assert ran == [("i_cleanup", True)]
    assert run.report is not None
    assert (run.report["interrupted"], run.report["exit_code"]) == (True, 2)
    conn = connection(run)
    assert conn["error"] == {"message": "interrupted", "state": "i_next", "kind": "interrupted",
                             "path": [*COMMON, "i_waiting"], "exit_code": 2}
    assert conn["final_state"] == "error"
    assert [(r["name"], r["outcome"]) for r in conn["states"][-3:]] == \
        [("i_waiting", "ok"), ("i_cleanup", "ok"), ("error", "error")]
    assert any(line.endswith(" interrupted: stopping 1 connection(s)")
               for line in run.stderr.splitlines())
    assert run.stderr.splitlines()[-1] == "rig: interrupted; the reports hold what ran"
    assert "rig: error:" not in run.stderr


def test_ctrl_c_unblocks_a_query_and_the_state_ends_interrupted(
        rig_runner: RigRunner, ctrl_c: Callable[[], None]) -> None:
    outcomes: dict[str, rig.StateOutcome] = {}

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        outcomes[state] = outcome

    def sleeping(ctx: rig.Context) -> None:
        extra = ctx.open_connection()
        ctrl_c()
        extra.query("SELECT SLEEP(60) AS rig_engine_ctrl_c_probe")

    run = rig_runner.run_on_server(
        "--plugin", "s,watch",
        plugins=[("s", states(("s_sleeping", sleeping))),
                 ("watch", make_plugin(rig_state_exit=rig_state_exit))])
    assert run.exit_code == 2, run.output
    conn = connection(run)
    assert conn["error"] == {"message": "interrupted", "state": "s_sleeping",
                             "kind": "interrupted", "path": [*COMMON, "s_sleeping"],
                             "exit_code": 2}
    assert conn["final_state"] == "error"
    assert conn["states"][-2]["name"] == "s_sleeping"
    assert conn["states"][-2]["outcome"] == "interrupted"
    outcome = outcomes["s_sleeping"]
    assert (outcome.status, outcome.next_state) == ("interrupted", None)
    assert outcome.error is not None and outcome.error.endswith(
        "[connection c1.1, state s_sleeping]")


def test_after_ctrl_c_the_cleanup_states_share_one_fresh_session_in_the_same_database(
        rig_runner: RigRunner, rig_database: str, ctrl_c: Callable[[], None]) -> None:
    """Ctrl-C shut the connection's sessions down: the cleanup states get one new session
    (not one each), in the database the run was using, and can still talk to the server."""
    seen: dict[str, Any] = {}

    def sleeping(ctx: rig.Context) -> None:
        seen["interrupted"] = ctx.require_connection().server_thread_id
        ctrl_c()
        ctx.require_connection().query("SELECT SLEEP(60)")

    def cleaning(name: str) -> Any:
        def clean(ctx: rig.Context) -> None:
            session = ctx.require_connection()
            seen[name] = (session.server_thread_id, session.scalar("SELECT DATABASE()"))
            seen[f"{name} id"] = session.id
        return clean

    workflow = states(("f_sleeping", sleeping), ("f_clean_a", cleaning("a")),
                      ("f_clean_b", cleaning("b")), cleanup=("f_clean_a", "f_clean_b"))
    run = rig_runner.run_on_server("--plugin", "f", "--database", rig_database,
                                   plugins=[("f", workflow)])
    assert run.exit_code == 2, run.output
    thread_a, database_a = seen["a"]
    assert seen["b"] == (thread_a, rig_database) and database_a == rig_database
    assert thread_a != seen["interrupted"]
    assert seen["a id"] == seen["b id"] == "c1"  # the connection's own session, by its id
    assert "rig: error:" not in run.stderr


def test_after_ctrl_c_a_server_gone_leaves_the_cleanup_states_without_a_session(
        rig_runner: RigRunner, ctrl_c: Callable[[], None]) -> None:
    """No fresh session can be had: the cleanup states run without one (and say so), the
    run still ends interrupted."""
    from rig.db.sandbox import Sandbox

    seen: dict[str, Any] = {}
    with Sandbox() as box:
        def sleeping(ctx: rig.Context) -> None:
            box.kill()
            ctrl_c()
            ctx.wait(60)

        def cleaning(ctx: rig.Context) -> None:
            seen["connection"] = ctx.connection

        workflow = states(("g_sleeping", sleeping), ("g_cleaning", cleaning),
                          cleanup=("g_cleaning",))
        run = rig_runner.run("--host", box.address, "--user", box.user, "--plugin", "g",
                             "--retry-attempts", "2", plugins=[("g", workflow)])
    assert run.exit_code == 2, run.output
    assert seen == {"connection": None}
    warnings = [line.split(" WARNING ", 1)[1] for line in run.stderr.splitlines()
                if " WARNING " in line]
    assert f"c1 g_sleeping connect attempt 1 to {box.address} failed (connection refused by " \
        f"{box.address}); retrying" in warnings  # the reconnect goes through the retry policy
    assert any(line.startswith("c1 g_sleeping no session for the cleanup states after the "
                               f"interrupt: connection refused by {box.address}")
               for line in warnings), warnings


def test_after_ctrl_c_the_interrupted_statements_are_killed_before_the_drop(
        rig_runner: RigRunner, rig_server: ServerDSN, ctrl_c: Callable[[], None]) -> None:
    """A statement cut off by Ctrl-C still runs on the server (holding what the drop needs):
    rig kills the sessions it shut down, so none is left running after the run."""
    marker = f"rig_kill_probe_{uuid.uuid4().hex[:8]}"

    def sleeping(ctx: rig.Context) -> None:
        database = ctx.scratch.database(ctx.require_connection(), f"rig_k_{marker[-8:]}")
        ctx.scratch.create_table(ctx.require_connection(), database.name, "t", "(id INT)")
        ctrl_c()
        ctx.require_connection().query(f"SELECT SLEEP(60) AS {marker}")

    run = rig_runner.run_on_server("--plugin", "k",
                                   plugins=[("k", states(("k_sleeping", sleeping)))])
    assert run.exit_code == 2, run.output
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       "WHERE INFO LIKE %s AND INFO NOT LIKE %s",
                       (f"%{marker}%", "%PROCESSLIST%"))
        assert cursor.fetchone() == (0,)
    assert run.report is not None and run.report["scratch"]["left"] == []


def test_ctx_retry_keeps_retrying_while_the_server_refuses_the_reconnect(
        rig_runner: RigRunner) -> None:
    """The server is gone: each attempt's reconnect is refused, which is a reason to try
    again (a restarting server), not to give up at the first refusal; the last one ends the
    run with exit 5."""
    from rig.db.sandbox import Sandbox

    with Sandbox() as box:
        def probing(ctx: rig.Context) -> None:
            box.kill()
            ctx.retry(lambda session: session.scalar("SELECT 1"), operation="probe")

        run = rig_runner.run("--host", box.address, "--user", box.user, "--plugin", "p",
                             "--retry-attempts", "3", "--breaker-threshold", "10",
                             plugins=[("p", states(("p_probing", probing)))])
    assert run.exit_code == 5, run.output
    retried = [line for line in run.stderr.splitlines() if " probe failed on attempt " in line]
    assert [line.split(" probe failed on attempt ")[1][:1] for line in retried] == ["1", "2"]
    assert "Connection refused" in retried[1]


def test_without_an_interrupt_the_cleanup_states_keep_the_failed_states_session(
        rig_runner: RigRunner) -> None:
    """Only Ctrl-C shuts the sessions down: after a handler's error the cleanup states go on
    with the session the workflow had."""
    seen: dict[str, int] = {}

    def failing(ctx: rig.Context) -> None:
        seen["failing"] = ctx.require_connection().server_thread_id
        raise RuntimeError("the test's failure")

    def cleaning(ctx: rig.Context) -> None:
        seen["cleaning"] = ctx.require_connection().server_thread_id

    run = rig_runner.run_on_server("--plugin", "h", plugins=[("h", states(
        ("h_failing", failing), ("h_cleaning", cleaning), cleanup=("h_cleaning",)))])
    assert run.exit_code == 3, run.output
    assert seen["cleaning"] == seen["failing"]


def test_a_handlers_exit_that_meets_a_lost_server_is_exit_5_naming_the_state(
        rig_runner: RigRunner) -> None:
    """A lost server is exit 5 whichever part of a handler met it: here its ``exit``."""
    from rig.db.sandbox import Sandbox

    with Sandbox() as box:
        class Killing:
            def execute(self, ctx: rig.Context) -> None:
                box.kill()

            def exit(self, ctx: rig.Context) -> None:
                ctx.require_connection().scalar("SELECT 1")

        run = rig_runner.run("--host", box.address, "--user", box.user, "--plugin", "o",
                             "--retry-attempts", "1",
                             plugins=[("o", states(("o_killing", Killing())))])
    assert run.exit_code == 5, run.output
    assert error_line(run).startswith(
        f"rig: error: lost the connection to {box.address} in state o_killing: "), run.stderr


def test_credentials_rotated_mid_run_end_in_access_denied_not_a_retry_loop(
        rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    """The session is cut, and the reconnect is refused for the password: that is said as
    such (exit 5), not retried as a server away."""
    user, old, new = f"rig_rot_{uuid.uuid4().hex[:8]}", "old-" + uuid.uuid4().hex, "new-x"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%%", "localhost"):
            cursor.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (old,))

    def rotating(ctx: rig.Context) -> None:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            for host in ("%%", "localhost"):
                cursor.execute(f"ALTER USER '{user}'@'{host}' IDENTIFIED BY %s", (new,))
            cursor.execute(f"KILL {ctx.require_connection().server_thread_id}")
        ctx.retry(lambda session: session.scalar("SELECT 1"), operation="probe")

    try:
        run = rig_runner.run("--host", rig_server.address, "--user", user, "--plugin", "r",
                             env={"RIG_PASSWORD": old},
                             plugins=[("r", states(("r_rotating", rotating)))])
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%', '{user}'@'localhost'")
    assert run.exit_code == 5, run.output
    assert f"access denied for user '{user}' at {rig_server.address} (with a password)" in \
        error_line(run), run.stderr
    assert old not in run.output


def rig_threads() -> list[threading.Thread]:
    """The connections' threads still running."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("rig-")]


def test_a_connection_ignoring_ctrl_c_does_not_hold_the_run(
        rig_runner: RigRunner, ctrl_c: Callable[[], None]) -> None:
    release = threading.Event()
    finished: list[bool] = []

    def stubborn(ctx: rig.Context) -> None:
        ctrl_c()
        try:
            release.wait(60)
        finally:
            finished.append(ctx.cancelled)

    try:
        run = rig_runner.run_on_server("--plugin", "st",
                                       plugins=[("st", states(("st_x", stubborn)))])
        assert finished == []  # the run reported without waiting for it
        assert run.exit_code == 2
        assert connection(run)["final_state"] is None  # still running when the report was made
        assert [(t.name, t.daemon) for t in rig_threads()] == [("rig-c1", True)]
    finally:
        release.set()
        # not join(): a join that Ctrl-C interrupted leaves the thread marked as stopped
        deadline = time.monotonic() + 30
        while rig_threads() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert finished == [True]
    assert not rig_threads()


# -- the coordinator ------------------------------------------------------------------------

class Unprintable(Exception):
    """An exception whose message cannot be made: describing it fails inside the engine."""

    def __str__(self) -> str:
        raise RuntimeError("cannot describe this error")


def test_a_crash_inside_the_engine_is_an_internal_error_per_connection(
        rig_runner: RigRunner) -> None:
    def broken(ctx: rig.Context) -> None:
        raise Unprintable()

    run = rig_runner.run_on_server("--connections", "2", "--plugin", "x",
                                   plugins=[("x", states(("x_broken", broken)))])
    assert run.exit_code == 3
    assert run.report is not None
    for index, cid in enumerate(("c1", "c2")):
        conn = connection(run, index)
        assert conn["id"] == cid
        assert conn["error"] == {
            "message": f"internal error in connection {cid}: RuntimeError: cannot describe "
                       "this error",
            "state": "x_broken", "kind": "RuntimeError", "path": [], "exit_code": 3}
        assert conn["final_state"] == "error"
        assert conn["metrics"]["timings_ms"]["connect"]["count"] == 1
    assert "Traceback" not in run.output
    assert "Exception in thread" not in run.output


def test_each_connection_has_its_id_host_port_and_user(
        rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run("--host", f"{rig_server.host}:{rig_server.port},localhost",
                         "--port", "1", "--user", rig_server.user, "--connections", "2",
                         "--retry-attempts", "1", env=rig_server.rig_env())
    assert run.exit_code == 5
    assert run.report is not None
    conns = run.report["connections"]
    assert [(c["id"], c["host"], c["port"], c["user"]) for c in conns] == [
        ("c1", rig_server.host, rig_server.port, rig_server.user),
        ("c2", rig_server.host, rig_server.port, rig_server.user),
        ("c3", "localhost", 1, rig_server.user),
        ("c4", "localhost", 1, rig_server.user)]
    assert [c["final_state"] for c in conns] == ["completed", "completed", "error", "error"]
    assert conns[2]["error"]["message"].startswith("connection refused by localhost:1")


def test_a_host_without_a_port_takes_port(rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run("--host", rig_server.host, "--port", str(rig_server.port),
                         "--user", rig_server.user, env=rig_server.rig_env())
    assert run.exit_code == 0, run.output
    assert [(c["host"], c["port"]) for c in run.report["connections"]] == [  # type: ignore[index]
        (rig_server.host, rig_server.port)]


def test_no_server_left_to_test_is_a_usage_error(rig_runner: RigRunner) -> None:
    def rig_configure(config: rig.Config) -> None:
        config.option.host = []

    run = rig_runner.run_on_server("--plugin", "none",
                                   plugins=[("none", make_plugin(rig_configure=rig_configure))])
    assert run.exit_code == 4
    assert error_line(run) == "rig: error: no server to test: give --host HOST:PORT or --sandbox"


def build_config(tmp_path: Path, *args: str, environ: Mapping[str, str] | None = None) -> Config:
    """A run's configuration, made by rig's own bootstrap and parser from ``args``."""
    argv = list(args)
    env = {"XDG_CONFIG_HOME": str(tmp_path), **(environ or {})}
    boot = bootstrap(argv, env, tmp_path)
    host = load_plugins(boot.options)
    parser = build_parser(host, boot.config_file)
    return Config(parser.parse(argv, env), parser, pluginmanager=host.pm,
                  terminal=rig.Terminal(io.StringIO(), io.StringIO(), live=False), environ=env)


def test_connection_targets_carry_every_connection_option(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    config = build_config(tmp_path, "--host", "db1:3307,db2", "--port", "4001", "--user", "u",
                          "--database", "d", "--connect-timeout", "2.5", "--ssl-mode",
                          "verify-ca", "--ssl-ca", str(ca), "--connections", "2",
                          environ={"RIG_PASSWORD": "pw"})
    targets = connection_targets(config)
    assert [(t.host, t.port) for t in targets] == [("db1", 3307)] * 2 + [("db2", 4001)] * 2
    for target in targets:
        assert (target.user, target.database, target.connect_timeout, target.ssl_mode,
                target.ssl_ca) == ("u", "d", 2.5, rig.SslMode.VERIFY_CA, str(ca))
        assert target.password is not None and target.password.reveal() == "pw"


def test_connection_targets_default_to_one_connection_on_port_4000(tmp_path: Path) -> None:
    targets = connection_targets(build_config(tmp_path, "--host", "db"))
    assert [(t.host, t.port, t.user, t.ssl_ca) for t in targets] == [("db", 4000, "root", None)]


# -- ctx, used directly on a real server -----------------------------------------------------

@pytest.fixture
def make_context(tmp_path: Path, rig_server: ServerDSN) -> Iterator[Callable[..., rig.Context]]:
    """Contexts as the coordinator makes them (connection ``c1``), from rig's own parser: by
    default for the test server; closed at the end of the test."""
    made: list[rig.Context] = []

    def make(*args: str, cancelled: threading.Event | None = None,
             checks: list[rig.Check] | None = None) -> rig.Context:
        argv = list(args) or rig_server.rig_args()
        config = build_config(tmp_path, *argv, environ=rig_server.rig_env())
        settings = connection_targets(config)[0]
        option = config.option
        connector = Connector(
            retry_policy=RetryPolicy(attempts=option.retry_attempts,
                                     max_time=option.retry_max_time),
            breakers=BreakerBoard(option.breaker_threshold, option.breaker_cooldown))
        ctx = rig.Context(
            config=config, connection_id="c1", settings=settings,
            result=rig.ConnectionResult("c1", settings.host, settings.port, settings.user),
            shared=rig.Shared(1), connector=connector, scratch=Scratch(keep=False),
            cancelled=cancelled or threading.Event(),
            on_check=checks.append if checks is not None else lambda check: None)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def test_a_context_outside_any_state(make_context: Callable[..., rig.Context]) -> None:
    ctx = make_context()
    assert (ctx.state, ctx.plugin, ctx.connection, ctx.server) == ("", "rig", None, None)
    with pytest.raises(RuntimeError, match=r"^state '' needs a connection, but none is open$"):
        ctx.require_connection()
    extras: list[dict[str, Any]] = []
    sink = logger.add(lambda message: extras.append(dict(message.record["extra"])))
    try:
        ctx.log.info("outside")
        ctx.state = "x_working"
        ctx.log.info("inside")
    finally:
        logger.remove(sink)
    assert extras == [{"conn": "c1", "state": "-"}, {"conn": "c1", "state": "x_working"}]
    with pytest.raises(RuntimeError, match=r"^state 'x_working' needs a connection"):
        ctx.require_connection()


def test_local_storage_is_private_to_a_handler_and_a_connection(
        make_context: Callable[..., rig.Context]) -> None:
    first, second = make_context(), make_context()
    handler, other = object(), object()
    first.local(handler)["visits"] = 1
    first.local(handler)["visits"] += 1
    assert first.local(handler) == {"visits": 2}
    assert first.local(other) == {}
    assert second.local(handler) == {}


def test_check_records_the_check_and_warns_of_failures(
        make_context: Callable[..., rig.Context]) -> None:
    checks: list[rig.Check] = []
    ctx = make_context(checks=checks)
    ctx.plugin = "x"
    with captured_logs() as logs:
        made = [ctx.check("fast", rig.Verdict.PASS, "1 ms", duration_s=0.001),
                ctx.check("maybe", "skip"),
                ctx.check("slow", "fail", "too slow", duration_s=0.25),
                ctx.check("broken", "error", "boom")]
    assert made[2] == rig.Check("slow", rig.Verdict.FAIL, "too slow", "c1", "x", 0.25)
    assert made[1] == rig.Check("maybe", rig.Verdict.SKIP, "", "c1", "x", None)
    assert checks == made
    assert logs == [("DEBUG", "check PASS fast: 1 ms"), ("DEBUG", "check SKIP maybe: "),
                    ("WARNING", "check FAIL slow: too slow"),
                    ("WARNING", "check ERROR broken: boom")]


def test_event_goes_on_the_run_timeline_from_the_connection_and_plugin(
        make_context: Callable[..., rig.Context]) -> None:
    ctx = make_context()
    ctx.plugin = "x"
    event = ctx.event("x.warmup", kind="start", detail="warming up", data={"rows": 3})
    assert (event.name, event.source, event.connection, event.kind, event.detail,
            dict(event.data)) == ("x.warmup", "x", "c1", rig.EventKind.START, "warming up",
                                  {"rows": 3})
    plain = ctx.event("x.tick")
    assert (plain.kind, plain.detail, dict(plain.data)) == (rig.EventKind.INSTANT, "", {})
    assert ctx.config.timeline.events == [event, plain]


def test_wait_tells_whether_the_run_is_interrupted(
        make_context: Callable[..., rig.Context]) -> None:
    cancelled = threading.Event()
    ctx = make_context(cancelled=cancelled)
    backstop = threading.Timer(30, cancelled.set)  # a wait that ignored its time ends here
    backstop.start()
    try:
        assert ctx.wait(0.01) is False
    finally:
        backstop.cancel()
    assert ctx.cancelled is False
    cancelled.set()
    assert ctx.wait(60) is True
    assert ctx.cancelled is True


def test_sessions_are_labelled_with_connection_and_state(
        make_context: Callable[..., rig.Context]) -> None:
    ctx = make_context()
    ctx.state = "x_querying"
    main = ctx.connect()
    extra = ctx.open_connection()
    assert ctx.require_connection() is main
    for session, label in ((main, "c1"), (extra, "c1.1")):
        assert (session.id, session.state) == (label, "x_querying")
        with pytest.raises(rig.DatabaseError) as failed:
            session.execute("SELECT * FROM rig_engine_no_such_table")
        assert str(failed.value).endswith(f"[connection {label}, state x_querying]")


def test_failed_connects_carry_connection_and_state_and_log_each_retry(
        make_context: Callable[..., rig.Context], rig_server: ServerDSN) -> None:
    refused = "127.0.0.1:1"
    ctx = make_context("--host", refused, "--retry-attempts", "2")
    ctx.state = "x_connecting"
    with captured_logs("WARNING") as logs, pytest.raises(rig.ConnectError) as failed:
        ctx.connect()
    assert str(failed.value).startswith(f"connection refused by {refused}")
    cause = failed.value.__cause__
    assert isinstance(cause, rig.DatabaseError)
    assert (cause.connection_id, cause.state, cause.attempt) == ("c1", "x_connecting", 2)
    assert logs == [("WARNING", f"connect attempt 1 to {refused} failed (connection refused by "
                                f"{refused}); retrying")]
    assert ctx.connection is None

    server = make_context()
    server.state = "x_opening"
    elsewhere = dataclasses.replace(server.settings, host="127.0.0.1", port=1)
    with captured_logs("WARNING") as logs, pytest.raises(rig.ConnectError) as failed:
        server.open_connection(settings=elsewhere)
    cause = failed.value.__cause__
    assert isinstance(cause, rig.DatabaseError)
    assert (cause.connection_id, cause.state) == ("c1.1", "x_opening")
    assert len(logs) == 2  # three attempts by default
    assert logs[0] == ("WARNING", f"connect attempt 1 to {refused} failed (connection refused "
                                  f"by {refused}); retrying")


def test_no_connect_attempt_starts_after_ctrl_c(
        make_context: Callable[..., rig.Context]) -> None:
    cancelled = threading.Event()
    ctx = make_context("--host", "127.0.0.1:1", "--retry-attempts", "3", cancelled=cancelled)
    cancelled.set()
    with captured_logs("WARNING") as logs:
        for opening in (ctx.connect, ctx.open_connection):
            with pytest.raises(rig.ConnectError) as failed:
                opening()
            assert isinstance(failed.value.__cause__, rig.DatabaseError)
            assert failed.value.__cause__.attempt == 1
    assert logs == []


def processlist_ids(rig_server: ServerDSN) -> set[int]:
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST")
        return {int(row[0]) for row in cursor.fetchall()}


def test_close_closes_every_session_of_the_connection(
        make_context: Callable[..., rig.Context], rig_server: ServerDSN) -> None:
    ctx = make_context()
    ctx.close()  # nothing open yet: nothing to do
    sessions = [ctx.connect(), ctx.open_connection(), ctx.open_connection()]
    assert [s.id for s in sessions] == ["c1", "c1.1", "c1.2"]
    ids = {s.server_thread_id for s in sessions}
    ctx.close()
    assert [s.raw.open for s in sessions] == [False, False, False]
    deadline = time.monotonic() + 30  # the server lets a closed session go a moment later
    while ids & processlist_ids(rig_server) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not ids & processlist_ids(rig_server)


def test_abort_unblocks_every_session_of_the_connection(
        make_context: Callable[..., rig.Context], rig_server: ServerDSN) -> None:
    ctx = make_context()
    ctx.abort()  # nothing open yet: nothing to do
    sessions = {"main": ctx.connect(), "extra": ctx.open_connection()}
    errors: dict[str, BaseException] = {}

    def block(name: str) -> None:
        try:
            sessions[name].query(f"SELECT SLEEP(60) AS rig_engine_abort_{name}")
        except rig.DatabaseError as exc:
            errors[name] = exc

    threads = [threading.Thread(target=block, args=(name,)) for name in sessions]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    with rig_server.connect() as conn, conn.cursor() as cursor:
        while time.monotonic() < deadline:  # both queries really run
            cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                           "WHERE INFO LIKE 'SELECT SLEEP(60) AS rig_engine_abort_%'")
            if cursor.fetchone()[0] == 2:
                break
            time.sleep(0.01)
    ctx.abort()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert set(errors) == {"main", "extra"}


# -- ctx.retry and ctx.reconnect, on the TiDB stand-in (errors on demand) --------------------

ANSWER = r"^SELECT 42$"


@pytest.fixture
def standin() -> Iterator[TidbStandin]:
    """The TiDB stand-in (like the kit's ``tidb_standin`` fixture, whose name the
    ``rig.testing.tidb_standin`` module shadows once imported before pytest reads the kit)."""
    with TidbStandin() as server:
        yield server


@pytest.mark.tidb_standin
def test_retry_reconnects_after_a_needs_reconnect_error_closing_the_old_session(
        make_context: Callable[..., rig.Context], standin: TidbStandin) -> None:
    ctx = make_context("--host", standin.address, "--ssl-mode", "disabled")
    ctx.state = "x_answering"
    old = ctx.connect()
    standin.fail_next(8229, "TTL manager has timed out, pessimistic locks may expire, "
                           "please commit or rollback this transaction", match=ANSWER)
    with captured_logs("WARNING") as logs:
        value = ctx.retry(lambda session: session.scalar("SELECT 42"), operation="the answer")
    assert value == 42
    assert old.raw.open is False  # closed, not left behind
    assert ctx.connection is not None and ctx.connection is not old
    assert ctx.metrics.snapshot()["counters"] == {"retries": 1, "reconnects": 1}
    assert [e.name for e in ctx.config.timeline.events] == ["reconnect"]
    assert ctx.config.timeline.events[0].detail == f"c1 reconnected to {standin.address}"
    assert len(logs) == 1
    assert logs[0][1].startswith("the answer failed on attempt 1 (SELECT 42 failed: (8229) TTL "
                                 "manager has timed out")
    assert logs[0][1].endswith("(needs-reconnect) [connection c1, state x_answering]); retrying")


@pytest.mark.tidb_standin
def test_retry_keeps_the_session_after_a_transient_error(
        make_context: Callable[..., rig.Context], standin: TidbStandin) -> None:
    ctx = make_context("--host", standin.address, "--ssl-mode", "disabled")
    session = ctx.connect()
    standin.fail_next(1213, "Deadlock found when trying to get lock; try restarting "
                           "transaction", match=ANSWER)
    assert ctx.retry(lambda s: s.scalar("SELECT 42"), operation="the answer") == 42
    assert ctx.connection is session and session.raw.open
    assert ctx.metrics.snapshot()["counters"] == {"retries": 1}
    assert standin.count(ANSWER) == 2


@pytest.mark.tidb_standin
def test_retry_failures_open_the_servers_circuit_breaker(
        make_context: Callable[..., rig.Context], standin: TidbStandin) -> None:
    ctx = make_context("--host", standin.address, "--ssl-mode", "disabled",
                       "--breaker-threshold", "1", "--retry-attempts", "3")
    ctx.connect()
    standin.fail_next(1213, "Deadlock found when trying to get lock; try restarting "
                           "transaction", match=ANSWER, times=3)
    with pytest.raises(rig.DatabaseError, match=r"failed 1 time\(s\) in a row; last: \(1213\)"):
        ctx.retry(lambda s: s.scalar("SELECT 42"), operation="the answer")
    assert standin.count(ANSWER) == 1  # the open breaker stopped the second attempt
    with pytest.raises(rig.ConnectError, match=r"cannot connect to .*\(1213\) Deadlock"):
        ctx.open_connection()  # the same server's breaker


@pytest.mark.tidb_standin
def test_no_retry_starts_after_ctrl_c(make_context: Callable[..., rig.Context],
                                      standin: TidbStandin) -> None:
    cancelled = threading.Event()
    ctx = make_context("--host", standin.address, "--ssl-mode", "disabled",
                       cancelled=cancelled)
    ctx.connect()
    cancelled.set()
    standin.fail_next(1213, "Deadlock found when trying to get lock; try restarting "
                           "transaction", match=ANSWER, times=3)
    with pytest.raises(rig.DatabaseError):
        ctx.retry(lambda s: s.scalar("SELECT 42"), operation="the answer")
    assert standin.count(ANSWER) == 1
    assert "retries" not in ctx.metrics.snapshot()["counters"]


def test_retry_errors_carry_operation_connection_and_state(
        make_context: Callable[..., rig.Context]) -> None:
    ctx = make_context()
    ctx.state = "x_reading"
    ctx.connect()

    def read(session: rig.Connection) -> Any:
        with session.raw.cursor() as cursor:  # the driver itself, not rig's wrapper
            cursor.execute("SELECT * FROM rig_engine_no_such_table")
            return cursor.fetchall()

    with pytest.raises(rig.DatabaseError) as failed:
        ctx.retry(read, operation="read the missing table")
    text = str(failed.value)
    assert text.startswith("read the missing table failed: (1046) ")
    assert text.endswith("(permanent) [connection c1, state x_reading]")


@pytest.mark.tidb_standin
def test_a_reconnect_that_fails_leaves_no_connection(
        make_context: Callable[..., rig.Context]) -> None:
    with TidbStandin() as standin:
        ctx = make_context("--host", standin.address, "--ssl-mode", "disabled",
                           "--retry-attempts", "1")
        ctx.connect()
    with pytest.raises(rig.ConnectError):
        ctx.reconnect()
    assert ctx.connection is None
