"""Histories in Elle's test notation: ``ax1`` appends 1 to x, ``rx12`` reads x as [1 2],
``rx`` reads x as []; for rw-register ``wx1`` writes 1, ``rx1`` reads 1, ``rx`` reads nil.
Each transaction runs on its own process, one after another unless times are given."""

from __future__ import annotations

import re

from rig_consistency.history import Mop, Op


def mops(text: str, *, register: bool = False) -> tuple[Mop, ...]:
    """The micro-operations of ``ax1ry12``."""
    out: list[Mop] = []
    for f, key, digits in re.findall(r"([arw])([a-z])(\d*)", text):
        if f == "a":
            out.append(Mop("append", key, int(digits)))
        elif f == "w":
            out.append(Mop("w", key, int(digits)))
        elif register:
            out.append(Mop("r", key, int(digits) if digits else None))
        else:
            out.append(Mop("r", key, tuple(int(d) for d in digits)))
    return tuple(out)


def history(*txns: str | tuple[str, str], register: bool = False,
            overlap: bool = False) -> list[Op]:
    """Operations for ``txns`` (``"ax1"`` commits; ``("ax1", "fail")`` or ``"info"``): each
    invoked and completed in turn, or all invoked before any completes with ``overlap``."""
    parsed = [(t, "ok") if isinstance(t, str) else t for t in txns]
    ops: list[Op] = []
    invokes = []
    for process, (text, outcome) in enumerate(parsed):
        value = mops(text, register=register)
        invoke = tuple(Mop("r", m.key, None) if m.f == "r" else m for m in value)
        invokes.append((process, invoke, value, outcome))
    def complete(process: int, invoke: tuple[Mop, ...], value: tuple[Mop, ...],
                 outcome: str) -> None:
        ops.append(Op(len(ops), outcome, process, len(ops) * 10,  # type: ignore[arg-type]
                      value if outcome == "ok" else invoke))
    for process, invoke, value, outcome in invokes:
        ops.append(Op(len(ops), "invoke", process, len(ops) * 10, invoke))
        if not overlap and outcome != "never":
            complete(process, invoke, value, outcome)
    if overlap:
        for process, invoke, value, outcome in invokes:
            if outcome != "never":
                complete(process, invoke, value, outcome)
    return ops
