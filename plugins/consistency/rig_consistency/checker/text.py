"""Words for explanations: values, transactions and cycles in Elle's style ("Let T1 = …;
then T1 < T2 because …; however T2 < T1 because …: a contradiction")."""

from __future__ import annotations

from collections.abc import Sequence

from rig_consistency.checker.result import Step
from rig_consistency.history import Element, Mop, Txn


def show(value: Element | tuple[Element, ...] | None) -> str:
    """A value as Elle prints it: ``[1 2]``, ``3``, ``:x`` for a keyword, ``nil``."""
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(show(v) for v in value) + "]"
    if isinstance(value, str):
        return ":" + value if value.replace("-", "").replace("_", "").isalnum() else repr(value)
    return str(value)


def show_mop(mop: Mop) -> str:
    """``[append 7 1]``, ``[r 9 [1 2]]``, ``[w 3 5]``."""
    return f"[{mop.f} {show(mop.key)} {show(mop.value)}]"


def name(txn: Txn) -> str:
    """``T<index>``."""
    return f"T{txn.index}"


def together(txns: Sequence[Txn]) -> tuple[str, str]:
    """``("T1 and T2", "both")``, ``("T1, T2 and T3", "all three")``: names, and the word for
    all of them."""
    names = [name(t) for t in txns]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    words = {2: "both", 3: "all three", 4: "all four"}
    return joined, words.get(len(names), f"all {len(names)}")


def writes_of(txn: Txn, key: Element) -> str:
    """What ``txn`` wrote to ``key`` (``T3 4``, ``T3 4, 5``), for explanations."""
    values = [show(m.value) for m in txn.mops if m.f != "r" and m.key == key]
    return f"{name(txn)} {', '.join(values)}"


def describe(txn: Txn) -> str:
    """``T5 = [append 7 1] [r 9 [1 2]] (process 2, ok)``."""
    mops = " ".join(show_mop(m) for m in txn.mops)
    return f"{name(txn)} = {mops} (process {txn.process}, {txn.outcome})"


def cycle_explanation(kind: str, txns: Sequence[Txn], steps: Sequence[Step]) -> str:
    """The whole story of a cycle: the transactions, then each step, the last as the
    contradiction."""
    lets = "; ".join(describe(t) for t in txns)
    lines = [f"{kind}: let {lets}. Then:"]
    for number, step in enumerate(steps):
        lead = "however, " if number == len(steps) - 1 and len(steps) > 1 else ""
        lines.append(f"  - {lead}T{step.source} < T{step.target} ({step.kind}), because "
                     f"{step.text}")
    lines.append("  a contradiction: the transactions form a cycle, so no order of them "
                 "explains what they saw.")
    return "\n".join(lines)
