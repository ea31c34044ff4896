"""Random transactions in the shape of Elle's generator (``elle.txn/wr-txns``).

Each transaction has ``min_length``-``max_length`` micro-operations, each a read or a write
(an append, or a register write) with equal chance, on a small pool of active keys chosen with
an exponential distribution (key ``i`` of the pool is ``base`` times likelier than key
``i - 1``). A key written ``max_writes_per_key`` times is retired and replaced by a fresh one,
which keeps lists short and version orders easy to infer. Every value written to a key is
unique (1, 2, 3, … per key). One generator is shared by every client of a run, so a seed fixes
the sequence of transactions handed out; keys start at ``first_key``, so that runs at several
isolation levels on the same tables never share a key.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from rig_consistency.history import Mop

WORKLOADS = ("list-append", "rw-register")


@dataclass(frozen=True)
class Shape:
    """What the generator draws from."""

    key_count: int = 10
    min_length: int = 1
    max_length: int = 4
    max_writes_per_key: int = 32
    key_dist_base: float = 2.0


class Generator:
    """Hands out transactions (as invocation micro-operations); thread-safe."""

    def __init__(self, workload: str, seed: int, shape: Shape = Shape(),
                 first_key: int = 0) -> None:
        if workload not in WORKLOADS:
            raise ValueError(f"unknown workload {workload!r}")
        self.workload = workload
        self.shape = shape
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._pool = list(range(first_key, first_key + shape.key_count))
        self._next_key = first_key + shape.key_count
        self._writes: dict[int, int] = {}
        weights = [shape.key_dist_base ** i for i in range(shape.key_count)]
        total = sum(weights)
        self._cumulative = [sum(weights[:i + 1]) / total for i in range(shape.key_count)]

    def next(self) -> tuple[Mop, ...]:
        """The next transaction's micro-operations (reads carry no value yet)."""
        with self._lock:
            length = self._random.randint(self.shape.min_length, self.shape.max_length)
            return tuple(self._mop() for _ in range(length))

    def _mop(self) -> Mop:
        slot = self._slot()
        key = self._pool[slot]
        if self._random.random() < 0.5:
            return Mop("r", key, None)
        value = self._writes.get(key, 0) + 1
        self._writes[key] = value
        if value >= self.shape.max_writes_per_key:
            self._pool[slot] = self._next_key
            self._next_key += 1
            del self._writes[key]
        return Mop("append" if self.workload == "list-append" else "w", key, value)

    def _slot(self) -> int:
        draw = self._random.random()
        return next((i for i, edge in enumerate(self._cumulative) if draw < edge),
                    len(self._cumulative) - 1)
