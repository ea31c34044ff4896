"""The chaos schedule: which faults, when and for how long.

A fixed schedule is written ``KIND[=PARAMS]@START[+DURATION]``, pieces separated by commas
(``kill@5s, pause@12s+3s, latency=200ms±50ms@20s+10s``); a random one is drawn from a seed
(:func:`random_schedule`): the same seed, kinds, interval and duration give the same faults.
Times are seconds since the workload began (``5``, ``5s``, ``500ms``, ``1m``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

PROCESS_KINDS = ("kill", "restart", "pause")
NETWORK_KINDS = ("latency", "bandwidth", "reset", "partition", "refuse", "partial")
PRESSURE_KINDS = ("cpu",)
KINDS = PROCESS_KINDS + NETWORK_KINDS + PRESSURE_KINDS
PARTITION_KINDS = ("partition", "refuse", "partial")
"""Network faults of one family on the proxy: one at a time."""
INSTANT_KINDS = ("restart", "reset")
"""Faults that take no duration: they happen, and are over once done."""
OPTIONAL_DURATION_KINDS = ("kill",)
"""``kill@5s``: killed and restarted at once; ``kill@5s+3s``: down for 3 s."""
RANDOM_DEFAULTS = {"latency": "200ms±50ms", "bandwidth": "64kB", "partial": "0.5"}
"""The parameters a random nemesis gives the faults that take some."""
GRAMMAR = "KIND[=PARAMS]@START[+DURATION], e.g. kill@5s, pause@12s+3s, latency=200ms±50ms@20s+10s"


class ScheduleError(ValueError):
    """A piece of a schedule that cannot be read; the message names it and the fix."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault of the schedule."""

    kind: str
    start_s: float
    duration_s: float | None
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    """The parameters as written (``200ms±50ms``), for lines and reports."""

    @property
    def label(self) -> str:
        """``pause``, ``latency=200ms±50ms``: what the fault is, without its times."""
        return f"{self.kind}={self.text}" if self.text else self.kind

    def as_json(self) -> dict[str, Any]:
        """The fault as the report's schedule lists it."""
        return {"kind": self.kind, "parameters": dict(self.params), "start_s": self.start_s,
                "duration_s": self.duration_s}


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB)?(?:/s)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "kB": 1000, "KB": 1024, "KiB": 1024, "MB": 1_000_000,
               "MiB": 1024 * 1024}


