"""Phase one of every ``rig`` invocation, as pytest's ``_preparse``: the options needed before
any plugin loads (with the config file, read once), then the plugin host with the built-in,
installed and in-process plugins, then the full option parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from rig.builtin import BUILTINS, ESSENTIAL
from rig.config.files import ConfigFile, find_config_file
from rig.config.parser import OptionParser
from rig.errors import ConfigError, RigError, UsageError
from rig.hookcall import call_each
from rig.host.manager import PluginHost
from rig.session.options import add_bootstrap_options
from rig.subcommands import CommandRegistry

HELP_USAGE = """rig [--plugin NAME[,NAME]] [--host HOST[:PORT]] [--user USER] [options]
       rig --sandbox [options]
       rig COMMAND [ARGS]   (rig plugins [--json] | rig plugins new|install|uninstall ...)"""
HELP_DESCRIPTION = """Test TiDB, MySQL and MariaDB through workflows of states built from plugins.
Every run connects, identifies the server, then runs each selected plugin's states
(default plugin: basic, when installed) and reports."""
HELP_EPILOG = """configuration:
  Every setting also comes from the environment as RIG_<OPTION> (--basic-ping-count:
  RIG_BASIC_PING_COUNT) and from a TOML file (--config, ./rig.toml, ~/.config/rig/rig.toml).
  Precedence: command line > environment > config file > default; rig --print-config shows
  each value and its source.

exit codes:
  0 all checks passed   1 a check failed   2 interrupted   3 internal or plugin error
  4 usage or configuration error   5 cannot reach, log in to, or keep talking to the database
  6 undecided: nothing failed, but a check could not decide"""


@dataclass(frozen=True)
class Bootstrap:
    """What is known before any plugin loads."""

    options: argparse.Namespace
    config_file: ConfigFile | None
    error: ConfigError | None = None
    rest: list[str] = field(default_factory=list)
    """The arguments that are none of rig's bootstrap options (a subcommand's own)."""
    """A mistake in the arguments, left for the run's full parse (which meets it again) to
    report: before the plugins load, their secret options are unknown, so this message may
    quote a secret's value (``--acme-token -vS3cret``: "-v: ignored explicit argument
    'S3cret'"). The options are then the defaults. A subcommand raises it as it is."""


def bootstrap(args: list[str], environ: Mapping[str, str], cwd: Path) -> Bootstrap:
    """The bootstrap options of ``args`` (with the environment and the config file)."""
    probe = OptionParser()
    add_bootstrap_options(probe)
    error = None
    try:
        probe.parse(args, environ, partial=True)
    except ConfigError as exc:  # in the arguments: the environment's errors recur below
        args, error = [], exc
    explicit = probe.parse(args, environ, partial=True).namespace.config
    path = find_config_file(explicit, cwd, environ)
    config_file = ConfigFile.load(path) if path is not None else None
    parser = OptionParser(config_file=config_file)
    add_bootstrap_options(parser)
    parsed = parser.parse(args, environ, partial=True)
    return Bootstrap(parsed.namespace, config_file, error, parsed.extra)


def disabled_plugins(options: argparse.Namespace) -> list[str]:
    """Plugins disabled with ``-p no:NAME`` or ``--disable-plugin NAME``; an essential
    built-in among them is a usage error."""
    names = [name for group in (options.disable_plugin or []) for name in group]
    for directive in options.plugin_directives or []:
        if not directive.startswith("no:") or not directive[3:]:
            raise UsageError(f"-p {directive}: -p takes no:NAME to disable a plugin",
                             hint="to run a plugin use --plugin NAME")
        names.append(directive[3:])
    for name in names:
        if name in ESSENTIAL:
            raise UsageError(f"-p no:{name}: {name!r} is an essential built-in plugin (the "
                             "connection and the common states) and cannot be disabled",
                             hint=f"drop -p no:{name}")
    return names


def load_plugins(options: argparse.Namespace,
                 extra_plugins: Iterable[tuple[str, Any]] = ()) -> PluginHost:
    """The plugin host with the built-in plugins, every installed plugin that is not disabled,
    then the in-process ``extra_plugins`` (which replace installed plugins of the same name)."""
    host = PluginHost(disabled=disabled_plugins(options), strict=options.strict_plugins)
    host.register_builtins(BUILTINS)
    host.discover()
    host.load()
    for name, plugin in extra_plugins:
        if host.pm.has_plugin(name):
            host.pm.unregister(name=name)
        host.register(name, plugin)
    host.check_hooks()
    if options.verbose >= 2:
        host.trace()
    return host


def build_parser(host: PluginHost, config_file: ConfigFile | None) -> OptionParser:
    """The full parser: the bootstrap options and every loaded plugin's options, each plugin's
    in its own groups — the built-ins' first, then the others in name order, so that a clash is
    always the later plugin's. A plugin whose ``rig_addoption`` raises or clashes is rejected,
    and the parser is built again without it, so that none of its options remain."""
    while True:
        parser = OptionParser(config_file=config_file, description=HELP_DESCRIPTION,
                              usage=HELP_USAGE, epilog=HELP_EPILOG)
        add_bootstrap_options(parser)
        order = [info.name for info in sorted(host.loaded(), key=lambda i: not i.builtin)]
        calls = call_each(host.pm, "rig_addoption", order=order, parser=parser,
                          pluginmanager=host.pm, before=_owner_setter(parser))
        failed = [call for call in calls if call.error is not None]
        if not failed:
            break
        for call in failed:
            assert call.error is not None
            if host.infos[call.plugin].builtin:
                raise call.error
            cause = call.error.__cause__ or call.error
            reason = str(cause) if isinstance(cause, RigError) else \
                f"rig_addoption raised {type(cause).__name__}: {cause}"
            host.reject(call.plugin, reason, cause)
    for info in host.loaded():
        info.options = [option.flag for option in parser.options.values()
                        if option.owner == info.name]
    return parser


def _owner_setter(parser: OptionParser) -> Callable[[str], None]:
    def before(plugin: str) -> None:
        parser.current_owner = plugin

    return before


def collect_commands(host: PluginHost) -> CommandRegistry:
    """Every loaded plugin's subcommands (``rig_register_commands``); a plugin whose
    registration fails costs one error line and its commands."""
    registry = CommandRegistry()

    def before(plugin: str) -> None:
        registry.current_plugin = plugin

    order = [info.name for info in host.loaded()]
    for call in call_each(host.pm, "rig_register_commands", order=order, commands=registry,
                          before=before):
        if call.error is not None:
            logger.error(str(call.error))  # braces in it stay as they are
    return registry


def commands_help(registry: CommandRegistry) -> str:
    """The ``commands:`` section of ``rig --help``."""
    lines = ["commands:",
             "  plugins             list, create, install and uninstall plugins (rig plugins -h)"]
    lines += [f"  {command.name:<19} {command.help} ({command.plugin})" for command in registry]
    return "\n".join(lines)
