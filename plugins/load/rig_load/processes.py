"""``--load-processes P``: the workers run in P worker processes (threads inside each), so the
client's CPU work is spread over every core instead of one interpreter's GIL.

The coordinator's connections still run the workflow (prepare, barrier, cleanup); during the
measured run each worker process opens its own connections and sends its samples, interval by
interval, to the parent, where the one :class:`~rig_load.run.LoadRun` merges them into the
same HDR histograms as in thread mode. A process that dies is noticed by the parent: its
connections end in error with the cause, the others finish.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

import rig
from rig_load import drivers
from rig_load.histogram import LatencyHistogram
from rig_load.plan import Plan
from rig_load.run import LoadRun, WorkerStats
from rig_load.worker import DriverLink, Sink, Worker
from rig_load.workloads import Workload

_POLL_S = 0.1
_READY_TIMEOUT_S = 60.0
_STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class WorkerSpec:
    """One worker of a process: its connection id, where to connect, the database."""

    id: str
    settings: rig.ConnectionSettings
    database: str


@dataclass(frozen=True)
class Resilience:
    """The run's retry policy and breaker settings, rebuilt in each worker process (a
    process has its own breaker per server: one trial at a time per process)."""

    retry_policy: rig.RetryPolicy
    breaker_threshold: int
    breaker_cooldown: float

    @classmethod
    def of(cls, connector: rig.Connector) -> Resilience:
        """The settings of the run's connector."""
        return cls(connector.retry_policy, connector.breakers.threshold,
                   connector.breakers.cooldown)


@dataclass(frozen=True)
class Job:
    """What one worker process runs."""

    number: int
    workers: tuple[WorkerSpec, ...]
    workload: Workload
    tables: tuple[str, ...]
    table_size: int
    think_time: float
    rate_per_worker: float
    driver: str
    resilience: Resilience


class QueueSink:
    """Sends a worker's samples as ``submit`` messages through ``out`` (a queue to rig's
    process, or to a Ray actor's next hand-over)."""

    def __init__(self, plan: Plan, workload: Workload, out: Any) -> None:
        self.plan = plan
        self.workload = workload
        self._out = out

    def submit(self, worker: str, index: int, counts_us: dict[int, int], errors: int = 0,
               reconnects: int = 0) -> None:
        self._out.put(("submit", worker, index, counts_us, errors, reconnects))


Emit = Callable[[tuple[Any, ...]], None]
"""Where a job's messages go: ``("log", level, conn, text)``, ``("failed", id, why)``,
``("finish", stats)`` (and ``("submit", …)`` through a sink), read by :func:`deliver`."""


def forward_logs(emit: Emit) -> None:
    """Send this process's log records to rig's process as ``log`` messages."""
    logger.remove()
    logger.configure(extra={"conn": "-", "state": "-"})
    logger.add(lambda message: emit(("log", message.record["level"].name,
                                     message.record["extra"]["conn"],
                                     message.record["message"])), level="DEBUG")


class JobRunner:
    """A job's workers wherever they run (a worker process, a Ray actor): creating it
    connects every worker; :meth:`start` runs them in threads, each ending with a
    ``("finish", stats)`` message, after ``("failed", id, why)`` when it failed."""

    def __init__(self, job: Job, emit: Emit, cancelled: Callable[[], bool]) -> None:
        resilience = job.resilience
        connector = rig.Connector(retry_policy=resilience.retry_policy)  # this process's own
        driver = drivers.load(job.driver, connector)
        breakers: dict[str, rig.CircuitBreaker] = {}
        for spec in job.workers:
            breakers.setdefault(spec.settings.address, rig.CircuitBreaker(
                spec.settings.address, resilience.breaker_threshold,
                resilience.breaker_cooldown))
        self.job = job
        self._emit = emit
        self._failures: tuple[type[BaseException], ...] = (rig.RigError, *driver.errors)
        self.links = [DriverLink(spec.id, spec.settings, spec.database, driver,
                                 log=logger.bind(conn=spec.id, state="load_running"),
                                 cancelled=cancelled, retry_policy=resilience.retry_policy,
                                 breaker=breakers[spec.settings.address])
                      for spec in job.workers]
        self._threads: list[threading.Thread] = []

    def start(self, sink: Sink) -> None:
        """Run every worker on ``sink.plan`` in a thread of its own."""
        self._threads = [threading.Thread(target=self._run_one, args=(link, sink),
                                          name=f"rig-load-{link.id}") for link in self.links]
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        """Wait for every worker to finish."""
        for thread in self._threads:
            thread.join()

    def _run_one(self, link: DriverLink, sink: Sink) -> None:
        job = self.job
        worker = Worker(link, sink, tables=list(job.tables), table_size=job.table_size,
                        think_time=job.think_time, rate=job.rate_per_worker)
        try:
            worker.run()
        except self._failures as exc:
            self._emit(("failed", link.id, str(exc)))
        finally:
            link.close()
            self._emit(("finish", worker.stats))


