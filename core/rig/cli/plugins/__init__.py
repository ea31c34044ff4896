"""``rig plugins``: list, create, install and uninstall plugins.

``rig plugins [--json]`` lists the installed plugins; ``new``, ``install`` and ``uninstall``
are subcommands, each in its own module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO


def plugins_command(args: list[str], *, environ: Mapping[str, str],
                    plugins: Iterable[tuple[str, Any]], cwd: Path,
                    stdout: TextIO, stderr: TextIO) -> int:
    """Run ``rig plugins ARGS``; returns the exit code."""
    subcommand, rest = (args[0], args[1:]) if args else ("", [])
    if subcommand == "new":
        from rig.cli.plugins.new import new_command

        return new_command(rest, cwd=cwd, stdout=stdout)
    if subcommand in ("install", "uninstall"):
        from rig.cli.plugins.manage import install_command, uninstall_command

        command = install_command if subcommand == "install" else uninstall_command
        return command(rest, cwd=cwd, stdout=stdout)
    from rig.cli.plugins.listing import list_command

    return list_command(args, environ=environ, plugins=plugins, stdout=stdout, stderr=stderr)

