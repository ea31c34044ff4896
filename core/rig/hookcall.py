"""Calling hooks: always through pluggy, so that wrappers, ``tryfirst``/``trylast`` and ``-vv``
tracing apply to every hook; a failure always names the plugin and the hook.

Two ways to call:

- :func:`call` makes one pluggy call reaching every implementation, as pytest does. When an
  implementation (or a wrapper) raises, the traceback tells which plugin it was.
- :func:`call_each` calls the hook once per implementing plugin, for the hooks whose results or
  side effects belong to one plugin (its options, its states, its report section): each call is
  a pluggy call restricted to that plugin plus every wrapper (``subset_hook_caller``), so a
  wrapper wraps each plugin's call, the order is pluggy's (``tryfirst`` first) unless the caller
  gives one, and a plugin that raises fails alone.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from rig.errors import ConnectError, PluginError, RigError, UsageError, code_location


def blame(caller: pluggy.HookCaller, exc: BaseException) -> str | None:
    """The plugin whose implementation of ``caller``'s hook raised ``exc``: the innermost
    frame of the traceback that runs one of the hook's implementations (wrappers included)."""
    owners = {impl.function.__code__: impl.plugin_name for impl in caller.get_hookimpls()}
    found = [owners[frame.f_code] for frame, _line in traceback.walk_tb(exc.__traceback__)
             if frame.f_code in owners]
    return found[-1] if found else None


def failure(hook_name: str, plugin: str | None, exc: BaseException) -> RigError:
    """The error for ``exc`` raised in ``plugin``'s ``hook_name``: a usage or connection error
    the plugin raised on purpose stays as it is; anything else becomes a :class:`PluginError`
    naming the plugin, the hook and the line, with the cause's exit code (3 unless it was a
    :class:`rig.RigError` with another)."""
    if isinstance(exc, (UsageError, ConnectError)):
        return exc
    who = f"plugin {plugin!r}" if plugin else "a plugin"
    cause = str(exc) if isinstance(exc, RigError) else f"{type(exc).__name__}: {exc}"
    where = code_location(exc)
    error = PluginError(f"{who} failed in {hook_name}: {cause}" + (f" (at {where})" if where
                                                                    else ""),
                        hint="run with -v for the traceback")
    if isinstance(exc, RigError):
        error.exit_code = exc.exit_code
    error.__cause__ = exc
    return error


def call(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """Call ``hook_name`` once, reaching every implementation; returns pluggy's result. What an
    implementation raises comes out as :func:`failure` describes."""
    caller: pluggy.HookCaller = getattr(pm.hook, hook_name)
    try:
        return caller(**kwargs)
    except Exception as exc:
        raise failure(hook_name, blame(caller, exc), exc) from exc


@dataclass(frozen=True)
class PluginCall:
    """One plugin's part of a :func:`call_each`: what it returned, or the error it raised."""

    plugin: str
    result: Any = None
    error: RigError | None = None


def call_each(pm: pluggy.PluginManager, hook_name: str, *, order: Sequence[str] = (),
              only: Collection[str] | None = None, before: Callable[[str], None] | None = None,
              **kwargs: Any) -> list[PluginCall]:
    """Call ``hook_name`` (not a ``firstresult`` hook: rig has none) once per implementing
    plugin, wrappers around each call.

    :param order: plugin names to call in this order, after the implementing plugins not named
        in it (which keep pluggy's order); empty for pluggy's order throughout.
    :param only: call only these plugins (default: every implementing plugin).
    :param before: called with each plugin's name just before its call (to attribute what the
        call adds, e.g. options, to that plugin).
    :returns: one :class:`PluginCall` per implementing plugin, in call order, with the value
        it returned; a failure is in ``error``, never raised (``KeyboardInterrupt`` excepted).
    """
    caller: pluggy.HookCaller = getattr(pm.hook, hook_name)
    impls = [impl for impl in reversed(caller.get_hookimpls())
             if not (impl.wrapper or impl.hookwrapper)
             and (only is None or impl.plugin_name in only)]
    rank = {name: index for index, name in enumerate(order)}
    impls = [impl for impl in impls if impl.plugin_name not in rank] + sorted(
        (impl for impl in impls if impl.plugin_name in rank),
        key=lambda impl: rank[impl.plugin_name])
    plugins = [impl.plugin for impl in caller.get_hookimpls()
               if not (impl.wrapper or impl.hookwrapper)]
    calls = []
    for impl in impls:
        subset = pm.subset_hook_caller(hook_name, [p for p in plugins if p is not impl.plugin])
        if before is not None:
            before(impl.plugin_name)
        try:
            results = subset(**kwargs)
        except Exception as exc:
            calls.append(PluginCall(impl.plugin_name,
                                    error=failure(hook_name, blame(caller, exc)
                                                  or impl.plugin_name, exc)))
            continue
        calls.append(PluginCall(impl.plugin_name, results[0] if results else None))
    return calls
