"""The run's terminal: what a person reads while rig runs and when it ends.

One :class:`Terminal` per run, shared by the core and every plugin (``config.terminal``,
``ctx.terminal``). It writes to the run's own streams (``rig.run(stdout=..., stderr=...)``), so a
program that drives rig, or a test, sees everything; it keeps one *live block* (progress lines
rewritten in place) at the bottom of stderr when stderr is a terminal, and writes every other
line and every log line above it; it colours text only when asked or when the stream is a
terminal and ``NO_COLOR`` is unset.

Text reaches a person only through :func:`printable`: a table name, a statement of another
session or a value a user typed cannot move the cursor, set the window title, clear the screen or
forge a line — its control characters are shown escaped (``\x1b``, ``\n``).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import TextIO

COLOR_MODES = ("auto", "yes", "no")
_CLEAR_LINE = "\r\x1b[2K"
_UP = "\x1b[1A"
_STYLES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36",
           "bold": "1", "dim": "2"}
DEFAULT_WIDTH = 80


_CONTROL = re.compile(
    "\x1b\\[[0-9;]*m|[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""An SGR colour sequence (kept where colour is allowed), or a character that is shown escaped:
C0 controls but tab, DEL, C1 controls (``\x9b`` is a CSI on some terminals), the
bidirectional overrides that make text read other than it is, and lone surrogates (bytes that
were not UTF-8 in an argument or a variable: no stream can write them as they are)."""
_NAMED = {"\n": "\\n", "\r": "\\r"}


def printable(text: str, *, colour: bool = False) -> str:
    """``text`` as one safe line: control characters (newlines included) escaped as ``\n``,
    ``\r``, ``\x1b``, ``\u202e``; tabs kept. With ``colour``, SGR colour sequences (what
    :meth:`Terminal.style` makes) are kept too: they change colours, never the cursor."""

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) > 1:  # an SGR sequence
            return found if colour else "\\x1b" + found[1:]
        if found in _NAMED:
            return _NAMED[found]
        if 0xDC80 <= ord(found) <= 0xDCFF:  # the byte surrogateescape stands for
            return f"\\x{ord(found) - 0xDC00:02x}"
        return f"\\x{ord(found):02x}" if ord(found) < 0x100 else f"\\u{ord(found):04x}"

    return _CONTROL.sub(escape, text)


def isatty(stream: object) -> bool:
    """Whether ``stream`` is a terminal (a closed or fake stream is not)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


class Terminal:
    """Lines for a person on the run's stdout and stderr, a live block on a terminal, colour.

    Thread-safe: every connection of a run may write at once.

    :param out: where summaries go (the run's stdout).
    :param err: where logs, errors and the live block go (the run's stderr).
    :param color: ``auto`` (a terminal without ``NO_COLOR``), ``yes`` or ``no``.
    :param live: whether a live block may be shown at all (rig turns it off with ``-q``, a
        JSON log or an explicit ``--log-level``, where log lines are the better record).
    """

    def __init__(self, out: TextIO, err: TextIO, *, color: str = "auto", live: bool = True,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.out = out
        self.err = err
        self.color = color == "yes" or (
            color == "auto" and isatty(err) and "NO_COLOR" not in env
            and env.get("TERM") != "dumb")
        self.can_live = live and isatty(err) and env.get("TERM") != "dumb"
        """Whether :meth:`live` shows anything; when false, show progress as log lines."""
        self._columns = env.get("COLUMNS", "")
        self._lock = threading.RLock()
        self._block: list[str] = []

    @property
    def width(self) -> int:
        """Columns of the terminal on stderr (``COLUMNS`` wins; 80 when unknown)."""
        if self._columns.isdigit() and int(self._columns) > 0:
            return int(self._columns)
        try:
            return os.get_terminal_size(self.err.fileno()).columns or DEFAULT_WIDTH
        except (AttributeError, ValueError, OSError):
            return DEFAULT_WIDTH

    def style(self, text: str, *styles: str) -> str:
        """``text`` in the given styles (``red``, ``green``, ``yellow``, ``blue``, ``cyan``,
        ``bold``, ``dim``) when colour is on; unchanged otherwise."""
        if not self.color or not styles:
            return text
        codes = ";".join(_STYLES[name] for name in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def line(self, text: str = "", *, err: bool = False) -> None:
        """Write one line to stdout (or stderr with ``err=True``), above the live block; its
        control characters are shown escaped, newlines too (see :func:`printable`): write
        several lines with several calls."""
        with self._lock:
            self._write(self.err if err else self.out, printable(text, colour=True) + "\n")

    def log_sink(self, message: str) -> None:
        """A loguru sink: log lines go to stderr above the live block."""
        with self._lock:
            self._write(self.err, message)

    def live(self, lines: str | Sequence[str]) -> bool:
        """Show ``lines`` as the live block, replacing the previous one; each line is cut to
        the terminal's width. Returns whether anything was shown (see :attr:`can_live`)."""
        if not self.can_live:
            return False
        block = [lines] if isinstance(lines, str) else list(lines)
        width = max(20, self.width - 1)
        with self._lock:
            self._erase()
            self._block = [printable(line, colour=True)[:width] for line in block]
            self._draw()
            self.err.flush()
        return True

    def end_live(self, *, keep: bool = True) -> None:
        """Finish the live block: leave its last content on screen (``keep``) or erase it."""
        with self._lock:
            if not self._block:
                return
            if keep:
                self.err.write("\n")
            else:
                self._erase()
            self._block = []
            self.err.flush()

    def _write(self, stream: TextIO, text: str) -> None:
        shown = bool(self._block)
        if shown:
            self._erase()
            self.err.flush()
        stream.write(text)
        stream.flush()
        if shown:
            self._draw()
            self.err.flush()

    def _erase(self) -> None:
        if self._block:
            self.err.write(_CLEAR_LINE + (_UP + _CLEAR_LINE) * (len(self._block) - 1))

    def _draw(self) -> None:
        if self._block:
            self.err.write("\n".join(self._block))
