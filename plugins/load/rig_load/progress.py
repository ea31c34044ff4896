"""Showing a load run while it goes: on a terminal one live line, rewritten every interval
(elapsed, QPS, TPS, p95/p99, errors); elsewhere (a pipe, a file) sysbench-like interval
lines on the log."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any, Protocol, TextIO

import rig

_CLEAR_LINE = "\r\x1b[2K"


class Progress(Protocol):
    """Where the run's interval records go as each interval closes."""

    def interval(self, record: dict[str, Any]) -> None:
        """Show one closed interval (a record of ``sections.load.intervals``)."""

    def close(self) -> None:
        """The run is over."""


def interval_line(record: dict[str, Any]) -> str:
    """A sysbench-style interval line."""
    p95 = record["p95_ms"]
    seconds = record["seconds"]
    return (f"[ {record['t_s']:g}s ] thds: {record['threads']} tps: {record['tps']:.2f} "
            f"qps: {record['qps']:.2f} lat (ms,95%): {_ms(p95)} "
            f"err/s: {record['errors'] / seconds:.2f} "
            f"reconn/s: {record['reconnects'] / seconds:.2f}"
            + (" (ramp-up)" if record["ramp_up"] else ""))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


class IntervalLines:
    """For a pipe or a file: one sysbench-like line per interval, on the log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log

    def interval(self, record: dict[str, Any]) -> None:
        self._log(interval_line(record))

    def close(self) -> None:
        """Nothing to finish: every line is complete."""


class LiveLine:
    """For a terminal: one line rewritten in place (carriage return, clear line) after every
    interval, ended with a newline when the run is over."""

    def __init__(self, stream: TextIO, total_s: float) -> None:
        self.stream = stream
        self.total_s = total_s
        self._errors = 0
        self._shown = False

    def interval(self, record: dict[str, Any]) -> None:
        self._errors += record["errors"]
        line = (f"load [ {record['t_s']:g}s / {self.total_s:g}s ] thds: {record['threads']} "
                f"qps: {record['qps']:.0f} tps: {record['tps']:.0f} "
                f"p95: {_ms(record['p95_ms'])} ms p99: {_ms(record['p99_ms'])} ms "
                f"errors: {self._errors}" + (" (ramp-up)" if record["ramp_up"] else ""))
        width = max(40, shutil.get_terminal_size((120, 24)).columns - 1)
        self.stream.write(_CLEAR_LINE + line[:width])
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def choose(config: rig.Config, stream: TextIO, log: Callable[[str], None],
           total_s: float) -> Progress:
    """The live line when ``stream`` is a terminal and the log is plain text at the default
    level or more; interval lines on the log otherwise."""
    live = (_isatty(stream) and config.getoption("quiet") == 0
            and config.getoption("log_format") == "text" and not config.getoption("log_level"))
    return LiveLine(stream, total_s) if live else IntervalLines(log)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
