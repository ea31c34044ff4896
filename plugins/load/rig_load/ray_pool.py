"""``--load-executor ray``: the load workers run as Ray actors spread over a Ray cluster's
nodes, so the load can come from more machines than rig's own.

Each actor runs a :class:`~rig_load.processes.Job` (its share of the connections, threads
inside) with the same :class:`~rig_load.worker.Worker` as a local run. Per report interval an
actor merges its connections' latencies into one HDR histogram and ships it encoded (a
histoblob), with the interval's counts; rig's process decodes and merges the histograms
exactly (percentiles are never averaged) into the same :class:`~rig_load.run.LoadRun`, so the
interval lines, the JSON and the HTML report are those of a local run. The plan is fixed on
rig's clock; each actor's copy is shifted by the offset of its clock, measured by round
trips (Cristian's algorithm), so every actor cuts the intervals at the same instants.

An actor that dies (its process, or its node) is noticed when its next hand-over fails: its
connections end in error with the node and their share of the load named, and the others
run on.

Ray is an optional dependency (``pip install 'rig-plugin-load[ray]'``), imported only here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import math
import os
import queue
import socket
import threading
import time
from typing import Any

from loguru import logger

import rig
from rig_load.histogram import LatencyHistogram
from rig_load.plan import Plan
from rig_load.processes import Job, JobRunner, QueueSink, deliver, forward_logs
from rig_load.run import LoadRun, WorkerStats

INSTALL = "pip install 'rig-plugin-load[ray]'"
LOCAL = "local"
"""``--load-ray-address`` when none is given: a new Ray instance on this machine, stopped at
the end of the run."""
READY_TIMEOUT_S = 120.0
"""How long the actors may take to be placed and to connect."""
_DRAIN_WAIT_S = 0.25
"""An actor answers a hand-over call as soon as it has something, or after this long."""
_CLOCK_ROUNDS = 5
_STOP_GRACE_S = 10.0
_CONNECT_PROBE_S = 5.0


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`rig.ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise rig.ConfigError(f"--load-executor ray: Ray is not installed ({exc})",
                              hint=INSTALL) from None
    return ray


class LoadActor:
    """One Ray actor: a job's workers, connected by :meth:`connect`, run on the plan it is
    given, handing their samples over in :meth:`drain`."""

    def __init__(self, job: Job) -> None:
        self._out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        forward_logs(self._out.put)
        self.job = job
        self.runner: JobRunner | None = None

    def connect(self) -> dict[str, Any]:
        """Connect every worker; this actor's node (id and IP address) and process id, and
        ``error`` when a connection failed."""
        import ray

        where: dict[str, Any] = {"node_id": ray.get_runtime_context().get_node_id(),
                                 "node_ip": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
                                 "pid": os.getpid()}
        try:
            self.runner = JobRunner(self.job, self._out.put, self._stop.is_set)
        except Exception as exc:  # shown in rig's process as the run's error
            error = exc if isinstance(exc, rig.RigError) else rig.DatabaseError(
                exc, operation="connect a load worker")
            where["error"] = str(error)
        return where

    def clock(self) -> float:
        """This process's ``time.perf_counter``."""
        return time.perf_counter()

    def run(self, plan: Plan) -> None:
        """Start the workers on ``plan`` (already on this actor's clock); returns at once."""
        assert self.runner is not None
        self.runner.start(QueueSink(plan, self.job.workload, self._out))
        threading.Thread(target=self._wait, name="rig-load-join", daemon=True).start()

    def _wait(self) -> None:
        assert self.runner is not None
        self.runner.join()
        self._out.put(("done",))

    def stop(self) -> None:
        """Ask the workers to stop (Ctrl-C in rig)."""
        self._stop.set()

    def drain(self, wait_s: float) -> list[tuple[Any, ...]]:
        """What happened since the last call (waiting up to ``wait_s`` for something): the
        workers' samples merged per interval into histoblobs (``("histogram", workers,
        index, blob, errors, reconnects)``), then the other messages in order; ``("done",)``
        last once every worker finished."""
        messages: list[tuple[Any, ...]] = []
        with contextlib.suppress(queue.Empty):
            messages.append(self._out.get(timeout=wait_s))
            while True:
                messages.append(self._out.get_nowait())
        merged: dict[int, tuple[LatencyHistogram, set[str], list[int]]] = {}
        others: list[tuple[Any, ...]] = []
        for message in messages:
            if message[0] != "submit":
                others.append(message)
                continue
            _kind, worker, index, counts, errors, reconnects = message
            histogram, workers, figures = merged.setdefault(
                index, (LatencyHistogram(), set(), [0, 0]))
            histogram.record_counts(counts)
            workers.add(worker)
            figures[0] += errors
            figures[1] += reconnects
        shipped: list[tuple[Any, ...]] = [
            ("histogram", sorted(workers), index, histogram.encode(), figures[0], figures[1])
            for index, (histogram, workers, figures) in sorted(merged.items())]
        return shipped + others


