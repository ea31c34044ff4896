"""The state machine on a real connection: loop bound, unknown state, handler exceptions,
cleanup states, state-name conflicts, observers."""

from __future__ import annotations

import types
from typing import Any

import rig
from rig.testing import RigRunner


def plugin(**hooks: Any) -> types.SimpleNamespace:
    """An in-process plugin object from hook functions (marked as rig hookimpls)."""
    return types.SimpleNamespace(**{name: rig.hookimpl(fn) for name, fn in hooks.items()})


def states_plugin(*states: tuple[str, Any], cleanup: tuple[str, ...] = ()) -> Any:
    def rig_register_states(registry: rig.StateRegistry) -> None:
        for name, handler in states:
            registry.add_state(name, handler, cleanup=name in cleanup)

    return plugin(rig_register_states=rig_register_states)


def test_a_workflow_that_loops_ends_in_error_with_its_path(rig_runner: RigRunner) -> None:
    looping = states_plugin(("ping_a", lambda ctx: "ping_b"), ("ping_b", lambda ctx: "ping_a"))
    run = rig_runner.run_on_server("--plugin", "loop", "--max-transitions", "50",
                         plugins=[("loop", looping)])
    assert run.exit_code == 3
    assert "the workflow passed 50 transitions without finishing (a loop?)" in run.stderr
    assert "ping_a → ping_b → ping_a" in run.stderr
    assert run.report is not None
    error = run.report["connections"][0]["error"]
    assert error["kind"] == "WorkflowError"
    assert len(error["path"]) == 50


def test_an_unknown_next_state_ends_in_error_naming_it(rig_runner: RigRunner) -> None:
    typo = states_plugin(("first", lambda ctx: "secnod"), ("second", lambda ctx: None))
    run = rig_runner.run_on_server("--plugin", "typo", plugins=[("typo", typo)])
    assert run.exit_code == 3
    assert "the handler of state 'first' returned unknown state 'secnod'" in run.stderr
    assert "getting_version → first" in run.stderr
    assert "known states: initial, parsing_config" in run.stderr


def test_a_handler_exception_ends_the_run_in_error_with_state_and_cause(
        rig_runner: RigRunner) -> None:
    def explode(ctx: rig.Context) -> None:
        raise ZeroDivisionError("division by zero in the handler")

    boom = states_plugin(("exploding", explode))
    run = rig_runner.run_on_server("--plugin", "boom", plugins=[("boom", boom)])
    assert run.exit_code == 3
    line = next(line for line in run.stderr.splitlines() if line.startswith("rig: error:"))
    assert "the handler of state 'exploding' (plugin boom) raised ZeroDivisionError: " \
           "division by zero in the handler at " in line
    assert "Traceback" not in run.stderr
    assert run.report is not None
    states = run.report["connections"][0]["states"]
    assert [s["name"] for s in states][-2:] == ["exploding", "error"]
    assert states[-2]["outcome"] == "error"


def test_handler_enter_and_exit_run_around_execute_even_on_error(rig_runner: RigRunner) -> None:
    calls: list[str] = []

    class Tracked:
        def enter(self, ctx: rig.Context) -> None:
            calls.append("enter")

        def execute(self, ctx: rig.Context) -> None:
            calls.append("execute")
            raise RuntimeError("fails")

        def exit(self, ctx: rig.Context) -> None:
            calls.append("exit")

    run = rig_runner.run_on_server("--plugin", "t",
                                   plugins=[("t", states_plugin(("tracked", Tracked())))])
    assert run.exit_code == 3
    assert calls == ["enter", "execute", "exit"]


