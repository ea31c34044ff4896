"""The plugin host: discovery with stevedore, registration with pluggy, one record per plugin.

Plugins are entry points of the group ``rig.plugins``. Every installed plugin that is not
disabled is imported and registered, in name order; a plugin that fails to import or register
costs one error line and is recorded as failed, and the others keep working.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import pluggy
from loguru import logger

from rig import hookspecs
from rig.discovery import ENTRY_POINT_GROUP, PluginInfo, installed_plugins
from rig.discovery import normalize as _normalize
from rig.errors import PluginError, UsageError

DEFAULT_PLUGIN = "basic"


class PluginHost:
    """Finds, loads and registers plugins, and calls their hooks."""

    def __init__(self, *, disabled: Iterable[str] = (), strict: bool = False) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self._disabled = {_normalize(name) for name in disabled}
        self.infos: dict[str, PluginInfo] = {}

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``host.hook.rig_configure(config=...)``)."""
        return self.pm.hook

    def discover(self) -> None:
        """Record every installed plugin; the disabled ones are never imported."""
        for info in installed_plugins():
            if self.is_disabled(info):
                info.status = "disabled"
            self.infos[info.name] = info
        unknown = self._disabled - {
            _normalize(n) for i in self.infos.values() for n in (i.name, i.distribution or "")
        }
        for name in sorted(unknown):
            logger.warning("-p no:{0} / --disable-plugin {0}: no such plugin is installed", name)

    def is_disabled(self, info: PluginInfo) -> bool:
        """Whether ``info`` was disabled by entry-point or distribution name."""
        names = {_normalize(info.name)}
        if info.distribution:
            names.add(_normalize(info.distribution))
        return bool(names & self._disabled)

    def load(self) -> None:
        """Import and register every discovered plugin that is not disabled, in name order."""
        from stevedore import NamedExtensionManager

        wanted = sorted(n for n, i in self.infos.items() if i.status == "found")
        if not wanted:
            return
        # stevedore keeps entry points per process; plugins installed since (test kit,
        # library use) must be seen, so re-read them (its on-disk cache stays in use).
        NamedExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
        manager = NamedExtensionManager(
            ENTRY_POINT_GROUP, names=wanted, name_order=True, invoke_on_load=False,
            on_load_failure_callback=self._on_load_failure,
            on_missing_entrypoints_callback=self._on_missing,
        )
        for extension in manager:
            self.register(extension.name, extension.plugin, self.infos[extension.name])

    def _on_missing(self, names: Iterable[str]) -> None:
        for name in sorted(names):
            info = self.infos[name]
            if info.status == "found":
                self._fail(info, "its entry point could not be loaded")

    def _on_load_failure(self, _manager: Any, entry_point: Any, error: BaseException) -> None:
        info = self.infos.get(entry_point.name) or PluginInfo(entry_point.name)
        self._fail(info, f"{type(error).__name__}: {error}", error)

    def _fail(self, info: PluginInfo, cause: str, error: BaseException | None = None) -> None:
        info.status = "failed"
        info.error = cause
        fix = (f"reinstall it (pip install --force-reinstall {info.distribution}) or "
               if info.distribution else "")
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
        if info.plugin is not None and self.pm.is_registered(info.plugin):
            self.pm.unregister(info.plugin)
        info.plugin = None
        self._fail(info, cause, error)

    def register(self, name: str, plugin: Any, info: PluginInfo | None = None) -> PluginInfo:
        """Register ``plugin`` under ``name`` and let it add hookspecs (``rig_addhooks``); a
        plugin that fails pluggy's validation is recorded as failed and not registered.
        Unknown hooks are checked by :meth:`check_hooks` once every plugin is registered, so
        a plugin may implement hooks that a plugin registered after it defines."""
        if info is None:
            info = PluginInfo(name=name, module=getattr(plugin, "__name__", None))
        self.infos[name] = info
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(info, f"{type(exc).__name__}: {exc}", exc)
            return info
        info.status = "loaded"
        info.plugin = plugin
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        try:
            self.call_one(name, "rig_addhooks", pluginmanager=self.pm)
        except Exception as exc:
            self.pm.unregister(plugin)
            info.plugin = None
            self._fail(info, f"rig_addhooks raised {type(exc).__name__}: {exc}", exc)
        return info

    def check_hooks(self) -> None:
        """Reject every loaded plugin that implements a hook no spec defines (a typo, or a
        hook of a newer rig-core or of a plugin that is not installed)."""
        for info in self.loaded():
            unknown = [hook.name for hook in self.pm.get_hookcallers(info.plugin) or []
                       if hook.spec is None]
            if unknown:
                self.reject(info.name, f"implements unknown hook(s) {', '.join(unknown)} "
                            f"(it may need a newer rig-core than {_core_version()}, or a "
                            "plugin that defines them)")

    def loaded(self) -> list[PluginInfo]:
        """The loaded plugins, in name order."""
        return [i for i in sorted(self.infos.values(), key=lambda i: i.name)
                if i.status == "loaded"]

    def resolve(self, requested: Iterable[str]) -> list[str]:
        """Entry-point names of the requested plugins (by entry-point or distribution name),
        in the order asked, without repeats; unusable names are a clear error."""
        by_name: dict[str, PluginInfo] = {}
        for info in self.infos.values():
            by_name[_normalize(info.name)] = info
            if info.distribution:
                by_name.setdefault(_normalize(info.distribution), info)
        selected: list[str] = []
        for name in requested:
            found = by_name.get(_normalize(name))
            if found is None:
                raise UsageError(
                    f"unknown plugin {name!r}; installed: {self._installed_list()}",
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

    def _installed_list(self) -> str:
        names = [f"{i.name} ({i.status})" if i.status != "loaded" else i.name
                 for i in sorted(self.infos.values(), key=lambda i: i.name)]
        return ", ".join(names) or "none"

    def keep_only(self, selected: Iterable[str]) -> None:
        """Unregister every loaded plugin not in ``selected``: the later hooks reach only the
        plugins of this run."""
        keep = set(selected)
        for info in self.loaded():
            if info.name not in keep and info.plugin is not None:
                self.pm.unregister(info.plugin)

    def hookimpls(self, hook_name: str, plugin_names: Iterable[str] | None = None) -> list[Any]:
        """The implementations of ``hook_name``, one per plugin, in the order of
        ``plugin_names`` (default: registration order)."""
        caller = getattr(self.pm.hook, hook_name)
        impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        if plugin_names is None:
            return list(impls.values())
        return [impls[name] for name in plugin_names if name in impls]

    def call_one(self, plugin_name: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of ``hook_name`` (if it has one)."""
        for impl in self.hookimpls(hook_name, [plugin_name]):
            return impl.function(*[kwargs[arg] for arg in impl.argnames])
        return None


def _core_version() -> str:
    from rig import __version__

    return __version__