def child_main(job: Job, out: Any, start: Any, stop: Any) -> None:
    """A worker process: connect every worker, say ready, wait for the plan, run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through ``stop``
    forward_logs(out.put)
    runner = JobRunner(job, out.put, stop.is_set)
    out.put(("ready", job.number))
    plan: Plan = start.get()
    runner.start(QueueSink(plan, job.workload, out))
    runner.join()


def deliver(run: LoadRun, message: tuple[Any, ...]) -> str | None:
    """Hand a job's message to the run; the connection id when it says a worker finished."""
    kind = message[0]
    if kind == "submit":
        run.submit(*message[1:])
    elif kind == "histogram":
        _kind, workers, index, blob, errors, reconnects = message
        run.submit_histogram(workers, index, LatencyHistogram.decode(blob), errors, reconnects)
    elif kind == "finish":
        run.finish(message[1])
        return str(message[1].id)
    elif kind == "failed":
        run.failures[message[1]] = message[2]
    elif kind == "log":
        log_message(message)
    return None


class ProcessPool:
    """The parent's side: starts the worker processes, feeds their messages to the run, and
    notices a process that dies."""

    def __init__(self, jobs: list[Job]) -> None:
        # forked from a fork server that has rig and the driver imported: the processes share
        # those pages, where spawned ones each loaded their own copy (8 worker processes on 2
        # cores: 25-28 µs of client CPU per query instead of 36-39; docs/performance.md)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rig_load.processes",
                                        *{drivers.MODULES.get(job.driver, "pymysql")
                                          for job in jobs}])
        self.jobs = jobs
        self._queue: Any = context.Queue()
        self._starts = [context.Queue() for _ in jobs]
        self.stop = context.Event()
        self.processes = [
            context.Process(target=child_main, args=(job, self._queue, start, self.stop),
                            name=f"rig-load-{job.number}", daemon=True)
            for job, start in zip(jobs, self._starts, strict=True)]
        self._run: LoadRun | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        """Start the processes and wait until each has connected its workers."""
        for process in self.processes:
            process.start()
        ready: set[int] = set()
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while len(ready) < len(self.jobs):
            try:
                message = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [p for p in self.processes if p.exitcode is not None]
                if dead or time.monotonic() > deadline:
                    self.close()
                    cause = (f"exited with code {dead[0].exitcode}" if dead
                             else f"did not connect within {_READY_TIMEOUT_S:g}s")
                    raise rig.PluginError(f"load worker process {cause} before the run",
                                          hint="run with -v; check the connection settings"
                                          ) from None
                continue
            if message[0] == "ready":
                ready.add(message[1])
            elif message[0] == "log":
                log_message(message)

    def launch(self, run: LoadRun) -> None:
        """Give every process the plan and follow them until they are done."""
        self._run = run
        for start in self._starts:
            start.put(run.plan)
        self._pump = threading.Thread(target=self._follow, name="rig-load-pump", daemon=True)
        self._pump.start()

    def _follow(self) -> None:
        run = self._run
        assert run is not None
        owners = {spec.id: process for job, process in zip(self.jobs, self.processes,
                                                            strict=True)
                  for spec in job.workers}
        pending = set(owners)
        while pending:
            try:
                message = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                for worker in sorted(pending):
                    process = owners[worker]
                    if process.exitcode is not None:
                        run.failures[worker] = (f"load worker process {process.pid} died "
                                                f"(exit code {process.exitcode}) while "
                                                f"running {worker}")
                        run.finish(WorkerStats(worker))
                        pending.discard(worker)
                continue
            finished = deliver(run, message)
            if finished is not None:
                pending.discard(finished)
        for process in self.processes:
            process.join(_STOP_GRACE_S)

    def cancel(self) -> None:
        """Ask the workers to stop (Ctrl-C)."""
        self.stop.set()

    def as_json(self) -> dict[str, Any]:
        """The worker processes and their connections, for the report."""
        return {"name": "processes", "processes": [
            {"pid": process.pid, "connections": [spec.id for spec in job.workers]}
            for job, process in zip(self.jobs, self.processes, strict=True)]}

    def close(self) -> None:
        """Stop the processes (Ctrl-C, or a failed start); never raises."""
        self.stop.set()
        for process in self.processes:
            if process.is_alive():
                process.join(_STOP_GRACE_S)
            if process.is_alive():
                process.terminate()


def log_message(message: tuple[Any, ...]) -> None:
    """Log a worker process's message in rig's process, at its level, under its connection."""
    _kind, level, conn, text = message
    logger.bind(conn=conn, state="load_running").log(level, text)


def make_jobs(specs: list[WorkerSpec], processes: int, *, workload: Workload,
              tables: list[str], table_size: int, think_time: float,
              rate_per_worker: float, driver: str, resilience: Resilience) -> list[Job]:
    """Deal the workers round-robin over ``processes`` (at most one process per worker)."""
    count = min(processes, len(specs))
    return [Job(number, tuple(specs[number::count]), workload, tuple(tables), table_size,
                think_time, rate_per_worker, driver, resilience) for number in range(count)]
