"""The settled configuration of a run, handed to every hook and handler."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from rig.config.parser import SOURCE_DEFAULT, OptionInfo, OptionParser, Parsed
from rig.data import DataStore
from rig.errors import ConfigError
from rig.secret import MASK, Secret
from rig.terminal import Terminal
from rig.timeline import Timeline


class Config:
    """The configuration of a run, handed to every hook.

    - option values: :meth:`getoption` (or ``config.option.NAME``), :meth:`source` says where a
      value came from, :meth:`invalid` and :meth:`require` report a value that is wrong or
      missing (exit 4);
    - ``pluginmanager`` and ``hook``: the run's pluggy plugin manager, to call hooks that plugins
      define (``config.hook.my_hook(...)``);
    - ``terminal``: the run's :class:`rig.Terminal`; ``timeline``: the run's
      :class:`rig.Timeline`;
    - ``selected_plugins``: the plugins of this run, in ``--plugin`` order;
    - ``stash``: a :class:`rig.DataStore` for what plugins keep for the whole run (under keys
      named after the plugin).
    """

    def __init__(
        self,
        parsed: Parsed,
        parser: OptionParser,
        *,
        pluginmanager: pluggy.PluginManager,
        terminal: Terminal,
        timeline: Timeline | None = None,
        selected_plugins: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.option = parsed.namespace
        self._sources = dict(parsed.sources)
        self._parser = parser
        self.config_file: Path | None = parser.config_file.path if parser.config_file else None
        self.pluginmanager = pluginmanager
        self.terminal = terminal
        self.timeline = timeline or Timeline()
        self.selected_plugins: list[str] = list(selected_plugins)
        self.environ: Mapping[str, str] = dict(environ if environ is not None else os.environ)
        self.stash = DataStore()
        self._routes: dict[tuple[str, int], tuple[str, int]] = {}

    def reroute(self, host: str, port: int, via_host: str, via_port: int) -> None:
        """Make the run's connections to ``host:port`` (a ``--host``, or the sandbox) connect to
        ``via_host:via_port`` instead — a proxy in front of the server. Call it in
        ``rig_configure``: the connections' settings are made after it. The server is still
        the one tested; only the address its connections dial changes."""
        self._routes[(host, port)] = (via_host, via_port)

    def route(self, host: str, port: int) -> tuple[str, int]:
        """Where connections to ``host:port`` dial: a :meth:`reroute` target, else itself."""
        return self._routes.get((host, port), (host, port))

    @property
    def hook(self) -> Any:
        """The pluggy hook relay: ``config.hook.load_workloads(config=config)``."""
        return self.pluginmanager.hook

    def getoption(self, name: str, default: Any = None) -> Any:
        """The value of option ``name`` (its dest, e.g. ``ping_count``), else ``default``."""
        return getattr(self.option, name.replace("-", "_").lstrip("_"), default)

    def source(self, name: str) -> str:
        """Where the value of ``name`` came from: ``command line``, ``env RIG_X``,
        ``config FILE`` or ``default``."""
        return self._sources.get(name.replace("-", "_"), SOURCE_DEFAULT)

    def _info(self, name: str) -> OptionInfo | None:
        return self._parser.options.get(name.replace("-", "_"))

    def invalid(self, name: str, reason: str) -> ConfigError:
        """A :class:`ConfigError` (exit 4) for option ``name``: its flag, value, source and
        ``reason``; an option that is not set is reported as such. Raise what it returns."""
        info = self._info(name)
        flag = info.flag if info else f"--{name.replace('_', '-')}"
        value = self.getoption(name)
        if value is None:
            return ConfigError(f"argument {flag}: not set: {reason}",
                               hint=self._how_to_set(info, flag))
        shown = MASK if (info and info.secret) or isinstance(value, Secret) else repr(value)
        return ConfigError(f"argument {flag}: invalid value {shown}: {reason}"
                           f" (from {self.source(name)})")

    def require(self, name: str) -> Any:
        """The value of option ``name``; a :class:`ConfigError` (exit 4) saying how to set it
        when it is not set. Call it in ``rig_configure`` for an option your plugin needs (an
        option added with ``required=True`` would break every run that does not select your
        plugin)."""
        value = self.getoption(name)
        if value is None:
            info = self._info(name)
            flag = info.flag if info else f"--{name.replace('_', '-')}"
            who = f" by plugin {info.owner}" if info else ""
            raise ConfigError(f"argument {flag} is required{who}",
                              hint=self._how_to_set(info, flag))
        return value

    @staticmethod
    def _how_to_set(info: OptionInfo | None, flag: str) -> str:
        if info is None or not info.setting:
            return f"give {flag}"
        return f"give {flag} {info.metavar}, set {info.env_var}, or {info.name} = ... in rig.toml"

    def option_infos(self) -> dict[str, OptionInfo]:
        """Every option of the run, by dest."""
        return dict(self._parser.options)

    def effective_settings(self) -> list[tuple[str, str, str, str]]:
        """``(name, value, source, plugin)`` for every setting, by name; secrets as ``***``."""
        rows = []
        settings = [(dest, info) for dest, info in self._parser.options.items() if info.setting]
        for dest, info in sorted(settings, key=lambda item: item[1].name):
            value = getattr(self.option, dest, None)
            if info.secret or isinstance(value, Secret):
                shown = MASK if value else "(none)"
            else:
                shown = _format_value(value)
            rows.append((info.name, shown, self.source(dest), info.owner))
        return rows

    def effective_lines(self) -> list[str]:
        """``name = value  # source`` for every setting, secrets as ``***``."""
        return [f"{name} = {shown}  # {source}"
                for name, shown, source, _owner in self.effective_settings()]


def _format_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_format_value(v) for v in value) or "(none)"
    return str(value)
