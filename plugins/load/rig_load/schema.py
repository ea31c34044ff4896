"""sysbench's tables: ``sbtest1..N`` with ``id``, ``k``, ``c``, ``pad`` and the index ``k_1``.

The tables are scratch data (:class:`rig.Scratch`): created with ``CREATE TABLE`` — never over
a table that exists, never dropped first — and dropped by the core at the end of the run
unless ``--keep-tables``. ``--load-skip-prepare`` uses existing tables as they are.
"""

from __future__ import annotations

import random

import rig
from rig_load.drivers import PYMYSQL_ERRORS
from rig_load.workloads import new_row

BATCH_ROWS = 1000
DEFINITION = ("(id INTEGER NOT NULL AUTO_INCREMENT, "
              "k INTEGER DEFAULT '0' NOT NULL, "
              "c CHAR(120) DEFAULT '' NOT NULL, "
              "pad CHAR(60) DEFAULT '' NOT NULL, "
              "PRIMARY KEY (id)) ENGINE=InnoDB")
"""sysbench's layout (the index ``k_1`` is added after the rows, as sysbench does)."""


def table_name(number: int) -> str:
    """``sbtest<number>``, sysbench's name."""
    return f"sbtest{number}"


def create_table(scratch: rig.Scratch, connection: rig.Connection, database: str, number: int,
                 table_size: int) -> None:
    """Create ``database.sbtest<number>`` as scratch data and fill it with ``table_size`` rows
    as sysbench does. A table of that name that exists already is a :class:`rig.ConfigError`
    (exit 4); it is left untouched."""
    name = table_name(number)
    try:
        scratch.create_table(connection, database, name, DEFINITION)
    except rig.ConfigError as exc:
        raise rig.ConfigError(exc.message, hint="use the tables as they are with "
                              "--load-skip-prepare, choose another --database, or drop "
                              "them") from None
    qualified = f"{rig.quote_identifier(database)}.{rig.quote_identifier(name)}"
    rng = random.Random(number)
    # the driver's own executemany formats with %: a % in the database name is written %%
    sql = f"INSERT INTO {qualified.replace('%', '%%')} (id, k, c, pad) VALUES (%s, %s, %s, %s)"
    try:
        with connection.raw.cursor() as cursor:
            for first in range(1, table_size + 1, BATCH_ROWS):
                last = min(first + BATCH_ROWS, table_size + 1)
                cursor.executemany(sql, [(i, *new_row(rng, table_size))
                                         for i in range(first, last)])
    except PYMYSQL_ERRORS as exc:
        raise rig.DatabaseError(exc, operation=f"fill {database}.{name}",
                                connection_id=connection.id, state=connection.state) from exc
    connection.execute(f"CREATE INDEX k_1 ON {qualified} (k)")


def check_tables(connection: rig.Connection, database: str, tables: int) -> None:
    """Raise a one-line error naming the first of ``sbtest1..tables`` that is missing (for
    ``--load-skip-prepare``)."""
    names = [table_name(number) for number in range(1, tables + 1)]
    _columns, rows = connection.query_rows(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
        (database,))
    found = {str(row[0]) for row in rows}
    missing = [name for name in names if name not in found]
    if missing:
        raise rig.ConfigError(
            f"--load-skip-prepare: table {database}.{missing[0]} does not exist",
            hint="prepare it first (rig --plugin load --load-prepare-only --keep-tables ...) "
            "or drop --load-skip-prepare")
