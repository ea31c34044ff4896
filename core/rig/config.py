"""Options, their sources and the run's :class:`Config`.

Every option, the core's and every plugin's, comes from the command line, the environment
(``RIG_<OPTION>``), a TOML config file or its default, in that order of precedence
(configargparse does the merging). rig records where each value came from, so that
``--print-config`` can show it and a bad value is reported with its source.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import configargparse

from rig.errors import ConfigError, PluginError, UsageError
from rig.secret import MASK, Secret

CONFIG_FILE_NAME = "rig.toml"
ENV_PREFIX = "RIG_"
CORE_OWNER = "rig"

_SOURCE_CLI = "command line"
_SOURCE_DEFAULT = "default"


def find_config_file(explicit: str | None, cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The config file of a run: ``--config FILE``, else ``./rig.toml``, else the user's
    ``$XDG_CONFIG_HOME/rig/rig.toml`` (``~/.config/rig/rig.toml``), else none."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} not found", hint="check --config or RIG_CONFIG")
        return path
    local = cwd / CONFIG_FILE_NAME
    if local.is_file():
        return local
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    user = Path(base).expanduser() / "rig" / CONFIG_FILE_NAME
    return user if user.is_file() else None


def _normalize_key(key: str) -> str:
    return key.strip().lstrip("-").replace("_", "-").lower()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class ConfigFile:
    """A parsed config file: top-level keys and plugin tables flattened to option keys."""

    path: Path
    values: dict[str, str | list[str]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    """flattened key → where it was written (``key`` or ``[table] key``)."""
    tables: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        """Read and flatten ``path``; a missing, unreadable or malformed file is a ConfigError
        naming the file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path} is not UTF-8 text") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not valid TOML ({exc})", hint="fix the syntax"
            ) from None
        parsed = cls(path)
        for key, value in data.items():
            if isinstance(value, dict):
                parsed.tables.append(key)
                for sub_key, sub_value in value.items():
                    parsed._add(sub_key, sub_value, f"[{key}] {sub_key}")
            else:
                parsed._add(key, value, key)
        return parsed

    def _add(self, key: str, value: Any, origin: str) -> None:
        if isinstance(value, dict):
            raise ConfigError(
                f"config file {self.path}: {origin} is a table nested too deep",
                hint="options sit at the top level or in a table named after their plugin",
            )
        normalized = _normalize_key(key)
        self.values[normalized] = (
            [_scalar(item) for item in value] if isinstance(value, list) else _scalar(value)
        )
        self.origins[normalized] = origin


def _toml_parser_class() -> type[configargparse.ConfigFileParser]:
    class TomlConfigFileParser(configargparse.ConfigFileParser):  # type: ignore[misc]
        """Hands configargparse the flattened keys of rig's TOML config file."""

        def get_syntax_description(self) -> str:
            return "TOML: top-level keys, or keys in a table named after the plugin"

        def parse(self, stream: Any) -> dict[str, str | list[str]]:
            return ConfigFile.load(Path(stream.name)).values

    return TomlConfigFileParser


@dataclass(frozen=True)
class OptionInfo:
    """What rig knows about one option: its flags, the plugin that added it, whether secret."""

    dest: str
    flags: tuple[str, ...]
    owner: str
    secret: bool

    @property
    def name(self) -> str:
        """The option's long name without dashes, e.g. ``ping-count``."""
        longs = [flag for flag in self.flags if flag.startswith("--")]
        return (longs[0] if longs else self.flags[0]).lstrip("-")


def _checked_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Turn a type's ValueError into argparse's error with the value and the reason."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except (ValueError, TypeError) as exc:
            reason = str(exc) or "not accepted"
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {reason}") from None

    return parse


class _ArgParser(configargparse.ArgParser):  # type: ignore[misc]
    """configargparse's parser, raising :class:`ConfigError` with the value's source instead
    of printing usage and exiting."""

    def error(self, message: str) -> None:
        source = self._source_of_message(message)
        raise ConfigError(f"{message}{f' (from {source})' if source else ''}")

    def _source_of_message(self, message: str) -> str | None:
        match = re.match(r"argument ([^:]+):", message)
        if not match:
            return None
        flags = set(match.group(1).split("/"))
        action = next((a for a in self._actions if flags & set(a.option_strings)), None)
        if action is None:
            return None
        return describe_source(self, action, None)