@dataclasses.dataclass
class _Placed:
    """An actor of the run, where it runs, and its connections."""

    handle: Any
    job: Job
    where: dict[str, Any]
    offset_s: float = 0.0
    """Its clock minus rig's."""
    uncertainty_s: float = 0.0
    """Half the shortest round trip of the clock measurement."""
    lost: str | None = None
    """Why it died, once it did."""

    @property
    def connections(self) -> list[str]:
        return [spec.id for spec in self.job.workers]

    def describe(self) -> str:
        return f"node {self.where['node_ip']} ({self.where['node_id'][:12]})"


class RayPool:
    """rig's side of ``--load-executor ray``: connects to (or starts) Ray, places one actor
    per job, follows their hand-overs, and notices an actor that dies.

    :param address: ``local`` (a new Ray instance here), ``auto`` (the cluster ``ray start``
        made on this machine) or ``HOST:PORT`` of a cluster's head.
    """

    def __init__(self, jobs: list[Job], address: str) -> None:
        self.jobs = jobs
        self.address = address
        self._ray = import_ray()
        self.placed: list[_Placed] = []
        self._run: LoadRun | None = None
        self._pump: threading.Thread | None = None
        self._connected = False
        self._closing = threading.Lock()
        self._release = threading.Event()
        self._keeper = threading.Thread()
        self._stopping: list[Any] = []
        self.cpus_per_actor = 0.0
        self.nodes: dict[str, str] = {}
        """Node id → IP address, of the nodes the actors run on."""

    def start(self) -> None:
        """Join the Ray cluster, place the actors and wait until each connected its
        workers; measure each actor's clock."""
        ray = self._ray
        self._connect()
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        if cpus <= 0:
            self.close()
            raise rig.PluginError(f"the Ray cluster at {self.address} has no CPU for the load "
                                  "actors", hint="start worker nodes with "
                                  "'ray start --address HEAD:PORT --num-cpus N'")
        # every actor fits: at most one CPU each, the cluster's CPUs shared out
        self.cpus_per_actor = min(1.0, math.floor(cpus / len(self.jobs) * 1000) / 1000)
        remote = ray.remote(LoadActor).options(num_cpus=self.cpus_per_actor,
                                               scheduling_strategy="SPREAD",
                                               max_concurrency=4, max_restarts=0)
        handles = [remote.remote(job) for job in self.jobs]
        ready = {handle.connect.remote(): (handle, job) for handle, job in zip(handles,
                                                                             self.jobs,
                                                                             strict=True)}
        done, pending = ray.wait(list(ready), num_returns=len(ready),
                                 timeout=READY_TIMEOUT_S)
        try:
            if pending:
                raise rig.PluginError(
                    f"Ray placed {len(done)} of {len(ready)} load actors within "
                    f"{READY_TIMEOUT_S:g}s (the cluster has {cpus:g} CPUs; each actor asks "
                    f"for {self.cpus_per_actor:g})",
                    hint="check the cluster with 'ray status', or use fewer --load-processes")
            for ref in done:
                handle, job = ready[ref]
                try:
                    where = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    raise rig.PluginError(f"a load actor could not start: "
                                          f"{_first_line(exc)}",
                                          hint="run with -v; check the connection settings "
                                          "and that every Ray node has rig-plugin-load "
                                          "installed") from None
                if "error" in where:
                    raise rig.PluginError(f"a load actor on node {where['node_ip']} could not "
                                          f"connect: {where.pop('error')}",
                                          hint="check that every load machine reaches the "
                                          "server with these settings")
                self.placed.append(_Placed(handle, job, where))
        except BaseException:
            self.close()
            raise
        self.placed.sort(key=lambda placed: placed.job.number)
        self.nodes = {p.where["node_id"]: p.where["node_ip"] for p in self.placed}
        self._refuse_loopback()
        for placed in self.placed:
            self._measure_clock(placed)

    def _connect(self) -> None:
        """Join (or start) Ray from a thread of the pool's own that lives until
        :meth:`close`: Ray starts its local processes bound to the thread that started them
        (they die with it), and a connection's thread ends before the run does."""
        address = self.address
        if address not in (LOCAL, "auto") and not address.startswith("ray://"):
            _probe(address)  # Ray itself retries an unreachable address for minutes
        joined: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self._keeper = threading.Thread(target=self._keep, args=(joined,), name="rig-ray",
                                        daemon=True)
        self._keeper.start()
        failure = joined.get()
        if failure is not None:
            self._keeper.join()
            raise rig.ConnectError(f"cannot join the Ray cluster at {address}: "
                                   f"{_first_line(failure)}",
                                   hint="start it with 'ray start --head' (and 'ray start "
                                   "--address HEAD:PORT' on every load machine), then give "
                                   "--load-ray-address HEAD:PORT") from None
        self._connected = True

    def _keep(self, joined: queue.SimpleQueue[BaseException | None]) -> None:
        """The keeper thread: ``ray.init``, then ``ray.shutdown`` once :meth:`close` asks."""
        ray = self._ray
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": logging.ERROR, "namespace": "rig-load"}
        if self.address == LOCAL:
            options["object_store_memory"] = 128 * 1024 * 1024  # histoblobs are small
        try:
            ray.init(address=self.address, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            joined.put(exc)
            return
        joined.put(None)
        self._release.wait()
        with contextlib.suppress(Exception):
            ray.shutdown()

    def _refuse_loopback(self) -> None:
        """A loopback ``--host`` reaches a different server from another machine."""
        here = self._ray.util.get_node_ip_address()
        elsewhere = sorted({ip for ip in self.nodes.values() if ip != here})
        if not elsewhere:
            return
        for job in self.jobs:
            for spec in job.workers:
                if _is_loopback(spec.settings.host):
                    self.close()
                    raise rig.ConfigError(
                        f"--host {spec.settings.host} is this machine's loopback address, but "
                        f"load actors run on {', '.join(elsewhere)}, where it is theirs",
                        hint="give --host an address every load machine reaches")

    def _measure_clock(self, placed: _Placed) -> None:
        """Cristian's algorithm: the actor's clock read halfway through the shortest of a few
        round trips."""
        ray = self._ray
        best: tuple[float, float] | None = None
        for _ in range(_CLOCK_ROUNDS):
            sent = time.perf_counter()
            theirs = ray.get(placed.handle.clock.remote())
            back = time.perf_counter()
            if best is None or back - sent < best[0]:
                best = (back - sent, theirs - (sent + back) / 2)
        assert best is not None
        placed.uncertainty_s, placed.offset_s = best[0] / 2, best[1]

    def launch(self, run: LoadRun) -> None:
        """Give every actor the plan, on its own clock, and follow them until they are done."""
        self._run = run
        for placed in self.placed:
            shifted = dataclasses.replace(run.plan, t0=run.plan.t0 + placed.offset_s)
            placed.handle.run.remote(shifted)
        self._pump = threading.Thread(target=self._follow, name="rig-load-ray", daemon=True)
        self._pump.start()

    def _follow(self) -> None:
        ray = self._ray
        run = self._run
        assert run is not None
        calls = {placed.handle.drain.remote(_DRAIN_WAIT_S): placed for placed in self.placed}
        while calls:
            done, _ = ray.wait(list(calls), num_returns=1, timeout=1.0)
            for ref in done:
                placed = calls.pop(ref)
                try:
                    messages = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    self._lost(placed, exc)
                    continue
                finished = False
                for message in messages:
                    if message[0] == "done":
                        finished = True
                        continue
                    if message[0] == "finish":
                        message[1].where = placed.where | {"actor": placed.job.number}
                    deliver(run, message)
                if not finished:
                    calls[placed.handle.drain.remote(_DRAIN_WAIT_S)] = placed

    def _lost(self, placed: _Placed, exc: BaseException) -> None:
        """An actor died: its unfinished connections end in error, naming its node and their
        share of the load."""
        run = self._run
        assert run is not None
        at_s = round(time.perf_counter() - run.plan.t0, 3)
        ids = placed.connections
        total = len(run.plan.order)
        placed.lost = _first_line(exc, prefer="died because")
        message = (f"the Ray load actor on {placed.describe()} died {at_s:g}s into the run: "
                   f"{placed.lost}; it ran {', '.join(ids)} ({len(ids)} of {total} "
                   f"connections, {100 * len(ids) / total:.0f} % of the load)")
        logger.bind(conn="load", state="load_running").warning(message)
        for worker in ids:
            if worker not in run.workers:
                run.failures[worker] = message
                run.finish(WorkerStats(worker, where=placed.where | {
                    "actor": placed.job.number, "lost_at_s": at_s}))

    def cancel(self) -> None:
        """Ask every actor's workers to stop (Ctrl-C); once is enough."""
        if self._stopping:
            return
        for placed in self.placed:
            with contextlib.suppress(Exception):
                self._stopping.append(placed.handle.stop.remote())

    def close(self) -> None:
        """Stop the actors and leave Ray (stopping it when it was started here); never
        raises. Idempotent, and a second caller waits for the first (no Ray call may follow
        the shutdown: it would start a new local Ray instance)."""
        with self._closing:
            if not self._connected:
                return
            ray = self._ray
            began = time.perf_counter()
            self.cancel()
            if self._pump is not None:
                self._pump.join(_STOP_GRACE_S)
            with contextlib.suppress(Exception):  # nothing left in flight at the shutdown
                ray.wait(self._stopping, num_returns=len(self._stopping),
                         timeout=_STOP_GRACE_S)
            stopped = time.perf_counter()
            self._release.set()
            self._keeper.join()
            self._connected = False
            logger.bind(conn="load", state="load_cleaning_up").debug(
                "Ray actors stopped in {:.2f}s, Ray left in {:.2f}s", stopped - began,
                time.perf_counter() - stopped)

    def as_json(self) -> dict[str, Any]:
        """The executor's part of the ``load`` report section: the actors, where they ran,
        their clock offsets, and those lost."""
        return {"name": "ray", "address": self.address, "nodes": len(self.nodes),
                "cpus_per_actor": self.cpus_per_actor,
                "actors": [{"actor": p.job.number, **p.where, "connections": p.connections,
                            "clock_offset_s": round(p.offset_s, 6),
                            "clock_uncertainty_s": round(p.uncertainty_s, 6),
                            "lost": p.lost} for p in self.placed]}

    def describe(self) -> str:
        """One line for the log: how many actors on how many nodes."""
        worst = max((p.uncertainty_s for p in self.placed), default=0.0)
        return (f"{len(self.placed)} Ray actors on {len(self.nodes)} node(s) "
                f"({', '.join(sorted(set(self.nodes.values())))}), clocks aligned within "
                f"{worst * 1000:.2f} ms")


def _probe(address: str) -> None:
    """Refuse at once a ``HOST:PORT`` where nothing listens."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), _CONNECT_PROBE_S).close()
    except (OSError, ValueError) as exc:
        raise rig.ConnectError(f"cannot join the Ray cluster at {address}: "
                               f"{exc.strerror or exc if isinstance(exc, OSError) else exc}",
                               hint="start it with 'ray start --head' on the head machine and "
                               "give --load-ray-address HEAD:PORT (the address 'ray start' "
                               "printed)") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first_line(exc: BaseException, prefer: str = "") -> str:
    """The most telling line of an exception's message (Ray's run over several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if prefer:
        for line in lines:
            if prefer in line:
                return line
    return lines[0] if lines else type(exc).__name__
