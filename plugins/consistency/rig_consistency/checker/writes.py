"""Who wrote what, for both workloads: each (key, value) written, by the node of the
transaction that wrote it — committed or unknown (``writer``) or failed (``failed``) — and the
values a transaction wrote to a key and then overwrote or appended after itself
(``intermediate``). A value written twice to a key is refused: Elle's inference needs every
write unique per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rig_consistency.checker.text import name, show
from rig_consistency.history import Element, Key, Mop, Txn


@dataclass
class Writes:
    """The index of a history's writes."""

    writer: dict[tuple[Key, Element], int] = field(default_factory=dict)
    failed: dict[tuple[Key, Element], int] = field(default_factory=dict)
    intermediate: set[tuple[Key, Element]] = field(default_factory=set)
    final: list[dict[Key, Element]] = field(default_factory=list)
    """Per node: the last value it wrote to each key."""

    def by(self, key: Key, value: Element) -> int | None:
        """The node that wrote ``value`` to ``key``, whatever its outcome, or ``None``."""
        return self.writer.get((key, value), self.failed.get((key, value)))


def written(mop: Mop) -> Element:
    """The value a write (or the element an append) puts (the history model makes it one)."""
    assert mop.value is not None and not isinstance(mop.value, tuple)
    return mop.value


def index_writes(txns: Sequence[Txn], kind: str) -> Writes:
    """Index the micro-operations of ``kind`` (``append`` or ``w``) of every transaction.
    Raises :class:`ValueError` naming both transactions when a value is written twice."""
    writes = Writes()
    verb, past, noun = (("appends", "appended", "element") if kind == "append"
                        else ("writes", "wrote", "value"))
    for node, txn in enumerate(txns):
        index = writes.failed if txn.outcome == "fail" else writes.writer
        last: dict[Key, Element] = {}
        for mop in txn.mops:
            if mop.f != kind:
                continue
            value = written(mop)
            other = writes.by(mop.key, value)
            if other is not None:
                raise ValueError(f"{name(txn)} {verb} {show(value)} to key {show(mop.key)}, "
                                 f"which {name(txns[other])} {past} already: every {past} "
                                 f"{noun} must be unique per key")
            index[(mop.key, value)] = node
            if mop.key in last:
                writes.intermediate.add((mop.key, last[mop.key]))
            last[mop.key] = value
        writes.final.append(last)
    return writes
