"""When each connection starts and stops, and the grid of report intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass


def natural_order(connection_ids: list[str]) -> list[str]:
    """Connection ids in the coordinator's order (``c2`` before ``c10``)."""
    return sorted(connection_ids, key=lambda cid: (len(cid), cid))


@dataclass(frozen=True)
class Plan:
    """The timeline of a run, in ``time.perf_counter`` seconds.

    Connections start one after another over ``ramp_up`` (the first at ``t0``); the measured
    window is ``[steady_start, end)``, ``duration`` long. Report intervals are aligned on
    ``steady_start``: interval ``k`` covers ``steady_start + k*interval`` onwards, so the ramp
    has negative ``k`` and is never counted in the final figures.
    """

    t0: float
    ramp_up: float
    duration: float
    interval: float
    order: tuple[str, ...]

    @property
    def steady_start(self) -> float:
        """When the measured window opens (after the ramp)."""
        return self.t0 + self.ramp_up

    @property
    def end(self) -> float:
        """When every connection stops starting events."""
        return self.steady_start + self.duration

    def start_of(self, connection_id: str) -> float:
        """When ``connection_id`` starts: its share of the ramp, in order."""
        index = self.order.index(connection_id)
        return self.t0 + self.ramp_up * index / len(self.order)

    def index_at(self, when: float) -> int:
        """The report interval that time ``when`` falls in."""
        return math.floor((when - self.steady_start) / self.interval)

    def bounds(self, index: int) -> tuple[float, float]:
        """The start and end of interval ``index``, clipped to ``[t0, end]``."""
        start = self.steady_start + index * self.interval
        return max(start, self.t0), min(start + self.interval, self.end)
