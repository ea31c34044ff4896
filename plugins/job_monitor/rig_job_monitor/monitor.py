"""The monitor of one connection: its sources, the jobs it watches, the gaps in its view."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_job_monitor.jobs import Change, Job, JobBook, Observation, iso, job_key
from rig_job_monitor.sources import STATEMENT_FAMILY, Source


@dataclass
class Gap:
    """A stretch of time the monitor could not see the server (a lost connection)."""

    started: float
    error: str
    ended: float | None = None
    reconnected: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The gap in the JSON report."""
        return {"started": iso(self.started),
                "ended": None if self.ended is None else iso(self.ended),
                "seconds": None if self.ended is None else round(self.ended - self.started, 3),
                "error": self.error, "reconnected": self.reconnected}


@dataclass
class Monitor:
    """Polls its sources and folds what they list into a :class:`JobBook`.

    Jobs that have already ended when monitoring starts are history, not watched (unless
    named with ``--job-monitor-job-id``); a job that appears later is watched even if it ended
    between two polls.
    """

    sources: list[Source]
    job_ids: frozenset[str] = frozenset()
    book: JobBook = field(default_factory=JobBook)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    history: int = 0
    polls: int = 0
    started: float = field(default_factory=time.time)
    ended: float | None = None
    _ignored: set[tuple[str, str]] = field(default_factory=set)

    def wanted(self, observation: Observation) -> bool:
        """Whether ``--job-monitor-job-id`` lets this job in (a connection id for statements)."""
        if not self.job_ids:
            return True
        if observation.kind in ("import", "ddl"):
            return observation.id in self.job_ids
        return str(observation.detail.get("connection_id")) in self.job_ids

    def poll(self, connection: rig.Connection) -> list[Change]:
        """Poll every source once; returns the status changes."""
        changes: list[Change] = []
        for source in self.sources:
            changes += self.poll_source(connection, source)
        self.polls += 1
        return changes

    def poll_source(self, connection: rig.Connection, source: Source) -> list[Change]:
        """Poll one source; during the first poll, jobs that have already ended are history."""
        baseline = self.polls == 0
        changes: list[Change] = []
        seen: set[tuple[str, str]] = set()
        for observation in source.poll(connection):
            if not self.wanted(observation):
                continue
            key = job_key(observation)
            if key in self._ignored:
                continue
            if key not in self.book.jobs and baseline and observation.final \
                    and not self.job_ids:
                self._ignored.add(key)
                self.history += 1
                continue
            seen.add(key)
            change = self.book.observe(observation)
            if change is not None:
                changes.append(change)
        if source.family == STATEMENT_FAMILY:
            changes += self.book.vanish(seen, STATEMENT_FAMILY)
        return changes

    def jobs(self) -> list[Job]:
        """Every watched job, in the order first seen."""
        return list(self.book.jobs.values())

    def done(self) -> bool:
        """Whether every watched job has ended (``--job-monitor-until-done``)."""
        if self.job_ids:
            found = {job.last.id for job in self.jobs() if job.final}
            found |= {str(job.last.detail.get("connection_id")) for job in self.jobs()
                      if job.final and job.last.kind not in ("import", "ddl")}
            return all(job_id in found or job_id in self.missing for job_id in self.job_ids) \
                and not self.book.active()
        return self.book.all_final()

    def open_gap(self, error: str) -> Gap:
        """Start (or continue) a gap."""
        if self.gaps and self.gaps[-1].ended is None:
            return self.gaps[-1]
        gap = Gap(time.time(), error)
        self.gaps.append(gap)
        return gap

    def close_gap(self, *, started: float, error: str, reconnected: bool) -> Gap:
        """End the open gap, or record one that opened and closed within one poll."""
        gap = self.gaps[-1] if self.gaps and self.gaps[-1].ended is None else None
        if gap is None:
            gap = Gap(started, error)
            self.gaps.append(gap)
        gap.ended = time.time()
        gap.reconnected = gap.reconnected or reconnected
        return gap

    def section(self) -> dict[str, Any]:
        """This connection's part of the report."""
        return {
            "sources": [source.description for source in self.sources],
            "polls": self.polls,
            "started": iso(self.started),
            "ended": None if self.ended is None else iso(self.ended),
            "history_not_watched": self.history,
            "missing": self.missing,
            "notes": self.notes,
            "gaps": [gap.as_dict() for gap in self.gaps],
            "jobs": [job.as_dict() for job in self.jobs()],
        }
