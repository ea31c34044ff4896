"""``rig COMMAND ARGS...``: a subcommand a plugin added with ``rig_register_commands``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from rig.errors import RigError, UsageError
from rig.hookcall import failure
from rig.session.bootstrap import bootstrap, collect_commands, load_plugins
from rig.session.run import run_logging, run_terminal
from rig.subcommands import Invocation

HELP = ("-h", "--help")
"""rig's own help flags, which a command's arguments keep (they ask for its help)."""


def run_command(args: list[str], *, environ: Mapping[str, str],
                extra_plugins: Iterable[tuple[str, Any]], cwd: Path,
                stdout: TextIO, stderr: TextIO) -> int:
    """Run ``rig NAME ARGS...`` for a plugin's command ``NAME``; returns its exit code. rig's
    own options among ``ARGS`` (``-v``, ``-q``, ``--log-level``, ``-p no:NAME``, ``--config``…)
    are rig's: the command gets the others (and ``-h``)."""
    name, rest = args[0], args[1:]
    boot = bootstrap(rest, environ, cwd)
    if boot.error is not None:
        raise boot.error
    terminal = run_terminal(boot.options, stdout, stderr, environ)
    with run_logging(boot.options, terminal):
        registry = collect_commands(load_plugins(boot.options, extra_plugins))
        command = registry.get(name)
        if command is None:
            names = ", ".join(["plugins", *(c.name for c in registry)])
            raise UsageError(f"unknown command {name!r}; commands: {names}",
                             hint="options start with - (see rig --help)")
        own = boot.rest + [arg for arg in rest if arg in HELP]  # rig's options are rig's
        try:
            return int(command.run(Invocation(own, stdout, stderr, environ, cwd, terminal)))
        except RigError:
            raise
        except Exception as exc:
            raise failure(f"command {name!r}", command.plugin, exc) from exc
