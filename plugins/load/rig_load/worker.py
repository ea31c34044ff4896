"""One connection's load loop: run events until the end of the run, time each one, hand the
samples over interval by interval, and survive transient errors and lost connections."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import rig
from rig_load import drivers
from rig_load.histogram import LatencyHistogram
from rig_load.plan import Plan
from rig_load.run import WorkerStats
from rig_load.workloads import Event, Tables, Workload

MAX_ERROR_STREAK = 100
"""Stop a connection after this many events in a row failed with permanent errors."""
_UNLIMITED_ATTEMPTS = 1_000_000_000
_CANCEL_POLL_S = 0.05


class Sink(Protocol):
    """Where a worker hands its samples: the shared :class:`~rig_load.run.LoadRun`, or a
    process worker's pipe to it."""

    plan: Plan
    workload: Workload

    def submit(self, worker: str, index: int, counts_us: dict[int, int], errors: int = 0,
               reconnects: int = 0) -> None:
        """Hand over the latencies of interval ``index``, as ``{µs: how many}``."""


class Link(Protocol):
    """A worker's database session: the driver connection, and a way to get a new one."""

    id: str
    errors: tuple[type[BaseException], ...]
    """What the driver raises when a query or a connection fails."""
    normalize: Callable[[BaseException], BaseException]
    """The driver's error in the shape :func:`rig.classify` reads."""
    retry_policy: rig.RetryPolicy
    """The run's retry policy: its backoff paces the reconnection attempts."""
    breaker: rig.CircuitBreaker | None
    """The server's circuit breaker, when the reconnection does not go through one itself."""

    @property
    def log(self) -> Any:
        """A loguru logger."""

    @property
    def cancelled(self) -> bool:
        """Whether the run is being interrupted."""

    @property
    def raw(self) -> Any:
        """The driver's connection in use."""

    def reconnect(self) -> Any:
        """Open a new connection (using the run's database); raise on failure."""


def _same(exc: BaseException) -> BaseException:
    return exc


class ContextLink:
    """A :class:`Link` over a connection of the coordinator (PyMySQL in rig's own process):
    each reconnection is ``ctx.reconnect()``, itself through the run's retry policy and the
    server's circuit breaker."""

    def __init__(self, ctx: rig.Context, database: str) -> None:
        self.ctx = ctx
        self.id = ctx.connection_id
        self.database = database
        self.errors = drivers.PYMYSQL_ERRORS
        self.normalize: Callable[[BaseException], BaseException] = _same
        self.retry_policy = ctx.connector.retry_policy
        self.breaker: rig.CircuitBreaker | None = None  # ctx.reconnect goes through it

    @property
    def log(self) -> Any:
        return self.ctx.log

    @property
    def cancelled(self) -> bool:
        return self.ctx.cancelled

    @property
    def raw(self) -> Any:
        return self.ctx.require_connection().raw

    def reconnect(self) -> Any:
        connection = self.ctx.reconnect()
        connection.execute(f"USE {rig.quote_identifier(self.database)}")
        return connection.raw


class DriverLink:
    """A :class:`Link` with its own connection through ``driver`` (a worker process's
    workers, and the C drivers in rig's process); reconnecting opens a new one, behind
    ``breaker`` and paced by ``retry_policy``."""

    def __init__(self, worker_id: str, settings: rig.ConnectionSettings, database: str,
                 driver: drivers.Driver, *, log: Any, cancelled: Callable[[], bool],
                 retry_policy: rig.RetryPolicy, breaker: rig.CircuitBreaker | None) -> None:
        self.id = worker_id
        self.retry_policy = retry_policy
        self.breaker = breaker
        self.settings = settings
        self.database = database
        self.driver = driver
        self.errors = driver.errors
        self.normalize = driver.normalize
        self._log = log
        self._cancelled = cancelled
        self._raw = self._open()

    def _open(self) -> Any:
        raw = self.driver.connect(self.settings)
        cursor = raw.cursor()
        cursor.execute(f"USE {rig.quote_identifier(self.database)}")
        cursor.close()
        return raw

    @property
    def log(self) -> Any:
        return self._log

    @property
    def cancelled(self) -> bool:
        return self._cancelled()

    @property
    def raw(self) -> Any:
        return self._raw

    def reconnect(self) -> Any:
        self.close()
        self._raw = self._open()
        return self._raw

    def close(self) -> None:
        """Close the connection; never raises."""
        with contextlib.suppress(Exception):
            self._raw.close()


