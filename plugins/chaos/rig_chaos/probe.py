"""The probe: one session doing ``SELECT 1`` at a steady pace through the route the workload
uses (the proxy, when there is one), recording every attempt's times and outcome — what the
verdict on each fault is measured from, with or without a workload plugin."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

import rig

PACE_S = 0.1
"""One probe every this many seconds (while the previous one has answered)."""
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Sample:
    """One probe: when it began and ended (seconds on the run's timeline), and how it went."""

    start_s: float
    end_s: float
    ok: bool
    error: str | None = None


class Probe:
    """A thread probing the server until :meth:`stop`."""

    settings: rig.ConnectionSettings
    """Where it connects (the run's route to the server); set before :meth:`start`."""

    def __init__(self, timeline: rig.Timeline) -> None:
        self.timeline = timeline
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connector = rig.Connector()
        self._thread = threading.Thread(target=self._loop, name="rig-chaos-probe", daemon=True)

    def start(self) -> None:
        """Start probing."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop probing; a probe waiting on a frozen server is left to its daemon thread after
        ``timeout`` (the nemesis resumes the server before the probe is stopped)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def snapshot(self) -> list[Sample]:
        """The samples so far (a copy)."""
        with self._lock:
            return list(self.samples)

    def _loop(self) -> None:
        session: Any = None
        try:
            while not self._stop.is_set():
                began = self.timeline.now_s()
                try:
                    if session is None:
                        session = self._connector.open_raw(self.settings)
                    with session.cursor() as cursor:
                        cursor.execute("SELECT 1")
                        cursor.fetchall()
                    sample = Sample(began, self.timeline.now_s(), True)
                except Exception as exc:  # any failure of the server or the route is a sample
                    sample = Sample(began, self.timeline.now_s(), False,
                                    f"{type(exc).__name__}: {exc}"[:200])
                    if session is not None:
                        with contextlib.suppress(Exception):
                            session.close()
                    session = None
                with self._lock:
                    self.samples.append(sample)
                self._stop.wait(max(0.0, PACE_S - (sample.end_s - sample.start_s)))
        finally:
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()


def summary(samples: list[Sample]) -> dict[str, Any]:
    """The report's probe figures: attempts, successes, failures, the longest wait."""
    failures = [s for s in samples if not s.ok]
    return {"attempts": len(samples), "ok": len(samples) - len(failures),
            "failed": len(failures),
            "longest_s": round(max((s.end_s - s.start_s for s in samples), default=0.0), 3),
            "pace_s": PACE_S}
