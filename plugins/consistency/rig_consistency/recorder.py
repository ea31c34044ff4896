"""Records the history of a run: every transaction's invocation and completion, indexed and
timed in the order they happened, from any number of client threads."""

from __future__ import annotations

import threading
import time

from rig_consistency.history import Mop, Op, OpType


class Recorder:
    """The run's history so far; thread-safe.

    Index and time are taken under one lock, so the index order is the time order: an
    invocation's time is taken before its first statement is sent, a completion's after its
    ``COMMIT`` answered (realtime edges rely on this).
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._start = time.monotonic_ns()
        self._ops: list[Op] = []
        self._next_process = 0
        self._counts = {"invoked": 0, "ok": 0, "fail": 0, "info": 0}
        self.limit = limit
        """At most this many transactions are begun (``None``: no limit)."""

    def new_process(self) -> int:
        """A process id never used before: one per client, and a fresh one after an ``info``
        (the old process may still be committing, as Jepsen does)."""
        with self._lock:
            process = self._next_process
            self._next_process += 1
            return process

    def invoke(self, process: int, mops: tuple[Mop, ...]) -> Op | None:
        """Record the start of a transaction; ``None`` once ``limit`` transactions began."""
        with self._lock:
            if self.limit is not None and self._counts["invoked"] >= self.limit:
                return None
            self._counts["invoked"] += 1
            return self._append("invoke", process, mops, None)

    def complete(self, process: int, kind: OpType, mops: tuple[Mop, ...],
                 error: str | None = None) -> Op:
        """Record the end of the process's open transaction."""
        with self._lock:
            self._counts[kind] += 1
            return self._append(kind, process, mops, error)

    def _append(self, kind: OpType, process: int, mops: tuple[Mop, ...],
                error: str | None) -> Op:
        op = Op(index=len(self._ops), type=kind, process=process,
                time=time.monotonic_ns() - self._start, value=mops, error=error)
        self._ops.append(op)
        return op

    def ops(self) -> list[Op]:
        """A copy of the history so far."""
        with self._lock:
            return list(self._ops)

    def counts(self) -> dict[str, int]:
        """Completed transactions by outcome (``ok``, ``fail``, ``info``) and ``invoked``."""
        with self._lock:
            return dict(self._counts)
