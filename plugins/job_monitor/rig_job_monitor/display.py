"""Showing jobs while they run: the run's live block on a terminal (``rig.Terminal``), plain
log lines elsewhere; and the summary table at the end. Nothing here writes to a stream or
measures the terminal: the run's :class:`rig.Terminal` does both."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import rig
from rig_job_monitor.jobs import Change, Job
from rig_job_monitor.parsing import format_count, format_duration


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
        """Monitoring is over (also after an error or Ctrl-C); may be called more than once."""


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
            self.log(f"{job_label(change.job)}: {change_text(change)} | {job_line(change.job)}")
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


def change_text(change: Change) -> str:
    """``running → finished``, or ``seen, running`` for a job seen for the first time."""
    return f"{change.before} → {change.after}" if change.before else f"seen, {change.after}"


class LiveBoard:
    """The run's live block (``rig.Terminal.live``), shared by the monitors of every
    connection: each connection's lines, in the order they first showed, prefixed with the
    connection id when there is more than one. The block ends (its last content kept on
    screen) when every connection that showed lines has finished."""

    def __init__(self, terminal: rig.Terminal) -> None:
        self.terminal = terminal
        self._lines: dict[str, list[str]] = {}
        self._finished: set[str] = set()
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def first(self, what: str) -> bool:
        """Whether this is the first time ``what`` is asked about in the run (for a warning
        every connection would otherwise repeat)."""
        with self._lock:
            if what in self._said:
                return False
            self._said.add(what)
            return True

    def show(self, owner: str, lines: Sequence[str]) -> bool:
        """Replace ``owner``'s lines and redraw; ``False`` when the terminal shows no live
        block."""
        with self._lock:
            self._lines[owner] = list(lines)
            self._finished.discard(owner)
            return self._draw()

    def finish(self, owner: str) -> None:
        """``owner`` is done; the block ends once every owner is."""
        with self._lock:
            if owner not in self._lines:
                return
            self._finished.add(owner)
            if self._finished >= self._lines.keys():
                self._lines.clear()
                self._finished.clear()
                self.terminal.end_live()

    def _draw(self) -> bool:
        several = len(self._lines) > 1
        block = [f"{owner} {line}" if several else line
                 for owner, lines in self._lines.items() for line in lines]
        return self.terminal.live(block)


class LiveDisplay:
    """For a terminal: one line per job in the run's live block, redrawn after every poll;
    notes go above the block as log lines."""

    def __init__(self, board: LiveBoard, owner: str, log: Callable[[str], None]) -> None:
        self.board = board
        self.owner = owner
        self.log = log

    def update(self, jobs: Sequence[Job], changes: Sequence[Change]) -> None:
        self.board.show(self.owner, [job_line(job) for job in jobs] or ["waiting for jobs…"])

    def note(self, message: str) -> None:
        self.log(message)

    def close(self) -> None:
        self.board.finish(self.owner)


def choose_display(mode: str, board: LiveBoard, owner: str, log: Callable[[str], None],
                   every: float) -> Display:
    """``live`` when asked for (``live``, or ``auto``) and the run's terminal can show a live
    block (:attr:`rig.Terminal.can_live`); ``plain`` otherwise."""
    if mode != "plain" and board.terminal.can_live:
        return LiveDisplay(board, owner, log)
    return PlainDisplay(log, every)


SUMMARY_COLUMNS = ("JOB", "TARGET", "STATUS", "PROGRESS", "ROWS", "ELAPSED", "MESSAGE")


def summary_rows(jobs: Iterable[dict[str, Any]], *,
                 connections: bool = False) -> list[tuple[str, ...]]:
    """Report entries → table rows (the JOB column names the connection with
    ``connections``)."""
    rows: list[tuple[str, ...]] = []
    for job in jobs:
        pct = job.get("progress_pct")
        where = f"{job.get('connection')} " if connections else ""
        rows.append((
            f"{where}{job['kind']} {job['id']}",
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