def describe_source(parser: Any, action: argparse.Action, argv: list[str] | None) -> str:
    """Where ``action``'s value came from in the last parse: ``command line``,
    ``env RIG_X``, ``config FILE`` or ``default``."""
    settings = getattr(parser, "_source_to_settings", {}) or {}
    for source, entries in settings.items():
        if source == "environment_variables":
            for env_name, (env_action, _value) in entries.items():
                if env_action is action:
                    return f"env {env_name}"
        elif source.startswith("config_file|"):
            for _key, (file_action, _value) in entries.items():
                if file_action is action:
                    return f"config {source.split('|', 1)[1]}"
    cli = settings.get("command_line", {}).get("", (None, []))[1]
    if argv is None or configargparse.already_on_command_line(
        list(cli), action.option_strings, "-"
    ):
        return _SOURCE_CLI
    return _SOURCE_DEFAULT


class OptionGroup:
    """A titled group of options in ``rig --help``; plugins get theirs from
    :meth:`OptionParser.getgroup`."""

    def __init__(self, parser: OptionParser, group: Any, owner: str) -> None:
        self._parser = parser
        self._group = group
        self.owner = owner

    def addoption(self, *flags: str, secret: bool = False, **kwargs: Any) -> None:
        """Add an option; takes the arguments of :meth:`argparse.ArgumentParser.add_argument`.

        ``type=`` callables should raise ``ValueError`` with a reason (see :mod:`rig.types`).
        ``secret=True`` masks the value as ``***`` in ``--print-config``, logs and reports.
        """
        self._parser._add(self._group, self.owner, flags, secret, kwargs)


