"""The plugin host: discovery with stevedore, registration with pluggy, one record per plugin.

Plugins are rig-core's built-in plugins and the entry points of the group ``rig.plugins``. Every
plugin that is not disabled is imported and registered — built-ins first, then installed ones in
name order, then in-process ones; a plugin that fails to import or register costs one error line
and is recorded as failed, and the others keep working.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import pluggy
from loguru import logger

from rig import hookspecs
from rig.errors import PluginError, UsageError
from rig.host.discovery import ENTRY_POINT_GROUP, PluginInfo, installed_plugins, normalize
from rig.version import __version__


class PluginHost:
    """Finds, loads, registers and selects the plugins of a run.

    :param disabled: entry-point or distribution names never to import (``-p no:NAME``).
    :param strict: a plugin that fails to load is an error (exit 3), not a warning.
    """

    def __init__(self, *, disabled: Iterable[str] = (), strict: bool = False) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.pm.hook.rig_addhooks.call_historic(kwargs={"pluginmanager": self.pm})
        self.strict = strict
        self._disabled = {normalize(name) for name in disabled}
        self.infos: dict[str, PluginInfo] = {}

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``host.hook.rig_configure(config=...)``)."""
        return self.pm.hook

    def register_builtins(self, builtins: Sequence[tuple[str, str]]) -> None:
        """Import and register rig-core's own plugins (``(name, module)`` pairs), unless
        disabled."""
        for name, module in builtins:
            info = PluginInfo(name, "rig-core", __version__, module, builtin=True)
            if self.is_disabled(info):
                info.status = "disabled"
                self.infos[name] = info
                continue
            self.register(name, importlib.import_module(module), info)

    def discover(self) -> None:
        """Record every installed plugin; the disabled ones are never imported."""
        for info in installed_plugins():
            if info.name in self.infos:
                continue  # a built-in's name: the built-in wins
            if self.is_disabled(info):
                info.status = "disabled"
            self.infos[info.name] = info
        unknown = self._disabled - {
            normalize(n) for i in self.infos.values() for n in (i.name, i.distribution) if n
        }
        for name in sorted(unknown):
            logger.warning("-p no:{0} / --disable-plugin {0}: no such plugin is installed", name)

    def is_disabled(self, info: PluginInfo) -> bool:
        """Whether ``info`` was disabled by entry-point or (for installed plugins)
        distribution name."""
        names = {normalize(info.name)}
        if info.distribution and not info.builtin:
            names.add(normalize(info.distribution))
        return bool(names & self._disabled)

    def load(self) -> None:
        """Import and register every discovered plugin that is not disabled, in name order.

        One stevedore manager per plugin: stevedore reports an import that fails to
        ``on_load_failure_callback`` — except an ``AssertionError``, which it lets through, and
        which must cost only that plugin too. (The names stevedore misses are exactly those
        that failed, so there is no ``on_missing_entrypoints_callback``: its default would log
        a second line for each.)"""
        for name in sorted(n for n, i in self.infos.items() if i.status == "found"):
            info = self.infos[name]
            try:
                manager = _extension_manager(
                    [info.entry_point], names=[name],
                    on_load_failure_callback=self._on_load_failure,
                    on_missing_entrypoints_callback=None,
                )
            except AssertionError as exc:
                self._fail(info, f"{type(exc).__name__}: {exc}", exc)
                continue
            for extension in manager:
                self.register(name, extension.plugin, info)

    def _on_load_failure(self, _manager: Any, entry_point: Any, error: BaseException) -> None:
        self._fail(self.infos[entry_point.name], f"{type(error).__name__}: {error}", error)

    def _fail(self, info: PluginInfo, cause: str, error: BaseException | None = None) -> None:
        cause = "; ".join(line.strip() for line in cause.splitlines())  # one line, always
        info.status = "failed"
        info.error = cause
        fix = (f"reinstall it (pip install --force-reinstall {info.distribution}) or "
               if info.distribution and not info.builtin else "")
        message = (f"plugin {info.label} failed to load: {cause}; "
                   f"fix: {fix}disable it with -p no:{info.name}")
        if self.strict:
            raise PluginError(message, hint="(--strict-plugins)")
        logger.error(message)
        if error is not None:
            logger.opt(exception=error).debug("traceback of plugin {}", info.name)

    def reject(self, name: str, cause: str, error: BaseException | None = None) -> None:
        """Unregister a loaded plugin that broke a rule after loading (e.g. an option clash),
        and record it as failed; the other plugins keep working."""
        info = self.infos[name]
        if self.pm.is_registered(info.plugin):
            self.pm.unregister(info.plugin)
        self._fail(info, cause, error)

    def register(self, name: str, plugin: Any, info: PluginInfo | None = None) -> PluginInfo:
        """Register ``plugin`` under ``name``; its ``rig_addhooks`` runs at once. A plugin that
        fails pluggy's validation or whose ``rig_addhooks`` raises is recorded as failed and
        left unregistered. Unknown hooks are checked by :meth:`check_hooks` once every plugin
        is registered, so a plugin may implement hooks that a plugin registered after it
        defines."""
        if info is None:
            info = PluginInfo(name=name, module=getattr(plugin, "__name__", None))
        self.infos[name] = info
        plugin = _hashable(plugin, name)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            raised_in = "rig_addhooks raised " if _raised_in(
                exc, getattr(plugin, "rig_addhooks", None)) else ""
            self._fail(info, f"{raised_in}{type(exc).__name__}: {exc}", exc)
            return info
        info.status = "loaded"
        info.plugin = plugin
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        return info

    def check_hooks(self) -> None:
        """Reject every loaded plugin that implements a hook no spec defines (a typo, or a
        hook of a newer rig-core or of a plugin that is not installed)."""
        for info in self.loaded():
            unknown = [hook.name for hook in self.pm.get_hookcallers(info.plugin) or []
                       if not hook.has_spec() and not all(
                           impl.optionalhook for impl in hook.get_hookimpls()
                           if impl.plugin is info.plugin)]
            if unknown:
                self.reject(info.name, f"implements unknown hook(s) {', '.join(unknown)} "
                            f"(it may need a newer rig-core than {__version__}, or a "
                            "plugin that defines them)")

    def loaded(self, *, builtins: bool = True) -> list[PluginInfo]:
        """The loaded plugins, in name order (built-ins included unless ``builtins=False``)."""
        return [i for i in sorted(self.infos.values(), key=lambda i: i.name)
                if i.status == "loaded" and (builtins or not i.builtin)]

    def installed(self) -> list[str]:
        """The names of the plugins that are not built-in, with their status when not
        loaded."""
        return [f"{i.name} ({i.status})" if i.status != "loaded" else i.name
                for i in sorted(self.infos.values(), key=lambda i: i.name) if not i.builtin]

    def resolve(self, requested: Iterable[str]) -> list[str]:
        """Entry-point names of the requested plugins (by entry-point or distribution name),
        in the order asked, without repeats; unusable names are a clear error."""
        by_name: dict[str, PluginInfo] = {}
        for info in self.infos.values():
            if info.builtin:
                continue
            by_name[normalize(info.name)] = info
            if info.distribution:
                by_name.setdefault(normalize(info.distribution), info)
        selected: list[str] = []
        for name in requested:
            found = by_name.get(normalize(name))
            if found is None:
                builtin = self.infos.get(name)
                if builtin is not None and builtin.builtin:
                    raise UsageError(f"{name!r} is one of rig's built-in plugins, always active",
                                     hint="--plugin selects an installed plugin; see "
                                     "rig plugins")
                raise UsageError(
                    f"unknown plugin {name!r}; installed: {', '.join(self.installed()) or 'none'}",
                    hint=f"install it into rig's Python ({sys.executable} -m pip install ...) "
                    "or see 'rig plugins'",
                )
            if found.status == "disabled":
                raise UsageError(f"plugin {found.label} is selected but disabled",
                                 hint=f"drop -p no:{found.name} / --disable-plugin")
            if found.status != "loaded":
                raise PluginError(f"plugin {found.label} is selected but failed to load: "
                                  f"{found.error}", hint="see 'rig plugins'")
            if found.name not in selected:
                selected.append(found.name)
        return selected

    def keep_only(self, selected: Iterable[str]) -> None:
        """Unregister every loaded plugin that is neither built-in nor in ``selected``: the
        later hooks reach only the plugins of this run. (``infos`` keeps describing what
        loaded; the run's plugins are ``config.selected_plugins``.)"""
        keep = set(selected)
        for info in self.loaded():
            if not info.builtin and info.name not in keep:
                self.pm.unregister(info.plugin)

    def trace(self) -> None:
        """Log every hook call, with the plugins it reaches, at TRACE (``-vv``)."""

        def before(hook_name: str, hook_impls: Sequence[pluggy.HookImpl],
                   kwargs: Any) -> None:
            logger.trace("hook {} → {}", hook_name, [impl.plugin_name for impl in hook_impls])

        def after(outcome: pluggy.Result[Any], hook_name: str,
                  hook_impls: Sequence[pluggy.HookImpl], kwargs: Any) -> None:
            failed = f" (raised {type(outcome.exception).__name__})" if outcome.exception \
                else ""
            logger.trace("hook {} done{}", hook_name, failed)

        self.pm.add_hookcall_monitoring(before, after)