def test_cleanup_states_run_after_a_failure(rig_runner: RigRunner, rig_database: str) -> None:
    table = f"`{rig_database}`.`made_by_test`"

    def create(ctx: rig.Context) -> None:
        ctx.require_connection().execute(f"CREATE TABLE {table} (id INT)")

    def fail(ctx: rig.Context) -> None:
        raise RuntimeError("something broke mid-test")

    def drop(ctx: rig.Context) -> None:
        ctx.require_connection().execute(f"DROP TABLE IF EXISTS {table}")

    workflow = states_plugin(("creating", create), ("failing", fail), ("dropping", drop),
                             cleanup=("dropping",))
    run = rig_runner.run_on_server("--plugin", "w", plugins=[("w", workflow)])
    assert run.exit_code == 3
    assert run.report is not None
    assert [s["name"] for s in run.report["connections"][0]["states"]][-3:] == \
        ["failing", "dropping", "error"]
    with rig_runner.server.connect() as conn, conn.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                       (rig_database,))
        assert cursor.fetchone() == (0,)


def test_two_plugins_adding_one_state_name_is_an_error_naming_both(
        rig_runner: RigRunner) -> None:
    first = states_plugin(("shared_name", lambda ctx: None))
    second = states_plugin(("shared_name", lambda ctx: None))
    run = rig_runner.run_on_server("--plugin", "one,two", plugins=[("one", first), ("two", second)])
    assert run.exit_code == 3
    assert "state 'shared_name' is added by both one and two" in run.stderr


def test_observers_see_every_transition_in_order(rig_runner: RigRunner) -> None:
    seen: list[tuple[str, str]] = []

    def rig_state_enter(ctx: rig.Context, state: str) -> None:
        seen.append(("enter", state))

    def rig_state_exit(state: str, outcome: rig.StateOutcome) -> None:
        seen.append(("exit", f"{state}:{outcome.status}→{outcome.next_state}"))

    observer = plugin(rig_state_enter=rig_state_enter, rig_state_exit=rig_state_exit)
    run = rig_runner.run_on_server("--plugin", "basic,observer", plugins=[("observer", observer)])
    assert run.exit_code == 0, run.stderr
    assert seen[:4] == [("enter", "initial"), ("exit", "initial:ok→parsing_config"),
                        ("enter", "parsing_config"), ("exit", "parsing_config:ok→connecting")]
    assert seen[-2:] == [("exit", "basic_inspecting_session:ok→completed"), ("enter", "completed")]


def test_hooks_run_in_lifecycle_order(rig_runner: RigRunner) -> None:
    order: list[str] = []

    def note(name: str) -> Any:
        def hook() -> None:
            if not order or order[-1] != name:
                order.append(name)

        return hook

    def emit(ctx: rig.Context) -> None:
        ctx.event("every.tick")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        order.append("register_states")
        registry.add_state("every_emitting", emit)

    every = plugin(
        rig_addhooks=note("addhooks"), rig_addoption=note("addoption"),
        rig_configure=note("configure"), rig_register_states=rig_register_states,
        rig_state_enter=note("state_enter"), rig_state_exit=note("state_exit"),
        rig_timeline_event=note("timeline_event"), rig_report=note("report"),
        rig_write_report=note("write_report"), rig_terminal_summary=note("terminal_summary"),
        rig_unconfigure=note("unconfigure"),
    )
    run = rig_runner.run_on_server("--plugin", "every", plugins=[("every", every)])
    assert run.exit_code == 0, run.stderr
    first_enter = order.index("state_enter")
    assert order[:first_enter] == ["addhooks", "addoption", "configure", "register_states"]
    assert order[order.index("timeline_event") - 1] == "state_enter"  # from inside the state
    assert order[-4:] == ["report", "write_report", "terminal_summary", "unconfigure"]
    assert order[-5] == "state_enter"  # entering completed is the last transition