class Worker:
    """Runs ``workload`` on one connection from its start in the ramp to the end of the run.

    Closed loop by default (the next event starts when the last one ends, after
    ``think_time``); with ``rate`` (events per second for this connection) open loop: events
    are scheduled at fixed times and latency counts from the scheduled start, so a stall
    shows up in the latencies of every event it delayed (no coordinated omission).
    """

    def __init__(self, link: Link, run: Sink, *, tables: list[str], table_size: int,
                 think_time: float = 0.0, rate: float = 0.0) -> None:
        self.link = link
        self.errors = link.errors
        self.run_ = run
        self.workload: Workload = run.workload
        self.table_names = [rig.quote_identifier(name) for name in tables]
        self.table_size = table_size
        self.think_time = think_time
        self.rate = rate
        self.rng = random.Random()
        self.stats = WorkerStats(link.id)
        self._latency = LatencyHistogram()
        """This connection's measured window (reported with it, merged by nobody)."""
        self.event: Event = self._bind(link.raw)
        self._streak = 0
        self._progress_at_error = -1
        self._interval_errors = 0
        self._interval_reconnects = 0

    def _bind(self, raw: Any) -> Event:
        tables = Tables(self.table_names, self.table_size, self.rng)
        return self.workload.make_event(raw.cursor(), tables)

    def run(self) -> WorkerStats:
        """Run until the end of the run (or Ctrl-C); returns what this connection did."""
        plan = self.run_.plan
        start = plan.start_of(self.link.id)
        self._sleep_until(start)
        self.stats.started_at_s = round(time.perf_counter() - plan.t0, 6)
        cpu = time.thread_time()
        try:
            if self.rate > 0:
                self._open_loop(start)
            else:
                self._closed_loop()
        finally:
            self.stats.cpu_s = time.thread_time() - cpu
            self.stats.latency_ms = self._latency.summary_ms()
            self.stats.histogram = self._latency.encode()
        return self.stats

    def _closed_loop(self) -> None:
        """One clock read per event: an event's end is the next one's start (after the
        think time, the clock is read again), so the loop costs one ``perf_counter`` call, a
        subtraction and an append per event; the hand-over happens at interval boundaries."""
        perf, plan, think, sleep = time.perf_counter, self.run_.plan, self.think_time, \
            time.sleep
        began = perf()
        index = plan.index_at(began)
        boundary = plan.bounds(index)[1]
        samples: list[int] = []
        append = samples.append
        event, errors = self.event, self.errors
        while True:
            if began >= boundary:
                self._submit(index, samples)
                if began >= plan.end or self.link.cancelled:
                    return
                index = plan.index_at(began)
                boundary = plan.bounds(index)[1]
                samples = []
                append = samples.append
            try:
                event()
            except errors as exc:
                if not self._failed(exc, len(samples)):
                    self._submit(index, samples)
                    return
                event = self.event
                began = perf()
                continue
            ended = perf()
            append(int((ended - began) * 1_000_000))
            if think:
                sleep(think)
                ended = perf()
            began = ended

    def _open_loop(self, start: float) -> None:
        perf, plan, sleep = time.perf_counter, self.run_.plan, time.sleep
        period = 1.0 / self.rate
        order = plan.order
        intended = start + period * order.index(self.link.id) / len(order)
        index = plan.index_at(intended)
        boundary = plan.bounds(index)[1]
        samples: list[int] = []
        append = samples.append
        event, errors = self.event, self.errors
        while True:
            if intended >= boundary:
                self._submit(index, samples)
                if intended >= plan.end or self.link.cancelled:
                    return
                index = plan.index_at(intended)
                boundary = plan.bounds(index)[1]
                samples = []
                append = samples.append
            wait = intended - perf()
            if wait > 0:
                sleep(wait)
            try:
                event()
            except errors as exc:
                if not self._failed(exc, len(samples)):
                    self._submit(index, samples)
                    return
                event = self.event
                intended += period
                continue
            append(int((perf() - intended) * 1_000_000))
            intended += period

    def _submit(self, index: int, samples: list[int]) -> None:
        """Hand interval ``index`` over, counted (``Counter``, in C): a few hundred distinct
        microsecond values instead of one per event, to pickle, send and record."""
        self.stats.events += len(samples)
        counts = dict(Counter(samples))
        if index >= 0:
            self._latency.record_counts(counts)
        self.run_.submit(self.stats.id, index, counts, self._interval_errors,
                         self._interval_reconnects)
        self._interval_errors = self._interval_reconnects = 0

    def _failed(self, exc: BaseException, progress: int) -> bool:
        """Count a failed event; reconnect when the connection is gone. Returns whether to go
        on; raises after :data:`MAX_ERROR_STREAK` permanent errors in a row."""
        if self.link.cancelled:  # rig shut the session down (Ctrl-C): not the server's error
            return False
        error = rig.DatabaseError(self.link.normalize(exc), operation=f"{self.workload.name} event",
                                  connection_id=self.stats.id)
        self.stats.errors[(error.error_class.value, error.code)] += 1
        self._interval_errors += 1
        if error.error_class is rig.ErrorClass.RECONNECT:
            return self._reconnect(error)
        if self.workload.transactional:
            with contextlib.suppress(*self.errors):
                self.link.raw.rollback()
        if error.error_class is rig.ErrorClass.PERMANENT:
            progress += self.stats.events
            self._streak = self._streak + 1 if progress == self._progress_at_error else 1
            self._progress_at_error = progress
            if self._streak >= MAX_ERROR_STREAK:
                raise error
        return True

    def _reconnect(self, error: rig.DatabaseError) -> bool:
        """Reconnect (until the end of the run); record the gap."""
        plan = self.run_.plan
        began = time.perf_counter()
        self.link.log.warning("lost the connection ({}); reconnecting", error)
        raw = reconnect(self.link, plan.end)
        if raw is not None:
            self.event = self._bind(raw)
            gap = time.perf_counter() - began
            self.stats.reconnects += 1
            self._interval_reconnects += 1
            self.stats.gaps.append({"at_s": round(began - plan.t0, 3),
                                    "duration_s": round(gap, 3), "cause": str(error),
                                    "reconnected": True})
            self.link.log.warning("reconnected after {:.2f}s", gap)
            return True
        self.stats.gaps.append({"at_s": round(began - plan.t0, 3),
                                "duration_s": round(time.perf_counter() - began, 3),
                                "cause": str(error), "reconnected": False})
        return False

    def _sleep_until(self, when: float) -> None:
        while not self.link.cancelled:
            wait = when - time.perf_counter()
            if wait <= 0:
                return
            time.sleep(min(wait, 0.2))


