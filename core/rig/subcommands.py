"""Subcommands plugins add to ``rig`` (``rig consistency check FILE``), as datasette's
``register_commands`` does: a plugin's ``rig_register_commands`` adds them to a
:class:`CommandRegistry`; ``rig NAME ARGS...`` runs one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rig.errors import PluginError, UsageError
from rig.terminal import Terminal

RESERVED = ("plugins",)
"""Command names of rig itself."""


class ArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` for a subcommand: a bad argument raises
    :class:`rig.UsageError` (one ``rig: error:`` line, exit 4) instead of printing usage and
    exiting; ``-h``/``--help`` is added and prints to the invocation's stdout when the command
    calls :meth:`parse`."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False, **kwargs)
        self.add_argument("-h", "--help", action="store_true", help="show this help and exit")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """:meth:`argparse.ArgumentParser.add_argument`; a ``type=`` that raises
        ``ValueError`` has its reason shown (``--count: invalid value '0': must be a whole
        number of at least 1``), as rig's own options do."""
        convert = kwargs.get("type")
        if callable(convert):
            kwargs["type"] = _with_reason(convert)
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see {self.prog} --help")

    def parse(self, invocation: Invocation) -> argparse.Namespace | None:
        """The parsed arguments of ``invocation``; ``None`` after printing the help (the
        command then returns 0)."""
        if any(arg in ("-h", "--help") for arg in invocation.args):
            invocation.stdout.write(self.format_help())
            return None
        return self.parse_args(invocation.args)


def _with_reason(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: {exc or 'not accepted'}") from None

    return parse


@dataclass(frozen=True)
class Invocation:
    """One run of a subcommand: its arguments (after the command's name) and where it runs."""

    args: list[str]
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    cwd: Path
    terminal: Terminal


CommandFunction = Callable[[Invocation], int]
"""A subcommand: takes the :class:`Invocation`, returns the exit code."""


@dataclass(frozen=True)
class Command:
    """A subcommand, the plugin that added it and its one-line help."""

    name: str
    run: CommandFunction
    plugin: str
    help: str = ""


class CommandRegistry:
    """The subcommands of ``rig``; plugins add theirs in ``rig_register_commands``."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self.current_plugin = "rig"

    def add(self, name: str, run: CommandFunction, *, help: str = "") -> None:
        """Add ``rig NAME``: ``run(invocation)`` returns the exit code. ``name`` must be one
        word (letters, digits, ``-``), unique across plugins and not one of rig's own."""
        if not name or not name.replace("-", "").isalnum() or name.startswith("-"):
            raise PluginError(f"plugin {self.current_plugin} added a command with the bad name "
                              f"{name!r}", hint="use letters, digits and dashes")
        if name in RESERVED:
            raise PluginError(f"plugin {self.current_plugin} cannot add the command {name!r}: "
                              "it is rig's own", hint="name it after your plugin")
        if name in self._commands:
            other = self._commands[name].plugin
            raise PluginError(f"command {name!r} is added by both {other} and "
                              f"{self.current_plugin}", hint="name commands after their plugin")
        self._commands[name] = Command(name, run, self.current_plugin, help)

    def get(self, name: str) -> Command | None:
        """The command called ``name``, if any."""
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda command: command.name))
