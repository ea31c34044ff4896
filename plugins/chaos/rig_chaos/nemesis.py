"""The nemesis: a background thread that injects the schedule's faults at their times and undoes
them, each fault a ``start``/``end`` period on the run's timeline (``chaos.KIND``, data
``fault``, ``parameters``, ``index``). Its clock starts with :meth:`Nemesis.begin` (the workload
began); :meth:`Nemesis.stop` undoes whatever is active, from any thread, also on Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_chaos.faults import Means, Undo, inject
from rig_chaos.schedule import FaultSpec

SOURCE = "chaos"
WATCH_S = 0.05
"""How often the nemesis looks whether the run was interrupted, while faults remain."""


@dataclass
class FaultRecord:
    """What became of one fault of the schedule."""

    index: int
    spec: FaultSpec
    start_s: float | None = None
    """On the run's timeline; ``None``: not injected (skipped, or the run ended first)."""
    end_s: float | None = None
    error: str | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    """What a network fault did at once: the connections open, reset or cut off."""
    undo: Undo | None = field(default=None, repr=False)

    @property
    def event(self) -> str:
        """The timeline name of its period."""
        return f"{SOURCE}.{self.spec.kind}"


class Nemesis:
    """Runs the schedule on its own thread once :meth:`begin` is called."""

    def __init__(self, schedule: list[FaultSpec], means: Means, timeline: rig.Timeline) -> None:
        self.records = [FaultRecord(i, spec) for i, spec in enumerate(schedule, 1)]
        self.means = means
        self.timeline = timeline
        self.origin_s: float | None = None
        """When the clock started, on the run's timeline."""
        self.error: BaseException | None = None
        """The first failure injecting or undoing a fault (the run ends in error)."""
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = False
        self._no_new = False
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rig-chaos-nemesis",
                                        daemon=True)
        self._cancelled: Callable[[], bool] = lambda: False

    def watch(self, cancelled: Callable[[], bool]) -> None:
        """Undo every fault and inject nothing more as soon as ``cancelled()`` is true (the
        run was interrupted): checked every :data:`WATCH_S` seconds while faults remain."""
        self._cancelled = cancelled
        self._wake.set()

    @property
    def started(self) -> bool:
        """Whether the clock started."""
        return self.origin_s is not None

    def begin(self) -> bool:
        """Start the clock and the thread (once; later calls do nothing); whether this call
        started it."""
        with self._lock:
            if self.origin_s is not None or self._stopping:
                return False
            self.origin_s = self.timeline.now_s()
            self._thread.start()
            return True

    def no_new_faults(self) -> None:
        """The workload is over: inject nothing more; active faults still end at their time."""
        with self._lock:
            self._no_new = True
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Inject nothing more and undo every active fault now (a paused server resumed, the
        network healed, pressure stopped); returns once done. Safe from any thread, twice."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._undo_all()
        self.done.set()

    def _stop_now(self) -> None:
        """On the nemesis thread: inject nothing more, undo what is active."""
        with self._lock:
            self._stopping = True
        self._undo_all()

    def _next(self) -> tuple[float, FaultRecord, bool] | None:
        """The next action: (when, record, inject?) or ``None`` when nothing is left."""
        assert self.origin_s is not None
        actions = []
        for record in self.records:
            if record.start_s is None and record.error is None and not self._no_new:
                actions.append((self.origin_s + record.spec.start_s, record, True))
            elif record.undo is not None:
                assert record.start_s is not None
                actions.append((record.start_s + (record.spec.duration_s or 0.0), record,
                                False))
        return min(actions, key=lambda action: action[0]) if actions else None

    def _loop(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        return
                    action = self._next()
                if action is None:
                    return
                when, record, start = action
                if self._cancelled():
                    self._stop_now()
                    return
                wait = when - self.timeline.now_s()
                if wait > 0:
                    self._wake.wait(min(wait, WATCH_S))
                    self._wake.clear()
                    continue  # stopped, told to inject nothing more, or time: look again
                if start:
                    self._inject(record)
                else:
                    self._end(record)
        finally:
            self.done.set()

    def _inject(self, record: FaultRecord) -> None:
        spec = record.spec
        data: dict[str, Any] = {"fault": spec.kind, "parameters": dict(spec.params),
                                "index": record.index}
        event = self.timeline.add(record.event, source=SOURCE, kind=rig.EventKind.START,
                                  detail=spec.label, data=data)
        record.start_s = event.at_s
        try:
            undo = inject(spec, self.means, record.applied)
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.error = self.error or exc
            self._close(record, {"error": record.error})
            return
        if spec.duration_s is None:
            self._close(record, {})
        else:
            record.undo = undo

    def _end(self, record: FaultRecord, *, early: bool = False) -> None:
        with self._lock:
            undo, record.undo = record.undo, None
        if undo is None and early:
            return  # another thread undid it meanwhile
        # the fault ends when it is lifted: what the server then takes to come back (a killed
        # one's restart and crash recovery) counts in its recovery, not in the fault
        self._close(record, {"undone_early": True} if early else {})
        try:
            if undo is not None:
                undo()
        except Exception as exc:
            record.error = f"undoing it: {type(exc).__name__}: {exc}"
            self.error = self.error or exc
            self.timeline.add(f"{record.event} undo failed", source=SOURCE,
                              detail=record.error,
                              data={"fault": record.spec.kind, "index": record.index})

    def _close(self, record: FaultRecord, extra: dict[str, Any]) -> None:
        event = self.timeline.add(record.event, source=SOURCE, kind=rig.EventKind.END,
                                  detail=record.spec.label,
                                  data={"fault": record.spec.kind, "index": record.index,
                                        **extra})
        record.end_s = event.at_s

    def _undo_all(self) -> None:
        with self._lock:
            active = [record for record in self.records if record.undo is not None]
        for record in reversed(active):
            self._end(record, early=True)
