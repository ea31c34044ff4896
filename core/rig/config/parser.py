"""The one adapter over ConfigArgParse: options with their owners, the command line, the
``RIG_*`` environment and the config file merged (command line > environment > file > default),
and where each value came from.

Only ConfigArgParse's and argparse's public APIs are used: options are recorded as they are
added (no walking of argparse's private action list), sources come from
``get_source_to_settings_dict()``, and the config file — read once, by
:class:`rig.config.files.ConfigFile` — reaches ConfigArgParse through its
``config_file_open_func`` and parser-class hooks.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import configargparse

from rig.config.files import ConfigEntry, ConfigFile, normalize_key
from rig.errors import ConfigError, PluginError, UsageError
from rig.secret import MASK
from rig.terminal import printable

ENV_PREFIX = "RIG_"
CORE_OWNER = "rig"
SOURCE_CLI = "command line"
SOURCE_DEFAULT = "default"
MAX_COUNT = 100
"""The largest count (``verbose = 3``) a config file may give an option like ``-v``."""
_FLAG_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")
"""What a config file may set a flag to (what ConfigArgParse understands)."""


@dataclass(frozen=True)
class OptionInfo:
    """One option: its flags, the plugin that added it, whether it is secret, and whether it is
    a *setting* (has an environment variable and a config key; ``--help`` and ``-p`` are not)."""

    dest: str
    flags: tuple[str, ...]
    owner: str
    secret: bool = False
    setting: bool = True
    metavar: str = "VALUE"
    """What the value looks like in ``--help`` (``N``, ``NAME=VALUE``)."""

    @property
    def name(self) -> str:
        """The option's long name without dashes, e.g. ``ping-count``."""
        longs = [flag for flag in self.flags if flag.startswith("--")]
        return (longs[0] if longs else self.flags[0]).lstrip("-")

    @property
    def flag(self) -> str:
        """The flag to show in messages: ``--ping-count``."""
        longs = [flag for flag in self.flags if flag.startswith("--")]
        return longs[0] if longs else self.flags[0]

    @property
    def env_var(self) -> str:
        """``RIG_PING_COUNT``."""
        return ENV_PREFIX + self.name.replace("-", "_").upper()


@dataclass(frozen=True)
class Parsed:
    """The outcome of :meth:`OptionParser.parse`."""

    namespace: argparse.Namespace
    sources: Mapping[str, str]
    """dest → ``command line``, ``env RIG_X``, ``config FILE`` or ``default``."""
    extra: list[str] = field(default_factory=list)
    """The arguments left unparsed (``partial`` parses only)."""


def _checked_type(convert: Callable[[str], Any] | None, secret: bool) -> Callable[[str], Any]:
    """The type of every option that takes a value: text that is not valid UTF-8 (bytes of
    another encoding on the command line or in the environment, which Python hands over as
    lone surrogates) is refused before ``convert`` sees it, and a ``ValueError`` of ``convert``
    becomes argparse's error with the value (``***`` when secret) and the reason."""

    def parse(text: str) -> Any:
        shown = MASK if secret else _shown(text)
        if not _is_utf8(text):
            raise argparse.ArgumentTypeError(
                f"invalid value {shown}: is not valid UTF-8: give it as UTF-8 text (check the "
                "locale it was typed in)")
        control = _CONTROL.search(str(text))
        if control:  # a NUL would be cut off or refused deep down (C strings, the OS)
            found = repr(control.group())[1:-1]
            raise argparse.ArgumentTypeError(
                f"invalid value {shown}: holds a control character ({found}): remove it")
        if convert is None:
            return text
        try:
            return convert(text)
        except (ValueError, TypeError) as exc:
            reason = str(exc) or "not accepted"
            raise argparse.ArgumentTypeError(f"invalid value {shown}: {reason}") from None

    return parse


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
"""What no option value may hold: control characters (tab excepted)."""


def _is_utf8(text: str) -> bool:
    try:
        str(text).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    """``text`` quoted for a message; bytes that are not UTF-8 shown as ``\\xff``."""
    return repr(text) if _is_utf8(text) else f"'{printable(str(text))}'"


class OptionGroup:
    """A titled group of options in ``rig --help``; plugins get theirs from
    :meth:`OptionParser.getgroup`."""

    def __init__(self, parser: OptionParser, group: Any, owner: str) -> None:
        self._parser = parser
        self._group = group
        self.owner = owner

    def addoption(self, *flags: str, secret: bool = False, setting: bool = True,
                  **kwargs: Any) -> None:
        """Add an option; takes the arguments of :meth:`argparse.ArgumentParser.add_argument`.

        ``type=`` callables should raise ``ValueError`` with a reason (see :mod:`rig.types`).
        ``secret=True`` masks the value as ``***`` in ``--print-config``, errors, logs and
        reports. ``setting=False`` makes a command-line-only option (no ``RIG_*`` variable,
        no config key, not in ``--print-config``).
        """
        self._parser.add(self._group, self.owner, flags, secret=secret, setting=setting,
                         kwargs=kwargs)