def _extension_manager(entry_points: list[Any], **kwargs: Any) -> Any:
    """stevedore's ``NamedExtensionManager`` over the entry points discovery found: stevedore
    imports them (failure callbacks; not invoked on load), while the list is read fresh each
    run, so a plugin installed after the process started — by ``rig plugins install`` in a
    long-lived program, or by a test — is seen without touching stevedore's caches."""
    from stevedore import NamedExtensionManager

    class Manager(NamedExtensionManager):  # type: ignore[type-arg]
        def list_entry_points(self) -> list[Any]:
            return entry_points

    return Manager(ENTRY_POINT_GROUP, **kwargs)


def _raised_in(exc: BaseException, function: Any) -> bool:
    """Whether ``function`` (a plugin's hook implementation) is on ``exc``'s traceback."""
    code = getattr(function, "__code__", None)
    tb = exc.__traceback__
    while tb is not None:
        if code is not None and tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _hashable(plugin: Any, name: str) -> Any:
    """``plugin``, or — when it cannot be hashed, like a ``types.SimpleNamespace`` — a module
    holding its attributes: pluggy keeps plugins in sets when it calls a hook for a subset of
    them."""
    if isinstance(plugin, Hashable):
        return plugin
    module = types.ModuleType(name)
    for attribute in dir(plugin):
        if not attribute.startswith("__"):
            setattr(module, attribute, getattr(plugin, attribute))
    return module
