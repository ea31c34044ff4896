"""Jobs as the monitor tracks them: one :class:`Observation` per poll, folded into a :class:`Job`
that remembers its status transitions and progress samples."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rig_job_monitor.parsing import FINAL_STATUSES, GONE, PENDING, RUNNING

MAX_SAMPLES = 400
"""Progress samples kept per job; when full, every other one is dropped (the curve keeps its
shape over any duration)."""


@dataclass(frozen=True)
class Observation:
    """What one poll saw of one job."""

    id: str
    kind: str
    """``import``, ``ddl`` or a statement kind (``alter table``, ``load data``…)."""
    target: str | None
    status: str
    progress_pct: float | None = None
    rows: int | None = None
    phase: str | None = None
    """TiDB ``Phase`` / DDL ``SCHEMA_STATE`` / the statement's ``STATE``."""
    step: str | None = None
    """TiDB ``Cur_Step`` / MariaDB ``stage 1/2``."""
    speed: str | None = None
    """As the server reports it (``10.96MB/s``); the monitor computes one otherwise."""
    eta: str | None = None
    """As the server reports it (``07:26:03``)."""
    elapsed_s: float | None = None
    """How long the job has run, when the server says (``TIME_MS``, start/end times)."""
    message: str = ""
    source_bytes: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    """Extra facts for the report (``connection_id``, ``user``, ``table_id``…)."""

    @property
    def final(self) -> bool:
        """Whether this status cannot change any more."""
        return self.status in FINAL_STATUSES


def iso(at: float) -> str:
    """A Unix time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass
class Job:
    """One job across polls."""

    last: Observation
    first_seen: float
    last_seen: float
    transitions: list[tuple[float, str]] = field(default_factory=list)
    samples: list[tuple[float, float | None, int | None]] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    """Every phase seen, in order (a value repeated in successive polls once)."""
    server_states: list[str] = field(default_factory=list)
    """The server's own states in order (DDL ``STATE``: ``running``, ``done``, ``synced``;
    import ``Status``), which the monitor's statuses summarise."""
    first_monotonic: float = field(default_factory=time.monotonic)
    last_monotonic: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> tuple[str, str]:
        """``(kind family, id)``: import and DDL ids are separate number spaces."""
        return job_key(self.last)

    @property
    def status(self) -> str:
        """The last status seen."""
        return self.last.status

    @property
    def final(self) -> bool:
        """Whether the job has ended."""
        return self.last.final

    def elapsed(self) -> float:
        """How long it ran: the server's figure, else the time the monitor watched it."""
        if self.last.elapsed_s is not None:
            return self.last.elapsed_s
        return self.last_monotonic - self.first_monotonic

    def rates(self) -> tuple[float | None, float | None]:
        """``(percent per second, rows per second)`` over the last samples, or ``None``."""
        points = [s for s in self.samples[-6:] if s[1] is not None or s[2] is not None]
        if len(points) < 2:
            return None, None
        first, last = points[0], points[-1]
        span = last[0] - first[0]
        if span <= 0:
            return None, None
        pct = (last[1] - first[1]) / span if last[1] is not None and first[1] is not None \
            else None
        rows = (last[2] - first[2]) / span if last[2] is not None and first[2] is not None \
            else None
        return pct, rows

    def last_known(self) -> tuple[float | None, int | None]:
        """The last non-NULL progress and row count: TiDB turns both to NULL when a job
        fails or is cancelled, but how far it got is what the report should say."""
        pct = next((s[1] for s in reversed(self.samples) if s[1] is not None), None)
        rows = next((s[2] for s in reversed(self.samples) if s[2] is not None), None)
        return pct, rows

    def eta_seconds(self) -> float | None:
        """Seconds left at the current progress rate, or ``None``."""
        pct_rate, _rows = self.rates()
        pct = self.last.progress_pct
        if self.final or pct is None or not pct_rate or pct_rate <= 0:
            return None
        return (100.0 - pct) / pct_rate

    def as_dict(self) -> dict[str, Any]:
        """The job in the JSON report."""
        last = self.last
        pct_rate, rows_rate = self.rates()
        pct, rows = self.last_known()
        return {
            "id": last.id,
            "kind": last.kind,
            "target": last.target,
            "status": last.status,
            "progress_pct": None if pct is None else round(pct, 3),
            "rows": rows,
            "phase": last.phase,
            "step": last.step,
            "speed": last.speed,
            "rows_per_s": None if rows_rate is None else round(rows_rate, 3),
            "pct_per_s": None if pct_rate is None else round(pct_rate, 4),
            "eta": last.eta,
            "elapsed_s": round(self.elapsed(), 3),
            "source_bytes": last.source_bytes,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "ended_at": iso(self.transitions[-1][0]) if self.final and self.transitions else None,
            "transitions": [{"at": iso(at), "status": status} for at, status in self.transitions],
            "samples": [{"at": iso(at), "progress_pct": None if pct is None else round(pct, 3),
                         "rows": rows} for at, pct, rows in self.samples],
            "phases": self.phases,
            "server_states": self.server_states,
            "message": last.message,
            **last.detail,
        }