class _Cancelled(threading.Event):
    """``link.cancelled`` as the event :func:`rig.call_with_retry` watches (set on Ctrl-C)."""

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        super().__init__()
        self._cancelled = cancelled

    def is_set(self) -> bool:
        return self._cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        end = time.perf_counter() + (timeout or 0.0)
        while not self._cancelled() and (wait := end - time.perf_counter()) > 0:
            time.sleep(min(wait, _CANCEL_POLL_S))
        return self._cancelled()


def reconnect(link: Link, end: float) -> Any | None:
    """A new connection of ``link`` through :func:`rig.call_with_retry`: the run's retry policy
    paces the attempts (its exponential backoff and jitter, up to its ``max_delay``), stretched
    to the end of the run (``end``, on ``perf_counter``'s clock) — a load worker keeps trying
    as long as the run lasts, so a restarted server is found again — behind the server's
    circuit breaker. While the breaker is open the attempt waits out its cooldown (one trial
    at a time goes through). ``None`` when the run ended (or was cancelled) first, or the
    server refused with a permanent error."""
    cancelled = _Cancelled(lambda: link.cancelled)
    failures: tuple[type[BaseException], ...] = (rig.RigError, *link.errors)

    def attempt(_number: int) -> Any:
        try:
            return link.reconnect()
        except failures as exc:
            link.log.debug("reconnect failed: {}", exc)
            if isinstance(exc, rig.RigError) and not isinstance(exc, rig.DatabaseError):
                # ctx.reconnect gave up after its own retries: try again on our schedule
                raise ConnectionError(str(exc)) from exc
            normal = link.normalize(exc)
            if normal is exc:
                raise
            raise normal from exc

    while not cancelled.is_set():
        left = end - time.perf_counter()
        if left <= 0:
            return None
        policy = dataclasses.replace(link.retry_policy, attempts=_UNLIMITED_ATTEMPTS,
                                     max_time=left)
        try:
            return rig.call_with_retry(attempt, operation=f"reconnect {link.id}",
                                       policy=policy, breaker=link.breaker,
                                       connection_id=link.id, cancelled=cancelled)
        except rig.DatabaseError as exc:
            retry_in = getattr(exc, "retry_in", None)  # the breaker is open
            if retry_in is None:
                if exc.error_class is rig.ErrorClass.PERMANENT:
                    link.log.warning("reconnect refused: {}", exc)
                return None
            link.log.debug("reconnect failed: {}", exc)
            cancelled.wait(min(max(retry_in, _CANCEL_POLL_S), max(end - time.perf_counter(),
                                                                  0.0)))
    return None
