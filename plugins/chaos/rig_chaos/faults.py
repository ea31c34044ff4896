"""Injecting one fault and undoing it: the server process (through a
:class:`~rig_chaos.target.ServerTarget`), the network (through the run's fault proxy) and CPU
pressure (busy processes)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rig
from rig_chaos.proxy import FaultProxy
from rig_chaos.schedule import FaultSpec
from rig_chaos.target import ServerTarget

BUSY_NICE = 10
"""Pressure processes run nice'd: they compete with the server without starving rig itself."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.nice(BUSY_NICE)


class CpuPressure:
    """``processes`` busy loops (default: one per core), stopped by :meth:`stop`."""

    def __init__(self, processes: int) -> None:
        self.count = processes or os.cpu_count() or 1
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start the busy processes."""
        for _ in range(self.count):
            self.processes.append(subprocess.Popen(
                [sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent))

    def stop(self) -> None:
        """Kill them and wait until they are gone; safe to call twice."""
        processes, self.processes = self.processes, []
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        for process in processes:
            process.wait()


@dataclass
class Means:
    """What faults act through: the server process (``None``: no process faults), the fault
    proxy (``None``: no network faults), and the seed a partial partition draws its
    connections from (``None``: drawn anew)."""

    target: ServerTarget | None
    proxy: FaultProxy | None
    seed: int | None = None


Undo = Callable[[], None]


def _nothing() -> None:
    """An instant fault has nothing to undo."""


def inject(spec: FaultSpec, means: Means, applied: dict[str, Any] | None = None) -> Undo:
    """Inject ``spec`` now and return what undoes it (called at its end, or at once on stop).
    ``kill`` without a duration and ``restart`` are over when this returns. What a network
    fault did at once (the connections it reset or cut off, of how many open) goes into
    ``applied``."""
    kind, params = spec.kind, spec.params
    if kind in ("kill", "restart", "pause"):
        target = means.target
        if target is None:
            raise rig.PluginError(f"no server to {kind}", hint="run with --sandbox")
        if kind == "kill":
            target.kill()
            if spec.duration_s is None:
                target.revive()
                return _nothing
            return target.revive
        if kind == "restart":
            target.restart()
            return _nothing
        target.pause()
        return target.resume
    if kind == "cpu":
        pressure = CpuPressure(int(params.get("processes", 0)))
        try:
            pressure.start()
        except BaseException:
            pressure.stop()
            raise
        return pressure.stop
    return _network(spec, means, {} if applied is None else applied)


def _network(spec: FaultSpec, means: Means, applied: dict[str, Any]) -> Undo:
    """A network fault on the proxy; its undo removes only its own family of faults, so
    overlapping faults of other families (latency during a partition) stay."""
    proxy = means.proxy
    if proxy is None:
        raise rig.PluginError(f"no fault proxy for {spec.kind}",
                              hint="network faults need the run's connections to go "
                              "through the chaos proxy")
    params = spec.params
    applied["open_connections"] = proxy.stats()["open"]
    if spec.kind == "latency":
        proxy.set_latency(params["delay_s"], params["jitter_s"], seed=means.seed)
        return lambda: proxy.heal("latency")
    if spec.kind == "bandwidth":
        proxy.set_bandwidth(params["bytes_per_s"])
        return lambda: proxy.heal("bandwidth")
    if spec.kind == "reset":
        applied["reset_connections"] = proxy.reset_connections()
        return _nothing
    if spec.kind == "partial":
        applied["cut_connections"] = len(proxy.partial_partition(params["fraction"],
                                                                 seed=means.seed))
    else:
        before = proxy.stats()["reset"]
        proxy.partition(mode="refuse" if spec.kind == "refuse" else "blackhole")
        if spec.kind == "refuse":
            applied["reset_connections"] = proxy.stats()["reset"] - before
        else:
            applied["cut_connections"] = applied["open_connections"]
    return lambda: proxy.heal("partition")
