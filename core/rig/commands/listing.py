"""``rig plugins [--json]``: list the installed plugins with their status and contributions."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from rig.commands.parsing import SubcommandParser
from rig.errors import ExitCode

SUBCOMMANDS = """\
subcommands:
  rig plugins new NAME [--dir DIR] [--dry-run]   create a plugin package to start from
  rig plugins install NAME|PATH ...              pip install into rig's own Python
  rig plugins uninstall NAME ...                 pip uninstall a plugin's distribution
"""


def _parser() -> argparse.ArgumentParser:
    parser = SubcommandParser(
        prog="rig plugins", epilog=SUBCOMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List installed rig plugins: name, distribution, version, "
        "status (loaded, disabled, failed: cause) and what each contributes.")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("-p", dest="plugin_directives", action="append", default=[],
                        metavar="no:NAME", help="treat plugin NAME as disabled")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        type=lambda s: [p for p in s.split(",") if p], help="same as -p no:NAME")
    parser.add_argument("-h", "--help", action="help", help="show this help and exit")
    return parser


def list_command(args: list[str], *, environ: Mapping[str, str],
                 plugins: Iterable[tuple[str, Any]], stdout: TextIO, stderr: TextIO) -> int:
    """Run ``rig plugins [--json]``."""
    from rig.config import Config
    from rig.log import configure_logging
    from rig.session import build_parser, load_plugins
    from rig.states import StateRegistry

    parser = _parser()
    if any(arg in ("-h", "--help") for arg in args):
        print(parser.format_help(), file=stdout)
        return int(ExitCode.OK)
    options = parser.parse_args(args)
    options.strict_plugins = False
    configure_logging(level="WARNING" if not options.json else "CRITICAL", stream=stderr)
    host = load_plugins(options, plugins)
    full = build_parser(host, None)
    namespace, sources, _extra = full.parse([], {})
    config = Config(namespace, sources, full, environ=environ)
    for info in host.loaded():
        registry = StateRegistry()
        registry.current_plugin = info.name
        try:
            host.call_one(info.name, "rig_register_states", registry=registry, config=config)
        except Exception as exc:
            info.status, info.error = "failed", f"rig_register_states raised {exc}"
        info.states = registry.states_of(info.name)
    infos = sorted(host.infos.values(), key=lambda i: i.name)
    if options.json:
        print(json.dumps([info.as_json() for info in infos], indent=2), file=stdout)
        return int(ExitCode.OK)
    if not infos:
        print("no rig plugins installed (pip install rig-plugin-basic)", file=stdout)
    for info in infos:
        status = f"failed: {info.error}" if info.status == "failed" else info.status
        print(f"{info.name}  {info.distribution or '(not installed)'} {info.version or ''}  "
              f"{status}".replace("  ", "  ", 1), file=stdout)
        for label, values in (("states", info.states), ("options", info.options),
                              ("hooks", info.hooks)):
            if values:
                print(f"    {label + ':':<9}{', '.join(values)}", file=stdout)
    return int(ExitCode.OK)
