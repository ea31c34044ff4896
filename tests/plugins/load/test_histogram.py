"""The HDR latency histogram against samples whose percentiles are known, and the run's
timeline (no database needed)."""

from __future__ import annotations

import pytest

from rig_load.histogram import LatencyHistogram
from rig_load.plan import Plan, natural_order

PRECISION = 0.001  # 3 significant digits


def test_percentiles_of_one_to_ten_thousand_microseconds() -> None:
    histogram = LatencyHistogram()
    histogram.record_many(range(1, 10_001))  # 1 µs … 10 ms, uniform

    summary = histogram.summary_ms()

    assert summary["count"] == 10_000
    assert summary["min"] == pytest.approx(0.001, abs=0.0005)
    for name, expected in (("p50", 5.0), ("p95", 9.5), ("p99", 9.9), ("max", 10.0)):
        assert summary[name] == pytest.approx(expected, rel=PRECISION), name
    assert summary["mean"] == pytest.approx(5.0005, rel=PRECISION)


def test_repeated_values_and_merge_equal_one_histogram() -> None:
    samples = [100] * 90 + [5_000] * 9 + [250_000]
    whole, first, second = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    whole.record_many(samples)
    first.record_many(samples[:50])
    second.record_many(samples[50:])
    first.add(second)

    assert first.summary_ms() == whole.summary_ms()
    assert whole.summary_ms()["p50"] == pytest.approx(0.1, rel=PRECISION)
    assert whole.summary_ms()["p95"] == pytest.approx(5.0, rel=PRECISION)
    assert whole.summary_ms()["max"] == pytest.approx(250.0, rel=PRECISION)


def test_merging_an_empty_interval_keeps_the_minimum() -> None:
    # a quiet interval merged into the total once made the run's minimum latency 0
    total, quiet = LatencyHistogram(), LatencyHistogram()
    total.record_counts({250: 3})
    total.add(quiet)
    quiet.add(total)

    assert total.summary_ms() == quiet.summary_ms()
    assert total.summary_ms()["min"] == 0.25


def test_a_histoblob_decodes_to_the_same_histogram() -> None:
    histogram = LatencyHistogram()
    histogram.record_counts({120: 7, 3_400: 2, 90_000: 1})

    blob = histogram.encode()

    assert blob.startswith("HISTF")  # HdrHistogram's compressed V2 form, base64
    assert LatencyHistogram.decode(blob).summary_ms() == histogram.summary_ms()
    assert LatencyHistogram.decode(LatencyHistogram().encode()).count == 0


def test_empty_histogram_has_only_a_count() -> None:
    assert LatencyHistogram().summary_ms() == {"count": 0}


def test_out_of_range_values_are_clamped_not_lost() -> None:
    histogram = LatencyHistogram()
    histogram.record_many([0, 10**13])
    assert histogram.count == 2


def test_plan_orders_connections_and_spreads_the_ramp() -> None:
    order = natural_order(["c10", "c2", "c1"])
    plan = Plan(t0=100.0, ramp_up=3.0, duration=10.0, interval=1.0, order=tuple(order))

    assert order == ["c1", "c2", "c10"]
    assert [plan.start_of(c) for c in order] == [100.0, 101.0, 102.0]
    assert plan.index_at(100.5) == -3  # the ramp has negative intervals
    assert plan.index_at(103.0) == 0
    assert plan.bounds(9) == (112.0, 113.0)
    assert plan.bounds(-3) == (100.0, 101.0)