class OptionParser:
    """The parser of a run: the core's options plus those plugins add in ``rig_addoption``."""

    def __init__(self, *, config_file: Path | None, description: str = "",
                 usage: str | None = None, epilog: str | None = None) -> None:
        self.config_file = config_file
        self._argparser = _ArgParser(
            prog="rig",
            description=description,
            usage=usage,
            epilog=epilog,
            add_help=False,
            auto_env_var_prefix=ENV_PREFIX,
            default_config_files=[str(config_file)] if config_file else [],
            config_file_parser_class=_toml_parser_class(),
            ignore_unknown_config_file_keys=True,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        self._groups: dict[str, OptionGroup] = {}
        self.options: dict[str, OptionInfo] = {}
        self.current_owner = CORE_OWNER

    def getgroup(self, name: str, description: str = "") -> OptionGroup:
        """The option group titled ``name`` (created on first use), owned by the plugin whose
        ``rig_addoption`` is running."""
        key = f"{self.current_owner}:{name}"
        if key not in self._groups:
            group = self._argparser.add_argument_group(name, description or None)
            self._groups[key] = OptionGroup(self, group, self.current_owner)
        return self._groups[key]

    def addoption(self, *flags: str, secret: bool = False, **kwargs: Any) -> None:
        """Add an option to the current plugin's own group (named after the plugin)."""
        self.getgroup(self.current_owner).addoption(*flags, secret=secret, **kwargs)

    def _add(
        self, group: Any, owner: str, flags: tuple[str, ...], secret: bool, kwargs: dict[str, Any]
    ) -> None:
        if "type" in kwargs:
            kwargs["type"] = _checked_type(kwargs["type"])
        try:
            action = group.add_argument(*flags, **kwargs)
        except argparse.ArgumentError as exc:
            existing = next(
                (o for o in self.options.values() if set(o.flags) & set(flags)), None
            )
            other = f" already added by {existing.owner}" if existing else ""
            raise PluginError(
                f"plugin {owner} cannot add option {'/'.join(flags)}{other}: {exc}"
            ) from None
        self.options[action.dest] = OptionInfo(action.dest, tuple(flags), owner, secret)

    def format_help(self) -> str:
        """The text of ``rig --help``."""
        text: str = self._argparser.format_help()
        return text

    def known_config_keys(self) -> set[str]:
        """Every key a config file may set (option names without dashes)."""
        keys: set[str] = set()
        for action in self._argparser._actions:
            keys.update(_normalize_key(k) for k in self._argparser.get_possible_config_keys(action))
        return keys

    def parse(
        self, argv: list[str], environ: Mapping[str, str], *, partial: bool = False
    ) -> tuple[argparse.Namespace, dict[str, str], list[str]]:
        """Parse ``argv`` with ``environ`` and the config file.

        :returns: the namespace, each dest's source, and the arguments left over (only when
            ``partial``; otherwise leftovers are a :class:`UsageError`).
        """
        env = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
        namespace, extra = self._argparser.parse_known_args(args=argv, env_vars=env)
        if extra and not partial:
            raise self._unknown_arguments(extra)
        sources = {
            action.dest: describe_source(self._argparser, action, argv)
            for action in self._argparser._actions
            if action.dest != argparse.SUPPRESS
        }
        return namespace, sources, extra

    def _unknown_arguments(self, extra: list[str]) -> UsageError:
        flags = [f for a in self._argparser._actions for f in a.option_strings]
        first = extra[0].split("=", 1)[0]
        close = difflib.get_close_matches(first, flags, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "see rig --help"
        return UsageError(f"unrecognized arguments: {' '.join(extra)}", hint=hint)


class Config:
    """The settled configuration of a run, handed to every hook.

    Read option values with :meth:`getoption` (or ``config.option.NAME``); ask where a value came
    from with :meth:`source`; report a value that is wrong with :meth:`invalid`.
    """

    def __init__(
        self,
        option: argparse.Namespace,
        sources: Mapping[str, str],
        parser: OptionParser,
        *,
        selected_plugins: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.option = option
        self._sources = dict(sources)
        self._parser = parser
        self.config_file = parser.config_file
        self.selected_plugins: list[str] = list(selected_plugins)
        self.environ: Mapping[str, str] = dict(environ if environ is not None else os.environ)

    def getoption(self, name: str, default: Any = None) -> Any:
        """The value of option ``name`` (its dest, e.g. ``ping_count``), else ``default``."""
        return getattr(self.option, name.replace("-", "_").lstrip("_"), default)

    def source(self, name: str) -> str:
        """Where the value of ``name`` came from: ``command line``, ``env RIG_X``,
        ``config FILE`` or ``default``."""
        return self._sources.get(name.replace("-", "_"), _SOURCE_DEFAULT)

    def invalid(self, name: str, reason: str) -> ConfigError:
        """A :class:`ConfigError` for option ``name``: its flag, value, source and ``reason``.
        Raise what it returns."""
        dest = name.replace("-", "_")
        info = self._parser.options.get(dest)
        flag = f"--{info.name}" if info else f"--{name}"
        value = self.getoption(dest)
        shown = MASK if info and info.secret else value
        return ConfigError(f"argument {flag}: invalid value {shown!r}: {reason}"
                           f" (from {self.source(dest)})")

    def option_infos(self) -> dict[str, OptionInfo]:
        """Every option of the run, by dest."""
        return dict(self._parser.options)

    def effective_lines(self) -> list[str]:
        """``name = value  # source`` for every option, secrets as ``***``."""
        lines = []
        for dest, info in sorted(self._parser.options.items(), key=lambda kv: kv[1].name):
            value = getattr(self.option, dest, None)
            if info.secret or isinstance(value, Secret):
                shown = MASK if value else "(none)"
            else:
                shown = _format_value(value)
            lines.append(f"{info.name} = {shown}  # {self.source(dest)}")
        return lines

    def unknown_config_keys(self, plugin_names: Collection[str]) -> list[str]:
        """Warnings for config-file keys and tables that no option or plugin knows."""
        if self.config_file is None:
            return []
        parsed = ConfigFile.load(self.config_file)
        known = self._parser.known_config_keys()
        warnings = [
            f"unknown key {parsed.origins[key]!r} in config file {self.config_file}"
            for key in parsed.values
            if key not in known
        ]
        warnings += [
            f"unknown table [{table}] in config file {self.config_file}: "
            "no plugin of that name is loaded"
            for table in parsed.tables
            if table not in plugin_names and table != CORE_OWNER
        ]
        return warnings


def _format_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_format_value(v) for v in value) or "(none)"
    return str(value)
