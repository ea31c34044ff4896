"""The run shared by every connection: it collects each connection's interval samples, shows
each interval as it closes (:mod:`rig_load.progress`), and keeps the totals (an HDR histogram
of the measured window, errors, reconnection gaps)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rig_load.histogram import LatencyHistogram
from rig_load.plan import Plan
from rig_load.progress import Progress
from rig_load.workloads import Workload

_TICK_S = 0.05


@dataclass
class WorkerStats:
    """What one connection did while running load."""

    id: str
    started_at_s: float | None = None
    events: int = 0
    errors: Counter[tuple[str, int | None]] = field(default_factory=Counter)
    reconnects: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU time of this connection's worker thread while it ran (``time.thread_time``)."""
    latency_ms: dict[str, Any] = field(default_factory=lambda: {"count": 0})
    """This connection's latencies in the measured window
    (:meth:`~rig_load.histogram.LatencyHistogram.summary_ms`)."""
    histogram: str | None = None
    """The same latencies as a histoblob (:meth:`~rig_load.histogram.LatencyHistogram.encode`):
    the run's total is these merged, and tools can merge them across runs."""
    where: dict[str, Any] | None = None
    """Where the connection's worker ran (with ``--load-executor ray``: its actor's node)."""

    def as_json(self) -> dict[str, Any]:
        """The per-connection part of the ``load`` report section."""
        return {"id": self.id, "started_at_s": self.started_at_s, "events": self.events,
                "errors": sum(self.errors.values()), "reconnects": self.reconnects,
                "gaps": self.gaps, "cpu_s": round(self.cpu_s, 3),
                "latency_ms": self.latency_ms, "histogram": self.histogram,
                **({"where": self.where} if self.where is not None else {})}


class Pool(Protocol):
    """Workers that run outside the connections' threads (worker processes, Ray actors),
    handing their samples to a :class:`LoadRun`."""

    def launch(self, run: LoadRun) -> None:
        """Give the workers ``run``'s plan and feed their samples to it until they finish."""

    def cancel(self) -> None:
        """Ask the workers to stop (Ctrl-C)."""

    def close(self) -> None:
        """Stop the workers and free what they hold; never raises. Idempotent."""

    def as_json(self) -> dict[str, Any]:
        """Where the workers ran, for the report."""


@dataclass
class _Interval:
    histogram: LatencyHistogram | None = field(default_factory=LatencyHistogram)
    """Dropped once the interval's line is out, so memory stays constant."""
    events: int = 0
    errors: int = 0
    reconnects: int = 0
    record: dict[str, Any] | None = None