def test_a_configure_hook_can_reject_a_value_with_its_source(rig_runner: RigRunner) -> None:
    def rig_configure(config: rig.Config) -> None:
        if config.getoption("basic_ping_count") > 100:
            raise config.invalid("basic_ping_count", "at most 100 for this check")

    strict = plugin(rig_configure=rig_configure)
    run = rig_runner.run_on_server("--plugin", "basic,strict", env={"RIG_BASIC_PING_COUNT": "500"},
                         plugins=[("strict", strict)], report=False)
    assert run.exit_code == 4
    assert "argument --basic-ping-count: invalid value 500: at most 100 for this check " \
           "(from env RIG_BASIC_PING_COUNT)" in run.stderr


def test_cleanup_states_of_a_plugin_that_never_started_do_not_run(rig_runner: RigRunner) -> None:
    ran: list[str] = []

    def fail(ctx: rig.Context) -> None:
        raise RuntimeError("the first plugin fails")

    def record(name: str) -> Any:
        def handler(ctx: rig.Context) -> None:
            ran.append(name)

        return handler

    first = states_plugin(("first_failing", fail), ("first_cleanup", record("first_cleanup")),
                          cleanup=("first_cleanup",))
    second = states_plugin(("second_working", record("second_working")),
                           ("second_cleanup", record("second_cleanup")),
                           cleanup=("second_cleanup",))
    run = rig_runner.run_on_server("--plugin", "first,second",
                                   plugins=[("first", first), ("second", second)])
    assert run.exit_code == 3
    assert ran == ["first_cleanup"]  # second never began, so it has nothing to clean up
    assert run.report is not None
    names = [s["name"] for s in run.report["connections"][0]["states"]]
    assert names[-3:] == ["first_failing", "first_cleanup", "error"]


def test_a_cleanup_state_that_already_ran_does_not_run_twice(rig_runner: RigRunner) -> None:
    ran: list[str] = []

    def fail(ctx: rig.Context) -> None:
        raise RuntimeError("after the cleanup state")

    def cleanup(ctx: rig.Context) -> None:
        ran.append("cleanup")

    workflow = states_plugin(("w_cleanup", cleanup), ("w_failing", fail), cleanup=("w_cleanup",))
    run = rig_runner.run_on_server("--plugin", "w", plugins=[("w", workflow)])
    assert run.exit_code == 3
    assert ran == ["cleanup"]


def test_a_handler_that_returns_something_else_than_a_state_name(rig_runner: RigRunner) -> None:
    odd = states_plugin(("odd_returning", lambda ctx: 42))
    run = rig_runner.run_on_server("--plugin", "odd", plugins=[("odd", odd)])
    assert run.exit_code == 3
    assert "the handler of state 'odd_returning' returned a int, not a state name" in run.stderr


def test_a_handler_may_jump_to_any_state_and_completed(rig_runner: RigRunner) -> None:
    visits: list[str] = []

    def first(ctx: rig.Context) -> str:
        visits.append("first")
        return "jump_third" if len(visits) == 1 else rig.states.COMPLETED

    jumping = states_plugin(("jump_first", first), ("jump_second", lambda ctx: None),
                            ("jump_third", lambda ctx: "jump_first"))
    run = rig_runner.run_on_server("--plugin", "jump", plugins=[("jump", jumping)])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    names = [s["name"] for s in run.report["connections"][0]["states"] if s["plugin"] == "jump"]
    assert names == ["jump_first", "jump_third", "jump_first"]
    assert run.report["connections"][0]["final_state"] == "completed"


def test_an_error_in_a_data_lookup_points_at_the_plugins_line(rig_runner: RigRunner) -> None:
    missing: rig.Key[int] = rig.Key("lookup.never_stored")

    def lookup(ctx: rig.Context) -> None:
        ctx.data[missing]  # the line the error must point at

    run = rig_runner.run_on_server("--plugin", "lookup",
                                   plugins=[("lookup", states_plugin(("lookup_reading", lookup)))])
    assert run.exit_code == 3
    line = next(line for line in run.stderr.splitlines() if line.startswith("rig: error:"))
    assert "no data stored under 'lookup.never_stored'" in line
    assert f"at {__file__}:" in line
    assert "rig/data.py" not in line