def seconds(text: str) -> float:
    """``5``, ``5s``, ``500ms``, ``1m`` in seconds; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a time (write 5s, 500ms or 1m)")
    value = float(match.group(1))
    return value * {"ms": 0.001, "m": 60.0}.get(match.group(2) or "s", 1.0)


def _params(kind: str, text: str) -> dict[str, Any]:
    if kind == "latency":
        delay, jitter = [*re.split(r"±|\+-", text, maxsplit=1), ""][:2]  # 200ms±50ms
        return {"delay_s": seconds(delay), "jitter_s": seconds(jitter) if jitter else 0.0}
    if kind == "bandwidth":
        match = _SIZE.match(text)
        if match is None or float(match.group(1)) <= 0:
            raise ValueError(f"{text!r} is not a rate (write 64kB, 1MB or 500B: bytes per s)")
        return {"bytes_per_s": int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])}
    if kind == "partial":
        fraction = float(text)
        if not 0 < fraction < 1:
            raise ValueError(f"{text!r} is not a fraction between 0 and 1 (write 0.5)")
        return {"fraction": fraction}
    if kind == "cpu":
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{text!r} is not a number of busy processes (write cpu=2)")
        return {"processes": int(text)}
    raise ValueError(f"{kind} takes no parameters (write {kind}@START)")


def parse_fault(piece: str) -> FaultSpec:
    """One ``KIND[=PARAMS]@START[+DURATION]``; :class:`ScheduleError` names what is wrong."""
    what, at, when = piece.strip().partition("@")
    if not at or not when.strip():
        raise ScheduleError(f"{piece.strip()!r} has no start: write {GRAMMAR}")
    kind, has_params, text = (part.strip() for part in what.partition("="))
    if kind not in KINDS:
        raise ScheduleError(f"{piece.strip()!r}: unknown fault {kind!r}: choose from "
                            f"{', '.join(KINDS)}")
    if has_params and not text:
        raise ScheduleError(f"{piece.strip()!r}: nothing after '=': write {kind}=VALUE or {kind}")
    start_text, plus, duration_text = when.partition("+")
    try:
        params = _params(kind, text) if text else (
            {"processes": 0} if kind == "cpu" else {})
        if kind in ("latency", "bandwidth", "partial") and not text:
            raise ValueError(f"{kind} needs a value (write "
                             f"{kind}={RANDOM_DEFAULTS[kind]})")
        start = seconds(start_text)
        duration = seconds(duration_text) if plus else None
    except ValueError as exc:
        raise ScheduleError(f"{piece.strip()!r}: {exc}") from None
    if kind in INSTANT_KINDS and duration is not None:
        raise ScheduleError(f"{piece.strip()!r}: {kind} takes no duration (write {kind}@START)")
    if duration is None and kind not in INSTANT_KINDS + OPTIONAL_DURATION_KINDS:
        raise ScheduleError(f"{piece.strip()!r}: {kind} needs a duration (write "
                            f"{what.strip()}@{start_text.strip()}+3s)")
    if duration is not None and duration <= 0:
        raise ScheduleError(f"{piece.strip()!r}: the duration must be more than 0")
    return FaultSpec(kind, start, duration, params, text)


def parse_schedule(text: str) -> list[FaultSpec]:
    """Every piece of ``text`` (comma-separated), in start order; overlapping faults of the
    same kind, two process faults or two partitions (partition, refuse, partial) at once, are
    refused."""
    pieces = [piece for piece in text.split(",") if piece.strip()]
    if not pieces:
        raise ScheduleError(f"the schedule is empty: write {GRAMMAR}")
    faults = sorted((parse_fault(piece) for piece in pieces), key=lambda f: f.start_s)
    for index, fault in enumerate(faults):
        for later in faults[index + 1:]:
            same = later.kind == fault.kind or any(
                later.kind in family and fault.kind in family
                for family in (PROCESS_KINDS, PARTITION_KINDS))
            if same and later.start_s < fault.start_s + (fault.duration_s or 0.0):
                raise ScheduleError(
                    f"{later.label}@{later.start_s:g}s starts before {fault.label}@"
                    f"{fault.start_s:g}s+{fault.duration_s or 0:g}s ends: start it later")
    return faults


def random_schedule(kinds: list[str], *, interval_s: float, fault_duration_s: float,
                    seed: int, horizon_s: float) -> list[FaultSpec]:
    """A random nemesis: one fault per ``interval_s`` slot until ``horizon_s`` (the first slot
    after one interval, so the workload has a baseline), its kind and its start within the
    slot drawn from ``seed``."""
    if fault_duration_s >= interval_s:
        raise ScheduleError(f"--chaos-fault-duration {fault_duration_s:g} is not shorter than "
                            f"--chaos-interval {interval_s:g}: shorten it or lengthen the "
                            "interval")
    rng = random.Random(seed)
    faults = []
    slot = interval_s
    while slot + interval_s <= horizon_s + 1e-9:
        kind = rng.choice(kinds)
        start = round(slot + rng.uniform(0, interval_s - fault_duration_s), 2)
        text = RANDOM_DEFAULTS.get(kind, "")
        params = _params(kind, text) if text else ({"processes": 0} if kind == "cpu" else {})
        duration = None if kind in INSTANT_KINDS else fault_duration_s
        faults.append(FaultSpec(kind, start, duration, params, text))
        slot += interval_s
    return faults
