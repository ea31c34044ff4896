"""How rig calls hooks (``rig.hookcall``), on a real pluggy plugin manager with rig's hooks:
``call_each`` (order, ``only``, ``before``, wrappers, one plugin failing alone), ``call``, and
the error that names the plugin and the hook."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pluggy
import pytest

import rig
from rig import hookspecs
from rig.db.resilience import DatabaseError
from rig.hookcall import PluginCall, blame, call, call_each, failure
from rig.testing import make_plugin


def manager(*plugins: tuple[str, Any]) -> pluggy.PluginManager:
    """A plugin manager with rig's hooks and ``plugins`` registered in order."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name, plugin in plugins:
        pm.register(plugin, name)
    return pm


def section(value: Any, log: list[str] | None = None, name: str = "") -> Any:
    """A plugin whose ``rig_report`` returns ``value`` (and notes its call in ``log``)."""
    def rig_report(result: Any) -> Any:
        if log is not None:
            log.append(f"call {name}")
        return value

    return make_plugin(rig_report=rig_report)


def summary(calls: list[PluginCall]) -> list[tuple[str, Any, str | None]]:
    return [(c.plugin, c.result, None if c.error is None else str(c.error)) for c in calls]


def test_call_each_calls_every_plugin_in_pluggy_order_with_its_own_result() -> None:
    @rig.hookimpl(tryfirst=True)
    def rig_report() -> Any:
        return {"first": True}

    pm = manager(("a", section({"a": 1})), ("b", section(None)),
                 ("c", make_plugin(rig_report=rig_report)))
    # tryfirst first, then the last registered first (pluggy's order)
    assert summary(call_each(pm, "rig_report", result=None, config=None)) == [
        ("c", {"first": True}, None), ("b", None, None), ("a", {"a": 1}, None)]


def test_call_each_order_only_and_before() -> None:
    log: list[str] = []
    pm = manager(*((name, section(name, log, name)) for name in ("a", "b", "c", "d")))
    calls = call_each(pm, "rig_report", order=["a", "c"],
                      before=lambda name: log.append(f"before {name}"), result=None, config=None)
    # the plugins not named keep pluggy's order, before those named, in the order given
    assert [c.plugin for c in calls] == ["d", "b", "a", "c"]
    assert [c.result for c in calls] == ["d", "b", "a", "c"]
    assert log == [f"{step} {name}" for name in ("d", "b", "a", "c")
                   for step in ("before", "call")]
    only = call_each(pm, "rig_report", only={"b", "c"}, order=["c", "b"], result=None,
                     config=None)
    assert [c.plugin for c in only] == ["c", "b"]


def test_wrappers_wrap_each_plugins_call_and_are_no_plugin_call_themselves() -> None:
    wrapped: list[str] = []

    @rig.hookimpl(wrapper=True)
    def new_style(result: Any) -> Generator[None, Any, Any]:
        sections = yield
        wrapped.append(f"new around {sections}")
        return [{**s, "wrapped": True} for s in sections]

    @rig.hookimpl(hookwrapper=True)
    def old_style(result: Any) -> Generator[None, Any, None]:
        outcome = yield
        wrapped.append(f"old around {outcome.get_result()}")

    pm = manager(("a", section({"a": 1})), ("wrapper", make_plugin(rig_report=new_style)),
                 ("b", section({"b": 2})), ("hookwrapper", make_plugin(rig_report=old_style)))
    calls = call_each(pm, "rig_report", result=None, config=None)
    assert summary(calls) == [("b", {"b": 2, "wrapped": True}, None),
                              ("a", {"a": 1, "wrapped": True}, None)]
    assert wrapped == ["new around [{'b': 2}]", "old around [{'b': 2, 'wrapped': True}]",
                       "new around [{'a': 1}]", "old around [{'a': 1, 'wrapped': True}]"]


def _fail_deep(message: str) -> None:
    raise ValueError(message)


def test_a_plugin_that_raises_fails_alone_and_is_named() -> None:
    def rig_report(result: Any) -> Any:
        _fail_deep("injected")  # the error comes from a helper, not the hook function itself

    pm = manager(("fine", section({"fine": 1})), ("bad", make_plugin(rig_report=rig_report)))
    calls = call_each(pm, "rig_report", result=None, config=None)
    assert [(c.plugin, c.result) for c in calls] == [("bad", None), ("fine", {"fine": 1})]
    error = calls[0].error
    assert isinstance(error, rig.PluginError)
    assert str(error).startswith(
        f"plugin 'bad' failed in rig_report: ValueError: injected (at {__file__}:")
    assert str(error).endswith("): run with -v for the traceback")
    assert error.exit_code == 3
    assert isinstance(error.__cause__, ValueError)
    assert calls[1].error is None


def test_a_wrapper_that_raises_is_blamed_not_the_plugin_it_wraps() -> None:
    @rig.hookimpl(wrapper=True)
    def rig_report(result: Any) -> Generator[None, Any, Any]:
        yield
        raise RuntimeError("the wrapper broke")

    pm = manager(("fine", section({"fine": 1})), ("wrapping", make_plugin(rig_report=rig_report)))
    [only] = call_each(pm, "rig_report", result=None, config=None)
    assert only.plugin == "fine"
    assert only.error is not None
    assert str(only.error).startswith("plugin 'wrapping' failed in rig_report: RuntimeError: "
                                      "the wrapper broke (at ")


def test_call_reaches_every_plugin_and_names_the_one_that_raised() -> None:
    def rig_report(result: Any) -> Any:
        _fail_deep("injected")

    pm = manager(("a", section({"a": 1})), ("b", section({"b": 2})))
    assert call(pm, "rig_report", result=None, config=None) == [{"b": 2}, {"a": 1}]
    pm.register(make_plugin(rig_report=rig_report), "bad")
    with pytest.raises(rig.PluginError) as failed:
        call(pm, "rig_report", result=None, config=None)
    assert str(failed.value).startswith("plugin 'bad' failed in rig_report: ValueError: injected")


def test_blame_finds_no_plugin_for_an_error_raised_outside_the_hooks() -> None:
    pm = manager(("a", section({"a": 1})))
    try:
        _fail_deep("not in a hook")
    except ValueError as exc:
        assert blame(pm.hook.rig_report, exc) is None


def test_failure_keeps_usage_and_connection_errors_as_the_plugin_raised_them() -> None:
    usage = rig.UsageError("the moon is not full", hint="wait")
    lost = rig.ConnectError("server gone")
    assert failure("rig_configure", "moon", usage) is usage
    assert failure("rig_configure", "moon", lost) is lost


def test_failure_of_a_rig_error_keeps_its_message_and_exit_code() -> None:
    import pymysql

    cause = DatabaseError(pymysql.err.OperationalError(2013, "Lost connection"),
                          operation="select")
    error = failure("rig_report", "x", cause)
    assert isinstance(error, rig.PluginError)
    assert str(error) == f"plugin 'x' failed in rig_report: {cause}: run with -v for the " \
                         "traceback"
    assert error.exit_code == 5
    assert error.__cause__ is cause


def test_failure_without_a_known_plugin_or_location() -> None:
    error = failure("rig_configure", None, KeyError("missing"))  # never raised: no traceback
    assert str(error) == "a plugin failed in rig_configure: KeyError: 'missing': run with -v " \
                         "for the traceback"
    assert error.exit_code == 3