def job_key(observation: Observation) -> tuple[str, str]:
    """The identity of a job: import and DDL ids are distinct, statements carry their own."""
    family = observation.kind if observation.kind in ("import", "ddl") else "statement"
    return family, observation.id


@dataclass(frozen=True)
class Change:
    """A job's status changed (or it was seen for the first time: ``before`` is ``None``)."""

    job: Job
    before: str | None
    after: str


class JobBook:
    """Every job the monitor watches, updated poll by poll."""

    def __init__(self, clock: Any = time.time) -> None:
        self.jobs: dict[tuple[str, str], Job] = {}
        self._clock = clock

    def observe(self, observation: Observation) -> Change | None:
        """Fold one observation in; returns the status change it made, if any."""
        now = self._clock()
        key = job_key(observation)
        job = self.jobs.get(key)
        if job is None:
            job = Job(observation, now, now, [(now, observation.status)])
            self.jobs[key] = job
            self._sample(job, now)
            self._follow(job)
            return Change(job, None, observation.status)
        before = job.status
        job.last = observation
        job.last_seen = now
        job.last_monotonic = time.monotonic()
        self._sample(job, now)
        self._follow(job)
        if observation.status != before:
            job.transitions.append((now, observation.status))
            return Change(job, before, observation.status)
        return None

    def vanish(self, seen: set[tuple[str, str]], family: str) -> list[Change]:
        """Statements of ``family`` that were running and are not in ``seen`` have ended:
        they become ``gone``."""
        now = self._clock()
        changes = []
        for key, job in self.jobs.items():
            if key[0] != family or key in seen or job.final:
                continue
            last = job.last
            job.last = Observation(**{**last.__dict__, "status": GONE,
                                      "message": last.message or "left the process list"})
            job.transitions.append((now, GONE))
            changes.append(Change(job, last.status, GONE))
        return changes

    def all_final(self) -> bool:
        """Whether at least one job is watched and every one has ended."""
        return bool(self.jobs) and all(job.final for job in self.jobs.values())

    def active(self) -> list[Job]:
        """Jobs still pending or running."""
        return [job for job in self.jobs.values() if job.status in (PENDING, RUNNING)]

    @staticmethod
    def _follow(job: Job) -> None:
        last = job.last
        state = last.detail.get("server_state", last.detail.get("server_status"))
        for seen, value in ((job.phases, last.phase), (job.server_states, state)):
            if value and (not seen or seen[-1] != value):
                seen.append(value)

    @staticmethod
    def _sample(job: Job, now: float) -> None:
        last = job.last
        point = (now, last.progress_pct, last.rows)
        if job.samples and job.samples[-1][1:] == point[1:]:
            return
        job.samples.append(point)
        if len(job.samples) > MAX_SAMPLES:
            job.samples = job.samples[::2] + ([job.samples[-1]] if len(job.samples) % 2 == 0
                                              else [])