class _ArgParser(configargparse.ArgParser):  # type: ignore[misc]
    """ConfigArgParse's parser: errors raise :class:`ConfigError` with the value's source
    instead of printing usage and exiting; options that are not settings get no environment
    variable and no config key."""

    def __init__(self, adapter: OptionParser, **kwargs: Any) -> None:
        self.adapter = adapter
        super().__init__(**kwargs)

    def error(self, message: str) -> None:
        raise ConfigError(self.adapter.scrub(self.adapter.with_source(message)))

    def get_possible_config_keys(self, action: argparse.Action) -> list[str]:
        if action.dest in self.adapter.not_settings:
            return []
        keys: list[str] = super().get_possible_config_keys(action)
        return keys


class OptionParser:
    """The options of a run: rig's and those plugins add in ``rig_addoption``.

    :param config_file: the run's config file, already read (its values are merged here).
    """

    _argv: Sequence[str] = ()
    """The arguments of the last parse (for :meth:`scrub`)."""
    _environ: Mapping[str, str] = MappingProxyType({})
    """The ``RIG_*`` environment of the last parse (for :meth:`scrub`)."""

    def __init__(self, *, config_file: ConfigFile | None = None, description: str | None = None,
                 usage: str | None = None, epilog: str | None = None) -> None:
        self.config_file = config_file
        self.options: dict[str, OptionInfo] = {}
        self.not_settings: set[str] = set()
        self.current_owner = CORE_OWNER
        self._actions: dict[str, argparse.Action] = {}
        self._counts: set[str] = set()
        """Options that count (``-vv``): in the config file a whole number, or a flag."""
        self._groups: dict[str, OptionGroup] = {}
        adapter = self

        class TomlParser(configargparse.ConfigFileParser):  # type: ignore[misc]
            """Hands ConfigArgParse the config file's values (read once, mapped to options).
            (No syntax description: ConfigArgParse's help paragraph is off.)"""

            def parse(self, stream: Any) -> dict[str, str | list[str]]:
                return adapter.config_values()

        self._argparser = _ArgParser(
            self,
            description=description,
            usage=usage,
            epilog=epilog,
            add_help=False,
            auto_env_var_prefix=ENV_PREFIX,
            default_config_files=[str(config_file.path)] if config_file else [],
            config_file_parser_class=TomlParser,
            config_file_open_func=lambda path: io.StringIO(),
            ignore_unknown_config_file_keys=True,
            add_config_file_help=False,  # rig's epilog says it, with the config file too
            add_env_var_help=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )

    def getgroup(self, name: str, description: str = "") -> OptionGroup:
        """The option group titled ``name`` (created on first use), owned by the plugin whose
        ``rig_addoption`` is running."""
        key = f"{self.current_owner}:{name}"
        if key not in self._groups:
            group = self._argparser.add_argument_group(name, description or None)
            self._groups[key] = OptionGroup(self, group, self.current_owner)
        return self._groups[key]

    def addoption(self, *flags: str, secret: bool = False, setting: bool = True,
                  **kwargs: Any) -> None:
        """Add an option to the current plugin's own group (named after the plugin)."""
        self.getgroup(self.current_owner).addoption(*flags, secret=secret, setting=setting,
                                                    **kwargs)

    def add(self, group: Any, owner: str, flags: tuple[str, ...], *, secret: bool,
            setting: bool, kwargs: dict[str, Any]) -> None:
        """Add an option to ``group`` for ``owner`` (what :meth:`OptionGroup.addoption`
        does); ``setting=False`` gives it no environment variable and no config key."""
        taken = next((o for o in self.options.values() if set(o.flags) & set(flags)), None)
        if taken is not None:
            raise PluginError(
                f"plugin {owner} cannot add option {'/'.join(flags)}: plugin {taken.owner} "
                "already added it",
                hint=f"prefix {owner}'s options with its name (--{owner.replace('_', '-')}-…), "
                "as the plugin guide's naming rule says")
        try:
            action = group.add_argument(*flags, **kwargs)
        except (argparse.ArgumentError, ValueError, TypeError) as exc:
            raise PluginError(f"plugin {owner} cannot add option {'/'.join(flags)}: {exc}",
                              hint="check its add_argument arguments") from None
        if action.nargs != 0:  # it takes a value: through the checked type
            action.type = _checked_type(action.type, secret)
        metavar = action.metavar if isinstance(action.metavar, str) else "VALUE"
        info = OptionInfo(action.dest, tuple(flags), owner, secret, setting, metavar)
        self.options[action.dest] = info
        self._actions[action.dest] = action
        if not setting:
            self.not_settings.add(action.dest)
        if kwargs.get("action") == "count":
            self._counts.add(action.dest)

    def format_help(self) -> str:
        """The text of ``rig --help``."""
        text: str = self._argparser.format_help()
        return text

    def flags(self) -> list[str]:
        """Every flag of every option."""
        return [flag for info in self.options.values() for flag in info.flags]

    def _config_keys(self) -> dict[str, str]:
        """config key → dest of every setting."""
        return {info.name: dest for dest, info in self.options.items() if info.setting}

    def resolve_entry(self, entry: ConfigEntry) -> str:
        """The option key a config entry sets: in a plugin's table, the key with the plugin's
        prefix (``[load] duration`` → ``load-duration``) when that option exists, else the key
        as written."""
        if entry.table and entry.table != CORE_OWNER:
            prefixed = f"{entry.table.replace('_', '-')}-{entry.key}"
            if prefixed in self._config_keys():
                return prefixed
        return entry.key

    def config_values(self) -> dict[str, str | list[str]]:
        """The config file's values by option key; a key in a table wins over the same key at
        the top level."""
        if self.config_file is None:
            return {}
        values: dict[str, str | list[str]] = {}
        ordered = sorted(self.config_file.entries, key=lambda entry: entry.table is not None)
        for entry in ordered:
            values[self.resolve_entry(entry)] = entry.value
        return values

    def unknown_config_keys(self, plugin_names: Collection[str]) -> list[str]:
        """Warnings for config-file keys and tables that no option or plugin knows."""
        if self.config_file is None:
            return []
        known = self._config_keys()
        path = self.config_file.path
        warnings = [f"unknown key {entry.origin!r} in config file {path}"
                    for entry in self.config_file.entries
                    if self.resolve_entry(entry) not in known]
        warnings += [f"unknown table [{table}] in config file {path}: no plugin of that name "
                     "is loaded"
                     for table in self.config_file.tables
                     if table not in plugin_names and table != CORE_OWNER]
        return warnings

    def parse(self, argv: list[str], environ: Mapping[str, str], *,
              partial: bool = False) -> Parsed:
        """Parse ``argv`` with ``environ`` and the config file; leftover arguments are a
        :class:`UsageError` unless ``partial``."""
        env = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
        self._argv = list(argv)
        self._environ = env
        self._refuse_dashed_secret(argv)
        self._check_config_file()
        namespace, extra = self._argparser.parse_known_args(args=argv, env_vars=env)
        if extra and not partial:
            raise self._unknown_arguments(extra)
        found = self._argparser.get_source_to_settings_dict()
        return Parsed(namespace, {dest: self._source(dest, found) for dest in self.options},
                      extra)

    def _source(self, dest: str, found: Mapping[str, Any]) -> str:
        """Where ``dest``'s value came from, given ConfigArgParse's sources (``found``)."""
        action = self._actions[dest]
        for source, entries in found.items():
            if source == "environment_variables":
                for env_name, (env_action, _value) in entries.items():
                    if env_action is action:
                        return f"env {env_name}"
            elif source.startswith("config_file|"):
                for _key, (file_action, _value) in entries.items():
                    if file_action is action:
                        return f"config {source.split('|', 1)[1]}"
        if any(_names(arg, flag) for arg in _options_part(self._argv)
               for flag in action.option_strings):
            return SOURCE_CLI
        return SOURCE_DEFAULT

    def _refuse_dashed_secret(self, argv: Sequence[str]) -> None:
        """A secret option followed by an argument that starts with ``-`` and is no option
        (``--password -DashPw``): argparse would take it for options (``-D ashPw``) and put the
        rest of the secret where it is shown. Refused, without echoing it."""
        args = _options_part(argv)
        flags = set(self.flags())
        for info in self.options.values():
            if not info.secret:
                continue
            for index, arg in enumerate(args[:-1]):
                following = args[index + 1]
                if arg in info.flags and following.startswith("-") and following != "--" \
                        and following.partition("=")[0] not in flags:
                    raise UsageError(f"{arg} is followed by an argument that starts with '-' "
                                     "and is no option",
                                     hint=f"write a value that starts with '-' as {arg}=VALUE")

    def _check_config_file(self) -> None:
        """Refuse a config-file value the option it sets cannot take: a table for an option,
        a list for an option of one value, a flag set to something other than true or false
        (ConfigArgParse would say it without the file, or fail)."""
        if self.config_file is None:
            return
        keys = self._config_keys()
        path = self.config_file.path
        for table in self.config_file.tables:
            dest = keys.get(normalize_key(table))
            if dest is not None:
                info = self.options[dest]
                raise ConfigError(f"config file {path}: [{table}] is a table, but {info.flag} "
                                  "takes a value",
                                  hint=f"write {info.name} = {self._expected(dest)} at the top "
                                  "level")
        for entry in self.config_file.entries:
            dest = keys.get(self.resolve_entry(entry))
            if dest is None:
                continue
            action, info = self._actions[dest], self.options[dest]
            where = f"config file {path}: {entry.origin}"
            if isinstance(entry.value, list):
                if not _takes_list(action):
                    raise ConfigError(f"{where} is a list, but {info.flag} takes one value "
                                      f"({self._expected(dest)})",
                                      hint="write one value, without [ ]")
            elif dest in self._counts:
                if entry.value.lower() not in _FLAG_WORDS and not (
                        entry.value.isdigit() and int(entry.value) <= MAX_COUNT):
                    raise ConfigError(f"{where} = {entry.value}, but {info.flag} counts",
                                      hint=f"write {entry.key} = a whole number from 0 to "
                                      f"{MAX_COUNT}")
            elif action.nargs == 0 and entry.value.lower() not in _FLAG_WORDS:
                raise ConfigError(f"{where} = {entry.value}, but {info.flag} is a flag",
                                  hint=f"write {entry.key} = true or {entry.key} = false")

    def _expected(self, dest: str) -> str:
        """What option ``dest`` takes, for a message: ``true or false``, ``N``, ``FILE``."""
        return "true or false" if self._actions[dest].nargs == 0 else self.options[dest].metavar

    def with_source(self, message: str) -> str:
        """An argparse error message with ``(from SOURCE)`` for the option it names."""
        if not message.startswith("argument "):
            return message
        named = set(message[len("argument "):].partition(":")[0].split("/"))
        for dest, info in self.options.items():
            if named & set(info.flags):
                found = self._argparser.get_source_to_settings_dict()
                return f"{message} (from {self._source(dest, found)})"
        return message

    def _unknown_arguments(self, extra: list[str]) -> UsageError:
        first = extra[0].partition("=")[0]
        close = difflib.get_close_matches(first, self.flags(), cutoff=0.75)  # best first
        hint = f"did you mean {close[0]}?" if close else "see rig --help"
        return UsageError(self.scrub(f"unrecognized arguments: {' '.join(extra)}"), hint=hint)

    def _secret_values(self) -> set[str]:
        """Every value given to a secret option in the last parse: after its flag on the
        command line (also a value argparse took for an option, like ``-Zz``), in its
        environment variable, in the config file."""
        secrets = [info for info in self.options.values() if info.secret]
        values: set[str] = set()
        for info in secrets:
            for index, arg in enumerate(self._argv):
                if arg in info.flags and index + 1 < len(self._argv):
                    values.add(self._argv[index + 1])
                for flag in info.flags:
                    if arg.startswith(flag + "="):
                        values.add(arg[len(flag) + 1:])
            if info.env_var in self._environ:
                values.add(self._environ[info.env_var])
            if self.config_file is not None:
                for entry in self.config_file.entries:
                    if self.resolve_entry(entry) == info.name:
                        items = entry.value if isinstance(entry.value, list) else [entry.value]
                        values.update(items)
        return {value for value in values if value}

    def scrub(self, message: str) -> str:
        """``message`` with every secret value of the last parse replaced by ``***``."""
        for value in sorted(self._secret_values(), key=len, reverse=True):
            message = message.replace(value, MASK)
        return message


def _takes_list(action: argparse.Action) -> bool:
    """Whether a config-file list can set ``action`` (as ConfigArgParse decides it)."""
    return isinstance(action, argparse._AppendAction) or action.nargs in ("+", "*") or (
        isinstance(action.nargs, int) and action.nargs > 1)


def _options_part(argv: Sequence[str]) -> list[str]:
    """The arguments before ``--`` (after it, nothing is an option)."""
    args = list(argv)
    return args[:args.index("--")] if "--" in args else args


def _names(arg: str, flag: str) -> bool:
    """Whether command-line argument ``arg`` gives option ``flag``: ``--flag``,
    ``--flag=VALUE``, or a short ``-f`` with its value or other short flags attached
    (``-Dname``, ``-vv``)."""
    if arg == flag or arg.startswith(flag + "="):
        return True
    return len(flag) == 2 and not arg.startswith("--") and arg.startswith(flag)
