"""How much of a load run the server was really there for: time lost to gaps (connections
without a server) and stalls (the server connected but not answering: intervals in which no
event completed and none failed), and the verdict on it.

The rule (docs/faults.md): the ``load availability`` check fails when gaps or stalls took more
than :data:`MAX_LOST_FRACTION` of the measured run; shorter ones pass, named in the check, the
report and the summary. Gaps that began and stalls that happened during an injected fault (an
interval record with ``faults``, see docs/chaos.md) are reported apart and not counted: the
plugin that injected the fault judges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rig_load.run import LoadRun

MAX_LOST_FRACTION = 0.10
"""A run that lost more than this share of its measured connection-time fails."""


def stalls(intervals: list[dict[str, Any]],
           gaps: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Runs of measured intervals in which no event completed and none failed (a server that
    froze), as ``{"at_s", "duration_s", "intervals"}``; ``at_s`` is the stall's start. An
    interval during a gap is the gap's (the server was gone, not frozen)."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for record in intervals:
        start = record["t_s"] - record["seconds"]
        in_gap = any(gap["at_s"] < record["t_s"] and start < gap["at_s"] + gap["duration_s"]
                     for gap in gaps)
        stalled = (not record["ramp_up"] and record["threads"] and not record["events"]
                   and not record["errors"] and not record["reconnects"] and not in_gap
                   and not record.get("faults"))
        if not stalled:
            current = None
            continue
        if current is None:
            current = {"at_s": round(record["t_s"] - record["seconds"], 3), "duration_s": 0.0,
                       "intervals": 0}
            found.append(current)
        current["duration_s"] = round(current["duration_s"] + record["seconds"], 3)
        current["intervals"] += 1
    return found


def during_faults(intervals: list[dict[str, Any]],
                  gaps: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    """The gaps that began during an interval with an injected fault, and the seconds of the
    intervals with a fault in which no event completed and none failed."""
    windows = [(r["t_s"] - r["seconds"], r["t_s"]) for r in intervals if r.get("faults")]
    excused = [gap for gap in gaps if any(start <= gap["at_s"] < end for start, end in windows)]
    frozen = sum(r["seconds"] for r in intervals if r.get("faults") and r["threads"]
                 and not r["events"] and not r["errors"] and not r["reconnects"])
    return excused, round(frozen, 3)


def lost_seconds(gaps: list[dict[str, Any]]) -> float:
    """Connection-seconds spent without a server, over every connection's gaps."""
    return round(sum(float(gap["duration_s"]) for gap in gaps), 3)


def summary(gaps: list[dict[str, Any]], stalled: list[dict[str, Any]], connections: int,
            measured_s: float, excused: Sequence[dict[str, Any]] = (),
            frozen_s: float = 0.0) -> dict[str, Any]:
    """The ``availability`` part of the report section, with its verdict (``pass``/``fail``);
    ``excused`` gaps (among ``gaps``) and ``frozen_s`` happened during injected faults and
    are not counted."""
    lost = lost_seconds([gap for gap in gaps if gap not in excused])
    stalled_s = round(sum(stall["duration_s"] for stall in stalled), 3)
    total = max(connections * measured_s, 1e-9)
    lost_fraction = round(lost / total, 4)
    stalled_fraction = round(stalled_s / max(measured_s, 1e-9), 4)
    failed = lost_fraction > MAX_LOST_FRACTION or stalled_fraction > MAX_LOST_FRACTION
    return {"lost_s": lost, "lost_fraction": lost_fraction, "stalled_s": stalled_s,
            "stalled_fraction": stalled_fraction, "stalls": stalled,
            "max_lost_fraction": MAX_LOST_FRACTION, "verdict": "fail" if failed else "pass",
            "during_faults": {"lost_s": lost_seconds(list(excused)), "stalled_s": frozen_s}}


def describe(figures: dict[str, Any]) -> str:
    """One line: how much was lost and stalled, against the limit."""
    parts = [f"{figures['lost_fraction']:.0%} of the connection-time lost to gaps "
             f"({figures['lost_s']:g}s)",
             f"{figures['stalled_fraction']:.0%} stalled ({figures['stalled_s']:g}s in "
             f"{len(figures['stalls'])} stall(s))"]
    faults = figures.get("during_faults") or {}
    if faults.get("lost_s") or faults.get("stalled_s"):
        parts.append(f"not counted: {faults['lost_s']:g}s lost and {faults['stalled_s']:g}s "
                     "stalled during injected faults")
    return ", ".join(parts) + f"; more than {figures['max_lost_fraction']:.0%} fails"


def of_run(run: LoadRun) -> dict[str, Any]:
    """:func:`summary` of a finished run (call after ``run.close()``)."""
    gaps = [gap for stats in run.workers.values() for gap in stats.gaps]
    excused, frozen_s = during_faults(run.intervals, gaps)
    return summary(gaps, stalls(run.intervals, gaps), len(run.plan.order), run.measured_s,
                   excused, frozen_s)
