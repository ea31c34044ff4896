"""The rule that judges how much of a load run was lost to gaps and stalls."""

from __future__ import annotations

from typing import Any

from rig_load.availability import MAX_LOST_FRACTION, stalls, summary


def interval(t_s: float, events: int, *, errors: int = 0, ramp_up: bool = False) -> dict[str, Any]:
    return {"t_s": t_s, "seconds": 1.0, "threads": 2, "events": events, "errors": errors,
            "reconnects": 0, "ramp_up": ramp_up}


def test_a_stall_is_a_run_of_intervals_with_nothing_completed_or_failed() -> None:
    found = stalls([interval(1, 0, ramp_up=True), interval(2, 5), interval(3, 0),
                    interval(4, 0), interval(5, 0, errors=3), interval(6, 0), interval(7, 4),
                    interval(9, 0)], [{"at_s": 8.5, "duration_s": 2.0}])  # 9: in a gap
    assert found == [{"at_s": 2.0, "duration_s": 2.0, "intervals": 2},
                     {"at_s": 5.0, "duration_s": 1.0, "intervals": 1}]


def test_more_than_a_tenth_of_the_run_lost_or_stalled_fails() -> None:
    assert MAX_LOST_FRACTION == 0.10
    gap = {"duration_s": 1.9}
    assert summary([gap], [], connections=2, measured_s=10)["verdict"] == "pass"  # 9.5%
    assert summary([gap, gap], [], connections=2, measured_s=10)["verdict"] == "fail"  # 19%
    stall = {"duration_s": 1.1}
    failed = summary([], [stall], connections=2, measured_s=10)
    assert failed["verdict"] == "fail" and failed["stalled_fraction"] == 0.11
    assert summary([], [], connections=2, measured_s=10)["lost_s"] == 0
