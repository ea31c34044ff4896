"""Workloads: what one *event* (a transaction, or one statement) does, as sysbench's OLTP
scripts do it on tables ``sbtest1..N`` (``id``, ``k``, ``c``, ``pad``).

A workload builds, per connection, a closure ``event()`` bound to that connection's cursor and
random generator, so the hot loop makes no lookups. Integers reach SQL as literals (they cannot
inject); strings go through the driver's escaping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RANGE_SIZE = 100
"""Rows a range query reads (sysbench's ``--range_size``)."""
POINT_SELECTS = 10
"""Point selects per read-only / read-write transaction (sysbench's ``--point_selects``)."""

Event = Callable[[], None]


@dataclass(frozen=True)
class Tables:
    """What an event works on: the quoted table names, rows per table, a random generator."""

    names: list[str]
    table_size: int
    rng: random.Random

    def random_table(self) -> Callable[[], str]:
        """A function picking one of the tables at random."""
        names = self.names
        if len(names) == 1:
            only = names[0]
            return lambda: only
        choice = self.rng.choice
        return lambda: choice(names)

    def random_id(self) -> Callable[[], int]:
        """A function picking a row id in ``1..table_size`` uniformly."""
        rnd = self.rng.random
        size = self.table_size
        return lambda: int(rnd() * size) + 1


@dataclass(frozen=True)
class Workload:
    """A named workload: ``make_event(cursor, tables)`` returns the ``event()`` closure of one
    connection; ``reads``/``writes``/``other`` are the statements one event runs (for QPS)."""

    name: str
    description: str
    make_event: Callable[[Any, Tables], Event]
    reads: int = 0
    writes: int = 0
    other: int = 0
    transactional: bool = False
    """Whether an event runs BEGIN…COMMIT (an error mid-event is then rolled back)."""

    @property
    def queries_per_event(self) -> int:
        """Statements one event runs."""
        return self.reads + self.writes + self.other


def digits(rng: random.Random, groups: int) -> str:
    """sysbench's ``c``/``pad`` text: ``groups`` groups of 11 random digits joined by ``-``."""
    return "-".join(f"{rng.randrange(10**11):011d}" for _ in range(groups))


def new_row(rng: random.Random, table_size: int) -> tuple[int, str, str]:
    """A random ``(k, c, pad)`` as sysbench generates them."""
    return rng.randint(1, table_size), digits(rng, 10), digits(rng, 5)


def _point_select(cursor: Any, tables: Tables) -> Event:
    execute, fetchall = cursor.execute, cursor.fetchall
    table, row_id = tables.random_table(), tables.random_id()
    if len(tables.names) == 1:
        prefix = f"SELECT c FROM {tables.names[0]} WHERE id="

        def one_table() -> None:
            execute(prefix + str(row_id()))
            fetchall()

        return one_table

    def event() -> None:
        execute(f"SELECT c FROM {table()} WHERE id={row_id()}")
        fetchall()

    return event


def _reads(cursor: Any, tables: Tables) -> Event:
    """sysbench's read part of a transaction: 10 point selects and 4 range queries."""
    execute, fetchall = cursor.execute, cursor.fetchall
    table, row_id = tables.random_table(), tables.random_id()
    last_start = max(1, tables.table_size - RANGE_SIZE + 1)
    rnd = tables.rng.random

    def reads() -> None:
        for _ in range(POINT_SELECTS):
            execute(f"SELECT c FROM {table()} WHERE id={row_id()}")
            fetchall()
        for template in ("SELECT c FROM {t} WHERE id BETWEEN {a} AND {b}",
                         "SELECT SUM(k) FROM {t} WHERE id BETWEEN {a} AND {b}",
                         "SELECT c FROM {t} WHERE id BETWEEN {a} AND {b} ORDER BY c",
                         "SELECT DISTINCT c FROM {t} WHERE id BETWEEN {a} AND {b} ORDER BY c"):
            start = int(rnd() * last_start) + 1
            execute(template.format(t=table(), a=start, b=start + RANGE_SIZE - 1))
            fetchall()

    return reads


def _read_only(cursor: Any, tables: Tables) -> Event:
    execute, reads = cursor.execute, _reads(cursor, tables)

    def event() -> None:
        execute("BEGIN")
        reads()
        execute("COMMIT")

    return event


def _writes(cursor: Any, tables: Tables) -> Event:
    """sysbench's write part: an index update, a non-index update, a delete and an insert."""
    execute = cursor.execute
    table, row_id = tables.random_table(), tables.random_id()
    rng, size = tables.rng, tables.table_size

    def writes() -> None:
        execute(f"UPDATE {table()} SET k=k+1 WHERE id={row_id()}")
        execute(f"UPDATE {table()} SET c=%s WHERE id={row_id()}", (digits(rng, 10),))
        name, target = table(), row_id()
        execute(f"DELETE FROM {name} WHERE id={target}")
        k, c, pad = new_row(rng, size)
        execute(f"INSERT INTO {name} (id, k, c, pad) VALUES ({target}, {k}, %s, %s)", (c, pad))

    return writes


def _read_write(cursor: Any, tables: Tables) -> Event:
    execute, reads, writes = cursor.execute, _reads(cursor, tables), _writes(cursor, tables)

    def event() -> None:
        execute("BEGIN")
        reads()
        writes()
        execute("COMMIT")

    return event


def _insert(cursor: Any, tables: Tables) -> Event:
    execute, table, rng, size = cursor.execute, tables.random_table(), tables.rng, tables.table_size

    def event() -> None:
        k, c, pad = new_row(rng, size)
        execute(f"INSERT INTO {table()} (k, c, pad) VALUES ({k}, %s, %s)", (c, pad))

    return event


def _update_index(cursor: Any, tables: Tables) -> Event:
    execute, table, row_id = cursor.execute, tables.random_table(), tables.random_id()

    def event() -> None:
        execute(f"UPDATE {table()} SET k=k+1 WHERE id={row_id()}")

    return event


BUILTIN = (
    Workload("point-select", "one primary-key SELECT per event (oltp_point_select)",
             _point_select, reads=1),
    Workload("read-only", "BEGIN, 10 point selects, 4 range queries, COMMIT (oltp_read_only)",
             _read_only, reads=14, other=2, transactional=True),
    Workload("read-write", "read-only plus 2 updates, a delete and an insert (oltp_read_write)",
             _read_write, reads=14, writes=4, other=2, transactional=True),
    Workload("insert", "one INSERT of a new row per event (oltp_insert)", _insert, writes=1),
    Workload("update-index", "one UPDATE of the indexed column k per event "
             "(oltp_update_index)", _update_index, writes=1),
)
