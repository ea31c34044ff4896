"""Parsing what servers print: human sizes, percentages, job statuses, statement kinds."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

PENDING, RUNNING, FINISHED, FAILED, CANCELLED, GONE = (
    "pending", "running", "finished", "failed", "cancelled", "gone")
FINAL_STATUSES = frozenset({FINISHED, FAILED, CANCELLED, GONE})
"""A job in one of these statuses will not change any more."""

_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4, "p": 1000**5, "pb": 1000**5, "e": 1000**6, "eb": 1000**6,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4, "pib": 1024**5,
    "eib": 1024**6,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*$")

_IMPORT_STATUSES = {
    "pending": PENDING, "running": RUNNING, "finished": FINISHED, "failed": FAILED,
    "cancelled": CANCELLED, "canceled": CANCELLED,
}
_DDL_STATES = {
    "none": PENDING, "queueing": PENDING,
    "running": RUNNING, "done": RUNNING, "rollingback": RUNNING, "cancelling": RUNNING,
    "pausing": RUNNING, "paused": RUNNING,
    "synced": FINISHED, "rollback done": FAILED, "cancelled": CANCELLED, "canceled": CANCELLED,
}


def parse_size(text: Any) -> int | None:
    """``16B``, ``11GB``, ``1.194TB``, ``277.5GiB`` → bytes (decimal units for ``KB``…,
    binary for ``KiB``…); ``None`` for ``NULL`` or anything else."""
    if text is None:
        return None
    match = _SIZE.match(str(text))
    if not match:
        return None
    factor = _UNITS.get(match.group(2).lower())
    if factor is None:
        return None
    return int(Decimal(match.group(1)) * factor)


def parse_percent(text: Any) -> float | None:
    """``50%``, ``50``, ``12.5`` → a float from 0 to 100; ``None`` for ``NULL`` or junk."""
    if text is None:
        return None
    match = _PERCENT.match(str(text))
    if not match:
        return None
    try:
        value = float(Decimal(match.group(1)))
    except InvalidOperation:
        return None
    return max(0.0, min(100.0, value))


def import_status(text: Any) -> str:
    """``SHOW IMPORT JOBS`` ``Status`` → one of the monitor's statuses (both spellings of
    cancelled; an unknown value counts as running so that it is watched, not dropped)."""
    return _IMPORT_STATUSES.get(str(text or "").strip().lower(), RUNNING)


def ddl_status(text: Any) -> str:
    """``ADMIN SHOW DDL JOBS`` ``STATE`` → one of the monitor's statuses."""
    return _DDL_STATES.get(str(text or "").strip().lower(), RUNNING)


def format_size(value: float | None) -> str:
    """Bytes → ``1.2GB`` (decimal units, as TiDB prints them)."""
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1000 or unit == "PB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.3g}{unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_count(value: float | None) -> str:
    """``1234567`` → ``1.23M``."""
    if value is None:
        return "-"
    for unit in ("", "k", "M", "G"):
        if abs(value) < 1000 or unit == "G":
            return f"{value:.0f}" if unit == "" else f"{value:.3g}{unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float | None) -> str:
    """Seconds → ``4.2s``, ``3m05s``, ``2h03m``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# -- statements (MySQL / MariaDB) ------------------------------------------------------------

_NAME = r"((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?)"
_STATEMENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE | re.DOTALL)) for kind, pattern in (
        ("alter table", r"^\s*alter\s+(?:online\s+)?(?:ignore\s+)?table\s+(?:if\s+exists\s+)?"
                        + _NAME),
        ("create index", r"^\s*create\s+(?:or\s+replace\s+)?(?:online\s+)?"
                         r"(?:unique\s+|fulltext\s+|spatial\s+)?index\s+.*?\s+on\s+" + _NAME),
        ("drop index", r"^\s*drop\s+(?:online\s+)?index\s+.*?\s+on\s+" + _NAME),
        ("load data", r"^\s*load\s+data\s+.*?\binto\s+table\s+" + _NAME),
        ("load xml", r"^\s*load\s+xml\s+.*?\binto\s+table\s+" + _NAME),
        ("optimize table", r"^\s*optimize\s+(?:no_write_to_binlog\s+|local\s+)?table\s+"
                           + _NAME),
        ("repair table", r"^\s*repair\s+(?:no_write_to_binlog\s+|local\s+)?table\s+" + _NAME),
        ("analyze table", r"^\s*analyze\s+(?:no_write_to_binlog\s+|local\s+)?table\s+" + _NAME),
        ("check table", r"^\s*check\s+table\s+" + _NAME),
        ("create table", r"^\s*create\s+(?:or\s+replace\s+)?table\s+(?:if\s+not\s+exists\s+)?"
                         + _NAME + r".*\bselect\b"),
        ("insert select", r"^\s*(?:insert|replace)\s+.*?\binto\s+" + _NAME + r".*\bselect\b"),
    )
)


def statement_kind(sql: str) -> tuple[str, str | None] | None:
    """The kind (``alter table``, ``load data``…) and target table of a long-running statement
    rig watches, or ``None`` for any other statement."""
    text = _strip_comments(sql)
    for kind, pattern in _STATEMENTS:
        match = pattern.match(text)
        if match:
            return kind, re.sub(r"\s*\.\s*", ".", match.group(1))
    return None


def _strip_comments(sql: str) -> str:
    return re.sub(r"/\*(?!!).*?\*/", " ", sql, flags=re.DOTALL).strip()