class LoadRun:
    """Shared by the connections of one run (created once, after every connection prepared).

    Workers call :meth:`submit` when they pass an interval boundary and :meth:`finish` at the
    end; a reporter thread shows interval ``k`` as soon as every running worker has passed
    it, or half an interval after its end at the latest.
    """

    def __init__(self, plan: Plan, workload: Workload, progress: Progress, *,
                 observe: Callable[[dict[str, Any]], None] | None = None,
                 t0_at_s: float = 0.0) -> None:
        self.plan = plan
        self.t0_at_s = t0_at_s
        """Where ``plan.t0`` falls on the run's timeline (seconds since the run began)."""
        self.workload = workload
        self._progress = progress
        self._observe = observe
        self.observer_error: BaseException | None = None
        """What ``observe`` raised (the first time): the run ends in error once it stopped."""
        self._lock = threading.Lock()
        self._intervals: dict[int, _Interval] = {}
        self._latest: dict[str, int] = {}
        self._finished: set[str] = set()
        self._next = plan.index_at(plan.t0)
        self.intervals: list[dict[str, Any]] = []
        self.total = LatencyHistogram()
        self.workers: dict[str, WorkerStats] = {}
        self.stopped_at: float | None = None
        self.failures: dict[str, str] = {}
        """Why a worker stopped early (a worker process died), by connection id."""
        self.pool: Pool | None = None
        """The worker processes (``--load-processes``) or Ray actors, else ``None``."""
        self._cpu_started = time.process_time()
        self.coordinator_cpu_s: float | None = None
        """CPU time of rig's own process from the run's creation until every worker finished
        (with threads: the workers' too)."""
        self._finished_events = {worker: threading.Event() for worker in plan.order}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._report_loop, name="rig-load-reporter",
                                        daemon=True)
        self._thread.start()

    def submit(self, worker: str, index: int, counts_us: dict[int, int], errors: int = 0,
               reconnects: int = 0) -> None:
        """Hand over a worker's latencies of interval ``index``, counted (``{µs: how
        many}``). They are recorded once, into the interval's histogram, which is added to
        the total (a C-speed merge) when the interval closes; a late hand-over, after its
        interval closed, goes to the total directly."""
        self._add((worker,), index, sum(counts_us.values()), errors, reconnects,
                  lambda histogram: histogram.record_counts(counts_us))

    def submit_histogram(self, workers: Iterable[str], index: int,
                         histogram: LatencyHistogram, errors: int = 0,
                         reconnects: int = 0) -> None:
        """Hand over interval ``index`` of several workers at once, as one histogram (a remote
        worker's, decoded from its histoblob): merged exactly, like :meth:`submit`'s counts."""
        self._add(tuple(workers), index, histogram.count, errors, reconnects,
                  lambda into: into.add(histogram))

    def _add(self, workers: tuple[str, ...], index: int, events: int, errors: int,
             reconnects: int, record: Callable[[LatencyHistogram], None]) -> None:
        with self._lock:
            interval = self._intervals.setdefault(index, _Interval())
            if interval.histogram is not None:
                record(interval.histogram)
            elif index >= 0:
                record(self.total)
            interval.events += events
            interval.errors += errors
            interval.reconnects += reconnects
            if interval.record is not None:  # late: the line is out, keep the record right
                self._fill_record(index, interval)
            for worker in workers:
                self._latest[worker] = max(self._latest.get(worker, index), index)

    def finish(self, stats: WorkerStats) -> None:
        """A worker is done (normally or not): stop waiting for it."""
        with self._lock:
            if stats.id in self._finished:
                return
            self._finished.add(stats.id)
            self.workers[stats.id] = stats
            if stats.id in self._finished_events:
                self._finished_events[stats.id].set()
            if self._finished >= set(self.plan.order):
                self.stopped_at = time.perf_counter()
                self.coordinator_cpu_s = time.process_time() - self._cpu_started
                self._done.set()
        if self._done.is_set():
            self._thread.join()

    def wait_finished(self, worker: str, timeout: float) -> bool:
        """Wait until ``worker`` has finished; whether it has."""
        return self._finished_events[worker].wait(timeout)

    def close(self) -> None:
        """Stop the worker processes and the reporter (also after a failure or Ctrl-C), show
        what is pending and end the live line. Idempotent."""
        if self.pool is not None:
            self.pool.close()
        self._done.set()
        self._thread.join()
        self._progress.close()

    @property
    def measured_s(self) -> float:
        """How long the measured window lasted (shorter than ``--load-duration`` if interrupted)."""
        plan = self.plan
        stop = plan.end if self.stopped_at is None else min(plan.end, self.stopped_at)
        return max(stop - plan.steady_start, 1e-9)

    def client_cpu_s(self) -> float | None:
        """The client's CPU time for the run: rig's process, plus the worker threads of the
        worker processes (``--load-processes``); ``None`` before the workers finished."""
        if self.coordinator_cpu_s is None:
            return None
        if self.pool is None:
            return self.coordinator_cpu_s
        return self.coordinator_cpu_s + sum(s.cpu_s for s in self.workers.values())

    def errors(self) -> Counter[tuple[str, int | None]]:
        """Errors of every worker, by class and code."""
        total: Counter[tuple[str, int | None]] = Counter()
        for stats in self.workers.values():
            total.update(stats.errors)
        return total

    def _report_loop(self) -> None:
        while not self._done.wait(_TICK_S):
            self._emit_ready(time.perf_counter(), force=False)
        self._emit_ready(time.perf_counter(), force=True)
        self._progress.close()

    def _emit_ready(self, now: float, *, force: bool) -> None:
        records = []
        with self._lock:
            last = self.plan.index_at(min(now, self.plan.end - 1e-9))
            if force and now < self.plan.end:  # cut short (Ctrl-C): up to the last interval
                # with something in it; the one the interrupt cut holds only its first moments
                last = max((index for index, interval in self._intervals.items()
                            if interval.events or interval.errors or interval.reconnects),
                           default=self._next - 1)
            elif force:
                last = max([last, *self._intervals])
            for index in range(self._next, last + 1):
                interval = self._intervals.setdefault(index, _Interval())
                _start, end = self.plan.bounds(index)
                if not (force or self._passed_by_all(index, end)
                        or now > end + self.plan.interval / 2):
                    break
                self._fill_record(index, interval)
                assert interval.record is not None
                if index >= 0 and interval.histogram is not None:
                    self.total.add(interval.histogram)
                interval.histogram = None
                self.intervals.append(interval.record)
                records.append(interval.record)
                self._next = index + 1
        for record in records:
            if self._observe is not None and self.observer_error is None:
                try:
                    self._observe(record)
                except Exception as exc:  # raised again by the last connection to leave
                    self.observer_error = exc
            self._progress.interval(record)

    def _passed_by_all(self, index: int, end: float) -> bool:
        for worker in self.plan.order:
            if worker in self._finished or self.plan.start_of(worker) >= end:
                continue
            if self._latest.get(worker, index - 1) < index:
                return False
        return True

    def _fill_record(self, index: int, interval: _Interval) -> None:
        start, end = self.plan.bounds(index)
        seconds = max(end - start, 1e-9)
        events = interval.events
        threads = sum(1 for w in self.plan.order if self.plan.start_of(w) < end)
        record = interval.record if interval.record is not None else {}
        record.update({
            "t_s": round(end - self.plan.t0, 3),
            "at_s": round(end - self.plan.t0 + self.t0_at_s, 3),
            "seconds": round(seconds, 3),
            "threads": threads,
            "events": events,
            "tps": round(events / seconds, 2),
            "qps": round(events * self.workload.queries_per_event / seconds, 2),
            **{f"p{p}_ms": record.get(f"p{p}_ms") if interval.histogram is None
               else round(interval.histogram.percentile_ms(float(p)), 3) if events else None
               for p in (50, 95, 99)},
            "max_ms": record.get("max_ms") if interval.histogram is None
            else round(interval.histogram.max_ms(), 3) if events else None,
            "errors": interval.errors,
            "reconnects": interval.reconnects,
            "ramp_up": index < 0,
        })
        interval.record = record

