"""Per-connection metrics: counters and timings, summarised into the report."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in 0..1)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values: list[float]) -> dict[str, float | int]:
    """count, min, median, p95, p99, max and mean of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "min": ordered[0],
        "median": percentile(ordered, 0.5),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }


class Metrics:
    """Counters and timings of one connection, safe to use from its thread and observers."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}
        self._timings: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def increment(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name``."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + amount

    def observe(self, name: str, milliseconds: float) -> None:
        """Record one timing of ``name`` in milliseconds."""
        with self._lock:
            self._timings.setdefault(name, []).append(milliseconds)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the ``with`` block into ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(name, (time.perf_counter() - start) * 1000.0)

    def timings(self, name: str) -> list[float]:
        """The recorded timings of ``name`` (a copy)."""
        with self._lock:
            return list(self._timings.get(name, []))

    def snapshot(self) -> dict[str, Any]:
        """Counters and timing summaries, for the JSON report."""
        with self._lock:
            return {
                "counters": dict(self._counters),
                "timings_ms": {name: summarize(v) for name, v in self._timings.items()},
            }
