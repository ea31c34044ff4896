"""Option value types: callables for ``addoption(type=...)`` that raise ``ValueError`` with a
reason, so that rig can report the option, the bad value and where it came from.

Every number is usable as it is: whole numbers are at most :data:`MAX_INT` (what a signed
32-bit column holds; no overflow deeper down), other numbers are finite (no ``nan``, ``inf``,
``1e400``) and at most :data:`MAX_FLOAT` in size (no timeout too long for a thread to wait)."""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from rig.errors import os_reason

MAX_INT = 2**31 - 1
"""The largest whole number any option takes."""
MAX_FLOAT = 1e9
"""The largest number (seconds, rates) any option takes: about 31 years."""


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = _int(text)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    value = _int(text)
    if value < 0:
        raise ValueError("must be a whole number of at least 0")
    return value


def positive_float(text: str) -> float:
    """A number greater than 0 (seconds, rates)."""
    value = _float(text)
    if value <= 0:
        raise ValueError("must be a number greater than 0")
    return value


def non_negative_float(text: str) -> float:
    """A number of at least 0."""
    value = _float(text)
    if value < 0:
        raise ValueError("must be a number of at least 0")
    return value


def int_range(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (a port, a number of connections)."""

    def parse(text: str) -> int:
        value = _int(text, limit=False)
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    parse.__name__ = "whole number"
    return parse


MAX_NAME = 64
"""The longest database or table name MySQL, MariaDB and TiDB store."""
_NAME_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def identifier(kind: str = "name") -> Callable[[str], str]:
    """A database or table name (``kind``: ``"database name"``, ``"table name"``) that every
    server can store, taken exactly as given: not blank, no space at either end, no control
    character, nothing beyond U+FFFF (servers keep names in 3-byte UTF-8), at most
    :data:`MAX_NAME` characters. Quotes, ``%`` and other characters are fine: rig quotes names.
    A plugin that appends to the name checks the longer name itself (``config.invalid``)."""

    def parse(text: str) -> str:
        name = str(text)
        if not name.strip():
            raise ValueError(f"give a {kind}")
        if name != name.strip():
            raise ValueError(f"a {kind} cannot start or end with a space")
        control = _NAME_CONTROL.search(name)
        if control:
            shown = repr(control.group())[1:-1]
            raise ValueError(f"a {kind} cannot hold control characters ({shown})")
        if any(ord(char) > 0xFFFF for char in name):
            raise ValueError(f"a {kind} cannot hold characters beyond U+FFFF (such as emoji): "
                             "servers store names in 3-byte UTF-8")
        if len(name) > MAX_NAME:
            raise ValueError(f"a {kind} has at most {MAX_NAME} characters")
        return name

    parse.__name__ = kind
    return parse


def comma_list(text: str) -> list[str]:
    """``a,b, c`` → ``["a", "b", "c"]``; empty items are dropped."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def choice(choices: Sequence[str]) -> Callable[[str], str]:
    """One of ``choices`` (compared case-insensitively, returned as written in ``choices``);
    the error lists them. Unlike argparse's ``choices=``, the message names the value's source
    and ``--help`` shows the ``metavar`` you give."""
    by_key = {option.lower(): option for option in choices}

    def parse(text: str) -> str:
        found = by_key.get(str(text).strip().lower())
        if found is None:
            raise ValueError(f"choose from {', '.join(choices)}")
        return found

    parse.__name__ = "choice"
    return parse


def choice_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """A comma-separated list whose every item is one of ``choices``."""

    def parse(text: str) -> list[str]:
        items = comma_list(text)
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(choices)}")
        return items

    parse.__name__ = "choice list"
    return parse


def output_file(text: str) -> str:
    """A file rig will write whole (a report): checked when the option is parsed, before the
    run starts, without creating or truncating it. Refused: a directory, something that is
    not a regular file, a path under a regular file, a directory no file can be created in
    (the file is written to a temporary file there and renamed into place), an existing file
    that cannot be written. Missing directories are fine: they are created when the file is
    written. ``~`` is expanded; an empty value stays empty (no file)."""
    return _output_path(text, replaced=True)


def append_file(text: str) -> str:
    """A file rig appends to (a log): checked as :func:`output_file`, except that an existing
    file only needs to be writable itself."""
    return _output_path(text, replaced=False)


def _output_path(text: str, *, replaced: bool) -> str:
    if not str(text):
        return ""
    path = Path(text).expanduser()
    try:
        return _checked_output(path, replaced=replaced)
    except OSError as exc:  # a stat that failed: a path too long, a directory we cannot search
        raise ValueError(f"cannot check it: {os_reason(exc)}: check the path") from None


def _checked_output(path: Path, *, replaced: bool) -> str:
    if path.is_dir():
        raise ValueError("is a directory: name a file in it")
    if path.exists():
        if not path.is_file():
            raise ValueError("is not a regular file: name a regular file")
        _probe(lambda: os.close(os.open(path, os.O_WRONLY | os.O_APPEND)),
               "cannot write it", "choose a file you can write")
        if not replaced:
            return str(path)
    directory = path.parent
    while not directory.exists():
        directory = directory.parent
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory: choose a path in a directory")
    _probe(lambda: _create_and_remove(directory), f"cannot create a file in {directory}",
           "choose a directory you can write in")
    return str(path)


def _create_and_remove(directory: Path) -> None:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".rig-check-")
    os.close(fd)
    os.unlink(name)


def _probe(attempt: Callable[[], None], cause: str, fix: str) -> None:
    """Run ``attempt``; an ``OSError`` becomes ``ValueError("<cause>: <reason>: <fix>")``."""
    try:
        attempt()
    except OSError as exc:
        raise ValueError(f"{cause}: {os_reason(exc)}: {fix}") from None


def _int(text: str, *, limit: bool = True) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError("must be a whole number") from None
    if limit and abs(value) > MAX_INT:
        raise ValueError(f"must be at most {MAX_INT}")
    return value


def _float(text: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if abs(value) > MAX_FLOAT:
        raise ValueError(f"must be at most {MAX_FLOAT:.0f}")
    return value


def listen_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` to listen on (host ``127.0.0.1`` when left out; ``[::1]:PORT`` for an
    IPv6 address; port 0 picks a free one)."""
    value = text.strip()
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", value
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c.isspace() for c in host) or ("[" in host or "]" in host):
        raise ValueError("give [HOST:]PORT, e.g. 127.0.0.1:8765 or 8765")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError("give [HOST:]PORT with a port number, e.g. 127.0.0.1:8765") from None
    if not 0 <= port <= 65535:
        raise ValueError("the port must be from 0 to 65535")
    return host, port
