"""``rig plugins [--json] [--all]``: the installed plugins with their status and
contributions."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from rig import types
from rig.config.config import Config
from rig.engine.states import StateRegistry
from rig.errors import ExitCode
from rig.hookcall import call_each
from rig.session.bootstrap import build_parser, load_plugins
from rig.session.logs import RunLogging
from rig.subcommands import ArgumentParser
from rig.terminal import Terminal

SUBCOMMANDS = """\
subcommands:
  rig plugins new NAME [--dir DIR] [--dry-run]   create a plugin package to start from
  rig plugins install NAME|PATH ...              pip install into rig's own Python
  rig plugins uninstall NAME ...                 pip uninstall a plugin's distribution
"""


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        "rig plugins", epilog=SUBCOMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List installed rig plugins: name, distribution, version, "
        "status (loaded, disabled, failed: cause) and what each contributes.")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--all", action="store_true",
                        help="also list rig-core's built-in plugins")
    parser.add_argument("-p", dest="plugin_directives", action="append", default=[],
                        metavar="no:NAME", help="treat plugin NAME as disabled")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        type=types.comma_list, help="same as -p no:NAME")
    return parser


def list_command(args: list[str], *, environ: Mapping[str, str],
                 plugins: Iterable[tuple[str, Any]], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``rig plugins [--json] [--all]``."""
    parser = _parser()
    if any(arg in ("-h", "--help") for arg in args):
        print(parser.format_help(), file=stdout)
        return int(ExitCode.OK)
    options = parser.parse_args(args)
    options.strict_plugins = False
    options.verbose = 0
    terminal = Terminal(stdout, stderr, color="no", live=False, environ=environ)
    with RunLogging(level="CRITICAL" if options.json else "WARNING", terminal=terminal):
        host = load_plugins(options, plugins)
        full = build_parser(host, None)
        config = Config(full.parse([], {}), full, pluginmanager=host.pm, terminal=terminal,
                        environ=environ)
        for info in host.loaded(builtins=False):
            registry = StateRegistry()
            registry.current_plugin = info.name
            for call in call_each(host.pm, "rig_register_states", only=[info.name],
                                  registry=registry, config=config):
                if call.error is not None:
                    info.status, info.error = "failed", str(call.error)
            info.states = registry.states_of(info.name)
    infos = [i for i in sorted(host.infos.values(), key=lambda i: i.name)
             if options.all or not i.builtin]
    if options.json:
        print(json.dumps([info.as_json() for info in infos], indent=2), file=stdout)
        return int(ExitCode.OK)
    if not any(not info.builtin for info in infos):
        print("no rig plugins installed (pip install rig-plugin-basic)", file=stdout)
    for info in infos:
        status = f"failed: {info.error}" if info.status == "failed" else info.status
        origin = "(built-in)" if info.builtin else \
            f"{info.distribution or '(not installed)'} {info.version or ''}".rstrip()
        print(f"{info.name}  {origin}  {status}", file=stdout)
        for label, values in (("states", info.states), ("options", info.options),
                              ("hooks", info.hooks)):
            if values:
                print(f"    {label + ':':<9}{', '.join(values)}", file=stdout)
    return int(ExitCode.OK)
