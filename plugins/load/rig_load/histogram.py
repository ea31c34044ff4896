"""Latency histograms: HDR (constant memory however many samples, 3 significant digits)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
"""Latencies are recorded in microseconds, from 1 µs to one hour (longer ones are clamped)."""
SIGNIFICANT_DIGITS = 3

PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}


class LatencyHistogram:
    """An HDR histogram of latencies in microseconds, summarised in milliseconds."""

    def __init__(self) -> None:
        self._hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)

    @property
    def count(self) -> int:
        """How many latencies were recorded."""
        return int(self._hdr.get_total_count())

    def record_many(self, samples_us: Iterable[int]) -> None:
        """Record latencies given in whole microseconds (equal values are recorded at once)."""
        record = self._hdr.record_value
        for value, times in Counter(samples_us).items():
            record(min(max(value, LOWEST_US), HIGHEST_US), times)

    def record_counts(self, counts: Mapping[int, int]) -> None:
        """Record latencies given as ``{µs: how many}`` (what a worker hands over)."""
        record = self._hdr.record_value
        for value, times in counts.items():
            record(min(max(value, LOWEST_US), HIGHEST_US), times)

    def encode(self) -> str:
        """The histogram in HdrHistogram's standard compressed form (a "histoblob": base64 of
        the V2 encoding), which every HdrHistogram implementation decodes; what a remote worker
        ships, merged exactly by :meth:`decode` and :meth:`add`."""
        return bytes(self._hdr.encode()).decode("ascii")

    @classmethod
    def decode(cls, blob: str) -> LatencyHistogram:
        """The histogram :meth:`encode` gave (or any histoblob of microsecond latencies)."""
        histogram = cls()
        decoded = HdrHistogram.decode(blob.encode("ascii"))
        if decoded.get_total_count():
            histogram._hdr.add(decoded)
        return histogram

    def add(self, other: LatencyHistogram) -> None:
        """Merge ``other`` into this histogram (an empty one changes nothing: HdrHistogram's
        own ``add`` would take its minimum of 0)."""
        if other.count:
            self._hdr.add(other._hdr)

    def percentile_ms(self, percent: float) -> float:
        """The latency at ``percent`` (0..100), in milliseconds."""
        return float(self._hdr.get_value_at_percentile(percent)) / 1000.0

    def max_ms(self) -> float:
        """The largest latency recorded, in milliseconds (0 when empty)."""
        return float(self._hdr.get_max_value()) / 1000.0

    def summary_ms(self) -> dict[str, Any]:
        """``count``, ``min``, ``p50``, ``p95``, ``p99``, ``max`` and ``mean`` in milliseconds;
        only ``count`` when empty."""
        count = self.count
        if count == 0:
            return {"count": 0}
        summary: dict[str, Any] = {"count": count,
                                   "min": round(self._hdr.get_min_value() / 1000.0, 3)}
        for name, percent in PERCENTILES.items():
            summary[name] = round(self.percentile_ms(percent), 3)
        summary["max"] = round(self._hdr.get_max_value() / 1000.0, 3)
        summary["mean"] = round(self._hdr.get_mean_value() / 1000.0, 3)
        return summary
