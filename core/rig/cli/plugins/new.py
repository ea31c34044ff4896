"""``rig plugins new NAME [--dir DIR] [--dry-run]``: create a plugin package to start from."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TextIO

from rig.errors import ExitCode, UsageError
from rig.subcommands import ArgumentParser


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        "rig plugins new",
        description="Create DIR/rig-plugin-NAME/: a pyproject.toml with the rig.plugins entry "
        "point, a package rig_NAME with one state, one option and its hooks, a test that uses "
        "rig's test kit against a real server, and a README. Dashes in NAME become "
        "underscores in the package name. Nothing is ever overwritten.")
    parser.add_argument("name", metavar="NAME",
                        help="the plugin's name: what --plugin will take (e.g. acme, my-check)")
    parser.add_argument("--dir", type=Path, default=None, metavar="DIR",
                        help="where to create rig-plugin-NAME/ (default: the current directory)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the files that would be created, and write nothing")
    return parser


def new_command(args: list[str], *, cwd: Path, stdout: TextIO) -> int:
    """Run ``rig plugins new``."""
    from rig.cli.plugins.scaffold import PluginNames, plan, write
    from rig.host.discovery import installed_plugins

    parser = _parser()
    if any(arg in ("-h", "--help") for arg in args):
        print(parser.format_help(), file=stdout)
        return int(ExitCode.OK)
    options = parser.parse_args(args)
    names = PluginNames.parse(options.name)
    taken = {info.name: info for info in installed_plugins()}.get(names.entry_point)
    if taken is not None:
        raise UsageError(f"a plugin named {names.entry_point!r} is already installed "
                         f"({taken.distribution or taken.module})",
                         hint="choose another NAME; plugin names must be unique")
    directory = options.dir if options.dir is not None else Path(".")
    scaffold = plan(options.name, directory if directory.is_absolute() else cwd / directory)
    shown = directory / names.distribution
    if options.dry_run:
        print(f"would create {shown}/ (dry run, nothing written):", file=stdout)
    else:
        write(scaffold)
        print(f"created {shown}/:", file=stdout)
    for path in sorted(scaffold.files):
        print(f"  {path.relative_to(scaffold.root).as_posix()}", file=stdout)
    if not options.dry_run:
        # The test extra brings pytest: without it, ``pytest DIR`` fails in a fresh venv.
        target = shlex.quote(names.install_target(directory))
        print(f"next: pip install -e {target}   # the plugin, and pytest for its tests\n"
              f"      pytest {shlex.quote(shown.as_posix())}\n"
              f"      rig --plugin {names.entry_point} --host HOST:PORT --user USER\n"
              f"(rig plugins install -e {target} installs into rig's own Python)",
              file=stdout)
    return int(ExitCode.OK)
