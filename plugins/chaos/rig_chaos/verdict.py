"""What each fault did, measured from the probe and (when load runs) load's interval records:
the errors during it, the throughput dip, the time from its end to the first success and back
to the pre-fault throughput — and whether that recovery was within ``--chaos-max-recovery``."""

from __future__ import annotations

from typing import Any

from rig_chaos.nemesis import FaultRecord
from rig_chaos.probe import Sample

BASELINE_WINDOW_S = 10.0
"""The pre-fault throughput is the mean of the fault-free intervals this long before it."""
RECOVERED_FRACTION = 0.8
"""Throughput is back once an interval after the fault reaches this share of the baseline."""


def _dip(record: FaultRecord, intervals: list[dict[str, Any]]) -> dict[str, Any] | None:
    assert record.start_s is not None and record.end_s is not None
    start, end = record.start_s, record.end_s
    steady = [r for r in intervals if not r["ramp_up"] and "start_s" in r]
    before = [r for r in steady if start - BASELINE_WINDOW_S <= r["start_s"]
              and r["end_s"] <= start and not r.get("faults")]
    if not before:
        return None
    baseline = sum(r["tps"] for r in before) / len(before)
    after = [r for r in steady if r["end_s"] > end]
    if not any(r["start_s"] >= end for r in after):
        return None  # the load ended with the fault: the probe says whether it recovered
    back = next((r for r in after if r["tps"] >= RECOVERED_FRACTION * baseline), None)
    recovery = None if back is None else round(max(0.0, back["start_s"] - end), 3)
    until = end + (recovery or 0.0)
    during = [r for r in steady if r["start_s"] < until + 1e-9 and r["end_s"] > start]
    lowest = min((r["tps"] for r in during), default=baseline)
    return {"baseline_tps": round(baseline, 2), "lowest_tps": round(lowest, 2),
            "drop": round(1 - lowest / baseline, 3) if baseline else 0.0,
            "errors": sum(r["errors"] for r in during), "recovery_s": recovery,
            "observed_after_s": round(max(r["end_s"] for r in after) - end, 3)}


def effect(record: FaultRecord, samples: list[Sample],
           intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """The effect of one injected and ended fault."""
    assert record.start_s is not None and record.end_s is not None
    start, end = record.start_s, record.end_s
    failed_during = [s for s in samples if not s.ok and start <= s.end_s <= end]
    first = next((s for s in samples if s.ok and s.end_s >= end), None)
    first_after = None if first is None else round(first.end_s - end, 3)
    failed_after = [s for s in samples if not s.ok and end < s.end_s
                    and (first is None or s.end_s < first.end_s)]
    dip = _dip(record, intervals)
    recovery = dip["recovery_s"] if dip is not None else first_after
    return {"errors": len(failed_during) + len(failed_after),
            "probe_errors_during": len(failed_during), "probe_errors_after": len(failed_after),
            "first_success_after_s": first_after, "recovery_s": recovery,
            "recovered_by": "load throughput" if dip is not None else "probe", "dip": dip}


def judge(records: list[FaultRecord], samples: list[Sample], intervals: list[dict[str, Any]],
          max_recovery_s: float) -> list[dict[str, Any]]:
    """Every fault of the schedule for the report, each with its ``effect`` and ``verdict``
    (``pass``, ``fail``, or ``not run``)."""
    faults = []
    for record in records:
        entry: dict[str, Any] = {
            "index": record.index, "kind": record.spec.kind, "label": record.spec.label,
            "parameters": dict(record.spec.params), "planned_at_s": record.spec.start_s,
            "planned_duration_s": record.spec.duration_s,
            "start_s": None if record.start_s is None else round(record.start_s, 3),
            "end_s": None if record.end_s is None else round(record.end_s, 3),
            "error": record.error, "injected": dict(record.applied) or None, "effect": None}
        if record.start_s is None or record.end_s is None:
            entry["verdict"] = "not run"
            entry["reason"] = ("the workload ended first" if record.start_s is None
                               else "still active when the run ended")
        else:
            entry["effect"] = found = effect(record, samples, intervals)
            entry["verdict"] = "fail" if record.error or failed(found, max_recovery_s) \
                else "pass"
        faults.append(entry)
    return faults


def failed(found: dict[str, Any], max_recovery_s: float) -> bool:
    """Whether a fault's effect fails the run: nothing succeeded after it (the server never
    came back), or recovery took longer than ``max_recovery_s`` — including throughput that
    stayed under the pre-fault level for that long. Throughput not back yet when the run ended
    sooner proves nothing either way: reported, not failed (a busy machine's noise must not
    fail a run)."""
    if found["first_success_after_s"] is None:
        return True
    recovery = found["recovery_s"]
    if recovery is not None:
        return bool(recovery > max_recovery_s)
    dip = found["dip"]
    return dip is not None and dip["observed_after_s"] >= max_recovery_s


def describe(fault: dict[str, Any], max_recovery_s: float) -> str:
    """One line for the console and the check."""
    where = f"{fault['label']} (#{fault['index']})"
    if fault["effect"] is None:
        return f"{where}: not run ({fault['reason']})"
    found = fault["effect"]
    parts = [f"{fault['start_s']:g}s to {fault['end_s']:g}s"]
    injected = fault.get("injected") or {}
    for key, verb in (("reset_connections", "reset"), ("cut_connections", "cut off")):
        if key in injected:
            parts.append(f"{verb} {injected[key]} of {injected['open_connections']} "
                         "connection(s)")
    parts.append(f"{found['errors']} probe error(s)")
    first = found["first_success_after_s"]
    parts.append("no success after it" if first is None else f"first success {first:g}s after")
    dip = found["dip"]
    if dip is not None:
        parts.append(f"tps {dip['baseline_tps']:g} → {dip['lowest_tps']:g} "
                     f"({dip['drop']:.0%} dip, {dip['errors']} load error(s))")
    recovery = found["recovery_s"]
    if recovery is not None:
        parts.append(f"recovered in {recovery:g}s (limit {max_recovery_s:g}s)")
    elif dip is not None and first is not None:
        parts.append(f"throughput not back to {RECOVERED_FRACTION:.0%} of before in the "
                     f"{dip['observed_after_s']:g}s the run went on (limit {max_recovery_s:g}s)")
    else:
        parts.append("not recovered")
    if fault["error"]:
        parts.append(f"error: {fault['error']}")
    return f"{where}: " + ", ".join(parts)
