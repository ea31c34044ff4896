"""Every hook is called through pluggy: wrappers, tryfirst/trylast and -vv tracing work on
each of them, and an exception in any hook names the plugin and the hook, exits 3 and never
prints a raw traceback."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, make_plugin


def test_wrappers_on_configure_and_report_run_around_the_plugins(
        rig_runner: RigRunner) -> None:
    calls: list[str] = []

    @rig.hookimpl(wrapper=True)
    def rig_configure(config: rig.Config) -> Generator[None, None, None]:
        calls.append("configure: before")
        yield
        calls.append(f"configure: after, host {config.getoption('host')!r}")

    @rig.hookimpl(wrapper=True)
    def rig_report(result: rig.RunResult) -> Generator[None, Any, Any]:
        sections = yield
        calls.append(f"report of {len(result.connections)} connection(s): {len(sections)}")
        return [{**sections[0], "wrapped": True}] if sections else sections

    wrapper = make_plugin(rig_configure=rig_configure, rig_report=rig_report)
    run = rig_runner.run_on_server("--plugin", "basic,wrapper", plugins=[("wrapper", wrapper)])
    assert run.exit_code == 0, run.stderr
    assert calls[0] == "configure: before"
    assert calls[1].startswith("configure: after, host [HostPort(")
    # rig_report is called per plugin: the wrapper wraps basic's call and sees its section
    assert "report of 1 connection(s): 1" in calls
    assert run.section("basic")["wrapped"] is True


def test_tryfirst_puts_a_hook_before_the_bundled_plugins(rig_runner: RigRunner) -> None:
    """The bundled ``common`` plugin's rig_configure (tryfirst itself) asks for the password
    that ``--password`` without a value requests, and fails without a terminal: a plugin's
    rig_configure runs before it only when it is tryfirst too."""
    order: list[str] = []

    @rig.hookimpl(tryfirst=True)
    def early(config: rig.Config) -> None:
        order.append("early")

    def late(config: rig.Config) -> None:
        order.append("late")

    for name, hook in (("early", early), ("late", late)):
        run = rig_runner.run_on_server("--plugin", f"basic,{name}", "--password",
                                       plugins=[(name, make_plugin(rig_configure=hook))],
                                       report=False)
        assert run.exit_code == 4
        assert "--password was given without a value and there is no terminal" in run.stderr
    assert order == ["early"]


def test_minus_vv_traces_every_hook_call(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-vv", "--plugin", "basic")
    assert run.exit_code == 0, run.stderr
    traced = {line.split("hook ", 1)[1].split(" ")[0] for line in run.stderr.splitlines()
              if " hook rig_" in line and "→" in line}
    assert {"rig_addoption", "rig_configure", "rig_register_states", "rig_state_enter",
            "rig_state_exit", "rig_report", "rig_write_report", "rig_terminal_summary",
            "rig_unconfigure"} <= traced
    line = next(line for line in run.stderr.splitlines() if "hook rig_register_states →" in line)
    assert "'common'" in line or "'basic'" in line


def _raise(*_args: Any, **_kwargs: Any) -> Any:
    raise ValueError("injected by the test")


def _raise_on_completed(state: str) -> None:
    if state == "completed":
        raise ValueError("injected by the test")


def _raise_in_state_exit(state: str, outcome: rig.StateOutcome) -> None:
    if state == "getting_version":
        raise ValueError("injected by the test")


def _emitting_states(registry: rig.StateRegistry) -> None:
    registry.add_state("faulty_emitting", lambda ctx: ctx.event("faulty.tick") and None)


@pytest.mark.parametrize(("hooks", "hook_name"), [
    ({"rig_configure": _raise}, "rig_configure"),
    ({"rig_register_states": _raise}, "rig_register_states"),
    ({"rig_state_enter": _raise}, "rig_state_enter"),
    ({"rig_state_enter": _raise_on_completed}, "rig_state_enter"),
    ({"rig_state_exit": _raise_in_state_exit}, "rig_state_exit"),
    ({"rig_register_states": _emitting_states, "rig_timeline_event": _raise},
     "rig_timeline_event"),
    ({"rig_report": _raise}, "rig_report"),
    ({"rig_write_report": _raise}, "rig_write_report"),
    ({"rig_terminal_summary": _raise}, "rig_terminal_summary"),
    ({"rig_unconfigure": _raise}, "rig_unconfigure"),
], ids=["configure", "register_states", "state_enter", "state_enter_completed", "state_exit",
        "timeline_event", "report", "write_report", "terminal_summary", "unconfigure"])
def test_an_exception_in_any_hook_names_plugin_and_hook_and_exits_3(
        rig_runner: RigRunner, hooks: dict[str, Any], hook_name: str) -> None:
    run = rig_runner.run_on_server("--plugin", "basic,faulty",
                                   plugins=[("faulty", make_plugin(**hooks))])
    assert run.exit_code == 3, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error:")]
    assert errors, run.stderr
    assert f"plugin 'faulty' failed in {hook_name}: ValueError: injected by the test (at " \
           f"{__file__}:" in errors[0]
    assert "Traceback" not in run.output
    assert "Exception in thread" not in run.output


def test_an_observer_failure_ends_only_that_run_in_error(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server(
        "--plugin", "basic,faulty",
        plugins=[("faulty", make_plugin(rig_state_enter=_raise_on_completed))])
    assert run.exit_code == 3
    assert run.report is not None
    conn = run.report["connections"][0]
    assert conn["final_state"] == "error"
    assert conn["error"]["exit_code"] == 3
    assert run.report["exit_code"] == 3


def test_a_plugin_whose_addhooks_raises_fails_alone(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "basic",
                                   plugins=[("faulty", make_plugin(rig_addhooks=_raise))])
    assert run.exit_code == 0, run.stderr
    line = next(line for line in run.stderr.splitlines() if "faulty" in line)
    assert "plugin 'faulty' failed to load: rig_addhooks raised ValueError: injected by the " \
           "test" in line


def test_a_plugin_whose_addoption_raises_fails_alone_and_leaves_no_option(
        rig_runner: RigRunner) -> None:
    def rig_addoption(parser: rig.OptionParser) -> None:
        parser.getgroup("faulty").addoption("--faulty-first")
        raise ValueError("injected by the test")

    run = rig_runner.run_on_server("--plugin", "basic", "--faulty-first", "x",
                                   plugins=[("faulty", make_plugin(rig_addoption=rig_addoption))])
    assert run.exit_code == 4
    assert "plugin 'faulty' failed to load: rig_addoption raised ValueError: injected by the " \
           "test" in run.stderr
    assert "unrecognized arguments: --faulty-first x" in run.stderr


def test_a_plugin_raising_a_usage_error_on_purpose_keeps_its_message(
        rig_runner: RigRunner) -> None:
    def rig_configure(config: rig.Config) -> None:
        raise rig.UsageError("the moon is not full", hint="wait a fortnight")

    run = rig_runner.run_on_server("--plugin", "basic,moon",
                                   plugins=[("moon", make_plugin(rig_configure=rig_configure))],
                                   report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: the moon is not full: wait a fortnight\n"
