"""One chaos run: the schedule, the nemesis, the probe and the proxy, kept in ``config.stash``;
the ``chaos_judging`` state; the report section and the summary lines."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_chaos import options, probe, verdict
from rig_chaos.faults import Means
from rig_chaos.nemesis import Nemesis
from rig_chaos.proxy import FaultProxy
from rig_chaos.schedule import FaultSpec

RUN: rig.Key[ChaosRun] = rig.Key("chaos.run")
FINISHED: rig.Key[int] = rig.Key("chaos.finished")
"""Shared: how many connections reached ``completed`` or ``error``."""
JUDGE: rig.Key[str] = rig.Key("chaos.judge")
"""Shared: the connection that judges the faults (the first to reach ``chaos_judging``)."""
RECOVERY_GRACE_S = 1.0


@dataclass
class ChaosRun:
    """Everything chaos keeps for one run."""

    faults: list[FaultSpec]
    seed: int | None
    nemesis: Nemesis
    probe: probe.Probe
    max_recovery_s: float
    proxy: FaultProxy | None = None
    intervals: list[dict[str, Any]] = field(default_factory=list)
    """load's interval records (``load_interval``), when load runs."""
    judged: list[dict[str, Any]] | None = None
    _finished: bool = False
    _watching: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def configure(cls, config: rig.Config) -> ChaosRun:
        """Read the options, refuse what chaos may not do, prepare (but do not start) the
        nemesis and the probe; with a network fault in the schedule, start the fault proxy in
        front of the run's server and reroute the run's connections through it."""
        faults, seed = options.schedule(config)
        target = options.target(config, faults)
        hosts = config.getoption("host")
        if options.needs_proxy(faults) and len(hosts) != 1:
            raise rig.UsageError(f"network faults act on one server, but --host names "
                                 f"{len(hosts)}", hint="give one --host, or use --sandbox")
        host = hosts[0]
        server = (host.host, host.port or config.getoption("port"))
        proxy = FaultProxy(*server) if options.needs_proxy(faults) else None
        nemesis = Nemesis(faults, Means(target, proxy, seed), config.timeline)
        run = cls(faults, seed, nemesis, probe.Probe(config.timeline),
                  config.getoption("chaos_max_recovery"), proxy)
        if proxy is not None:
            try:
                proxy.start()
            except OSError as exc:
                raise rig.PluginError(f"could not start the chaos proxy on 127.0.0.1: {exc}",
                                      hint="free a local port, or drop the network faults"
                                      ) from None
            config.reroute(*server, proxy.host, proxy.port)
        dial_host, dial_port = config.route(*server)
        run.probe.settings = rig.ConnectionSettings(
            host=dial_host, port=dial_port, user=config.getoption("user"),
            password=config.getoption("password"),
            connect_timeout=min(probe.CONNECT_TIMEOUT_S, config.getoption("connect_timeout")),
            ssl_mode=config.getoption("ssl_mode"), ssl_ca=config.getoption("ssl_ca"))
        return run

    def watch(self, ctx: rig.Context) -> None:
        """A connection of the run: an interrupt (Ctrl-C, SIGTERM) undoes every fault at once,
        before the connections' cleanup, which goes through the proxy."""
        if not self._watching:
            self._watching = True
            self.nemesis.watch(lambda: ctx.cancelled)

    def begin(self) -> None:
        """The workload began: start the clock and the probe (once)."""
        if self.nemesis.begin():
            self.probe.start()

    def finish(self) -> None:
        """Undo every fault, stop the probe, judge what ran (once; idempotent)."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.nemesis.stop()
        self.probe.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.judged is None:
            self.judged = self.judge()

    def judge(self) -> list[dict[str, Any]]:
        """Every fault with its effect and verdict, from what was measured so far."""
        return verdict.judge(self.nemesis.records, self.probe.snapshot(), self.intervals,
                             self.max_recovery_s)

    def wait_recovery(self, cancelled: Callable[[float], bool]) -> None:
        """Until the probe succeeded after the last fault ended, or the recovery limit (and a
        second) passed; ``cancelled(seconds)`` waits and says whether the run is interrupted."""
        ends = [r.end_s for r in self.nemesis.records if r.end_s is not None]
        if not ends:
            return
        last = max(ends)
        timeline = self.nemesis.timeline
        deadline = last + self.max_recovery_s + RECOVERY_GRACE_S
        while timeline.now_s() < deadline:
            if any(s.ok and s.end_s >= last for s in self.probe.snapshot()):
                return
            if cancelled(probe.PACE_S):
                return

    def section(self) -> dict[str, Any]:
        """The ``chaos`` report section."""
        self.finish()
        return {"mode": "fixed" if self.seed is None else "random", "seed": self.seed,
                "schedule": [fault.as_json() for fault in self.faults],
                "started_at_s": None if self.nemesis.origin_s is None
                else round(self.nemesis.origin_s, 3),
                "max_recovery_s": self.max_recovery_s, "faults": self.judged or [],
                "probe": probe.summary(self.probe.snapshot()),
                "proxy": None if self.proxy is None else {
                    "listen": self.proxy.address,
                    "server": f"{self.proxy.upstream_host}:{self.proxy.upstream_port}",
                    "port": self.proxy.port, **self.proxy.stats()}}

    def summary_lines(self, write: Callable[[str], None], terminal: rig.Terminal) -> None:
        """The console summary: the schedule, then one line per fault."""
        self.finish()
        seed = "" if self.seed is None else f" (random, seed {self.seed})"
        write(f"chaos: {len(self.faults)} fault(s){seed}; probe: "
              f"{probe.summary(self.probe.snapshot())['failed']} failed probe(s)")
        for fault in self.judged or []:
            colour = {"pass": "green", "fail": "red"}.get(fault["verdict"], "yellow")
            write(f"    {terminal.style(fault['verdict'].upper(), colour)} "
                  f"{verdict.describe(fault, self.max_recovery_s)}")


class Judging:
    """After the workload: inject nothing more (or, when no other plugin began a workload, run
    the whole schedule now), wait for the active faults to end and the server to answer, then
    one check per fault (recorded by the first connection here)."""

    def execute(self, ctx: rig.Context) -> None:
        run = ctx.config.stash[RUN]
        if not run.nemesis.started:
            run.begin()  # chaos is the workload: every fault runs
        else:
            run.nemesis.no_new_faults()
        while not run.nemesis.done.is_set():
            if ctx.wait(probe.PACE_S):
                run.nemesis.stop()
                return
        if run.nemesis.error is not None:
            error = run.nemesis.error
            raise rig.PluginError(f"chaos could not inject or undo a fault: "
                                  f"{type(error).__name__}: {error}") from error
        judge = ctx.shared.update(JUDGE, lambda current: current or ctx.connection_id)
        if judge != ctx.connection_id:
            return
        run.wait_recovery(ctx.wait)
        run.judged = run.judge()
        for fault in run.judged:
            outcome = {"pass": rig.Verdict.PASS, "fail": rig.Verdict.FAIL}.get(
                fault["verdict"], rig.Verdict.SKIP)
            ctx.check(f"chaos {fault['kind']} #{fault['index']}", outcome,
                      verdict.describe(fault, run.max_recovery_s))
