"""Showing jobs while they run: an updating block on a terminal, plain log lines elsewhere;
and the summary table at the end."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TextIO

from rig_job_monitor.jobs import Change, Job
from rig_job_monitor.parsing import format_count, format_duration

_HIDE_CURSOR, _SHOW_CURSOR, _CLEAR_LINE = "\x1b[?25l", "\x1b[?25h", "\x1b[2K"


def job_label(job: Job) -> str:
    """``import 12`` / ``ddl 7`` / ``alter table 27:1``."""
    return f"{job.last.kind} {job.last.id}"


def job_line(job: Job) -> str:
    """One line: label, target, status, phase/step, rows, percent, speed, ETA, elapsed."""
    last = job.last
    pct_rate, rows_rate = job.rates()
    pct, rows = job.last_known()
    parts = [job_label(job), last.target or "-", last.status]
    if last.phase and last.step:
        parts.append(f"{last.phase} ({last.step})")
    elif last.phase or last.step:
        parts.append(str(last.phase or last.step))
    if rows is not None:
        parts.append(f"{format_count(rows)} rows")
    if pct is not None:
        parts.append(f"{pct:.1f}%")
    if last.speed:
        parts.append(last.speed)
    elif rows_rate and not job.final:
        parts.append(f"{format_count(rows_rate)} rows/s")
    elif pct_rate and not job.final:
        parts.append(f"{pct_rate:.2f}%/s")
    eta = last.eta or (format_duration(job.eta_seconds()) if job.eta_seconds() else None)
    if eta and not job.final:
        parts.append(f"ETA {eta}")
    parts.append(f"elapsed {format_duration(job.elapsed())}")
    if last.message and job.final:
        parts.append(last.message)
    return "  ".join(parts)


class Display(Protocol):
    """Where the monitor shows progress."""

    def update(self, jobs: Sequence[Job], changes: Sequence[Change]) -> None:
        """Called after every poll with every watched job and what changed."""

    def note(self, message: str) -> None:
        """A one-off line (a lost connection, a reconnect)."""

    def close(self) -> None:
        """Monitoring is over."""


class PlainDisplay:
    """For CI and pipes: a log line per status change, and a progress line per running job
    at most every ``every`` seconds."""

    def __init__(self, log: Callable[[str], None], every: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.every = every
        self.clock = clock
        self._logged: dict[tuple[str, str], float] = {}

    def update(self, jobs: Sequence[Job], changes: Sequence[Change]) -> None:
        now = self.clock()
        changed = {change.job.key for change in changes}
        for change in changes:
            arrow = (f"{change.before} → {change.after}" if change.before
                     else f"seen, {change.after}")
            self.log(f"{job_label(change.job)}: {arrow} | {job_line(change.job)}")
            self._logged[change.job.key] = now
        for job in jobs:
            if job.key in changed or job.final:
                continue
            if now - self._logged.get(job.key, float("-inf")) >= self.every:
                self.log(job_line(job))
                self._logged[job.key] = now

    def note(self, message: str) -> None:
        self.log(message)

    def close(self) -> None:
        return None


class LiveDisplay:
    """For a terminal: one line per job, rewritten in place after every poll."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._height = 0

    def _width(self) -> int:
        return max(40, shutil.get_terminal_size((120, 24)).columns - 1)

    def update(self, jobs: Sequence[Job], changes: Sequence[Change]) -> None:
        width = self._width()
        lines = [job_line(job)[:width] for job in jobs] or ["waiting for jobs…"]
        out = [_HIDE_CURSOR]
        if self._height:
            out.append(f"\x1b[{self._height}F")
        out += [f"{_CLEAR_LINE}{line}\n" for line in lines]
        extra = self._height - len(lines)
        if extra > 0:
            out += [f"{_CLEAR_LINE}\n"] * extra
            out.append(f"\x1b[{extra}F")
        out.append(_SHOW_CURSOR)
        self.stream.write("".join(out))
        self.stream.flush()
        self._height = len(lines)

    def note(self, message: str) -> None:
        self.stream.write(f"{_CLEAR_LINE}{message}\n")
        self.stream.flush()
        self._height = 0  # the block starts again below the note

    def close(self) -> None:
        self.stream.flush()
        self._height = 0


def choose_display(mode: str, stream: TextIO, log: Callable[[str], None],
                   every: float) -> Display:
    """``live`` on a terminal (or when asked), else ``plain``."""
    if mode == "live" or (mode == "auto" and _isatty(stream)):
        return LiveDisplay(stream)
    return PlainDisplay(log, every)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


SUMMARY_COLUMNS = ("JOB", "TARGET", "STATUS", "PROGRESS", "ROWS", "ELAPSED", "MESSAGE")


def summary_rows(jobs: Iterable[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Report entries → table rows."""
    rows: list[tuple[str, ...]] = []
    for job in jobs:
        pct = job.get("progress_pct")
        rows.append((
            f"{job['kind']} {job['id']}",
            str(job.get("target") or "-"),
            str(job["status"]),
            "-" if pct is None else f"{pct:.1f}%",
            format_count(job.get("rows")),
            format_duration(job.get("elapsed_s")),
            str(job.get("message") or "")[:60],
        ))
    return rows


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows,
                                                                        strict=False)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
            .rstrip() for row in (header, *rows)]
