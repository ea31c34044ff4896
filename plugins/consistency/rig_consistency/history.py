"""A transactional history as Jepsen records it: operations and the transactions they pair into.

Every transaction is an ``invoke`` operation followed, on the same process, by its completion:
``ok`` (committed), ``fail`` (known not to have committed: a deadlock, a write conflict, a
lock-wait timeout) or ``info`` (outcome unknown: the connection died at COMMIT). A value is a
list of micro-operations: ``append k v`` and ``r k [v ...]`` (list-append), ``w k v`` and
``r k v`` (rw-register). The invocation's reads carry no value; the completion's carry what was
read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rig_consistency.gcpause import paused

Key = int | str
"""A key: an integer, or a keyword's name (``:x`` is ``"x"``)."""

Element = int | str
"""A value appended or written: an integer, or a keyword's name."""

OpType = Literal["invoke", "ok", "fail", "info"]
MopKind = Literal["append", "r", "w"]
TxnOutcome = Literal["ok", "fail", "info"]


@dataclass(frozen=True, slots=True)
class Mop:
    """One micro-operation.

    ``value`` is the element written (``append``, ``w``); for a read, what was read: a tuple
    (list-append), an element or ``None`` for the initial state (rw-register), and ``None``
    when not (yet) known, as in an invocation.
    """

    f: MopKind
    key: Key
    value: Element | tuple[Element, ...] | None


@dataclass(frozen=True, slots=True)
class Op:
    """One line of the history: a transaction's invocation or completion."""

    index: int
    type: OpType
    process: int
    time: int
    """Nanoseconds since the history began."""
    value: tuple[Mop, ...]
    f: str = "txn"
    error: str | None = None
    """Why a ``fail`` or ``info`` ended so (e.g. ``1213 Deadlock found``), else ``None``."""


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction: an invocation paired with its completion.

    ``index`` is the completion's index in the history (the invocation's when it never
    completed); explanations call the transaction ``T<index>``. ``mops`` are the completion's
    micro-operations (with what was read) for ``ok``, the invocation's otherwise.
    """

    index: int
    process: int
    outcome: TxnOutcome
    mops: tuple[Mop, ...]
    invoke_index: int
    invoke_time: int
    complete_time: int | None
    """``None`` when the invocation never completed (counted as ``info``)."""
    error: str | None = None


@paused()
def pair(ops: Iterable[Op]) -> list[Txn]:
    """The transactions of a history, in the order they completed (never-completed ones last,
    in invocation order).

    Raises :class:`ValueError` naming the operation when a process completes an operation it
    never invoked or invokes a second before the first completed.
    """
    open_: dict[int, Op] = {}
    txns: list[Txn] = []
    for op in ops:
        if op.type == "invoke":
            if op.process in open_:
                raise ValueError(f"operation {op.index}: process {op.process} invokes a "
                                 f"transaction before its operation {open_[op.process].index} "
                                 f"completed")
            open_[op.process] = op
            continue
        invoke = open_.pop(op.process, None)
        if invoke is None:
            raise ValueError(f"operation {op.index}: process {op.process} completes a "
                             f"transaction it never invoked")
        mops = op.value if op.type == "ok" else invoke.value
        txns.append(Txn(index=op.index, process=op.process, outcome=op.type, mops=mops,
                        invoke_index=invoke.index, invoke_time=invoke.time,
                        complete_time=op.time, error=op.error))
    for invoke in sorted(open_.values(), key=lambda op: op.index):
        txns.append(Txn(index=invoke.index, process=invoke.process, outcome="info",
                        mops=invoke.value, invoke_index=invoke.index,
                        invoke_time=invoke.time, complete_time=None))
    return txns
