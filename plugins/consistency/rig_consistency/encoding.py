"""The workloads in SQL, in Jepsen's encoding for MySQL and TiDB.

Keys live in ``tables`` tables ``txn0``, ``txn1``, … (key ``k`` in ``txn{k % tables}``), one
row per key: ``id`` (the key), ``sk`` (a copy of it) and ``val``.

- list-append: ``val`` is TEXT, the comma-separated list of appended integers. An append is
  ``INSERT … ON DUPLICATE KEY UPDATE val = CONCAT(val, ',', v)`` (one statement, whether the
  row exists or not); a read is ``SELECT val … WHERE id = k``, no row being the empty list.
- rw-register: ``val`` is an integer. A write is ``INSERT … ON DUPLICATE KEY UPDATE val = v``;
  a read returns the value, or ``None`` when no row exists (the initial state).
"""

from __future__ import annotations

from typing import Any

import rig
from rig_consistency.history import Mop


def table(key: int, tables: int) -> str:
    """The table that holds ``key``."""
    return f"txn{key % tables}"


def create_tables(connection: rig.Connection, scratch: rig.Scratch, database: str,
                  workload: str, tables: int) -> list[str]:
    """Create the workload's tables in ``database``, as the run's scratch data."""
    value_type = "TEXT" if workload == "list-append" else "BIGINT"
    names = [f"txn{n}" for n in range(tables)]
    for name in names:
        scratch.create_table(connection, database, name, f"(id BIGINT NOT NULL PRIMARY KEY, "
                             f"sk BIGINT NOT NULL, val {value_type})")
    return names


def run_mop(connection: rig.Connection, workload: str, mop: Mop, tables: int) -> Mop:
    """Execute one micro-operation; a read returns itself with what was read."""
    assert isinstance(mop.key, int), "rig's generator makes integer keys"
    name = table(mop.key, tables)
    if mop.f == "r":
        rows = connection.query_rows(f"SELECT val FROM {name} WHERE id = %s", (mop.key,))[1]
        raw: Any = rows[0][0] if rows else None
        if workload == "list-append":
            return Mop("r", mop.key, parse_list(raw))
        return Mop("r", mop.key, None if raw is None else int(raw))
    if workload == "list-append":
        connection.execute(f"INSERT INTO {name} (id, sk, val) VALUES (%s, %s, %s) "
                           f"ON DUPLICATE KEY UPDATE val = CONCAT(val, ',', %s)",
                           (mop.key, mop.key, str(mop.value), str(mop.value)))
    else:
        connection.execute(f"INSERT INTO {name} (id, sk, val) VALUES (%s, %s, %s) "
                           f"ON DUPLICATE KEY UPDATE val = %s",
                           (mop.key, mop.key, mop.value, mop.value))
    return mop


def parse_list(raw: Any) -> tuple[int, ...]:
    """A list-append row's ``val`` as a tuple (no row or an empty value: ``()``)."""
    if raw is None:
        return ()
    text = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
    return tuple(int(part) for part in text.split(",") if part)
