"""sysbench's tables: ``sbtest1..N`` with ``id``, ``k``, ``c``, ``pad`` and the index ``k_1``."""

from __future__ import annotations

import random

import rig
from rig_load.workloads import new_row

BATCH_ROWS = 1000


def table_name(number: int) -> str:
    """``sbtest<number>``, sysbench's name."""
    return f"sbtest{number}"


def create_table(connection: rig.Connection, number: int, table_size: int) -> None:
    """(Re)create ``sbtest<number>`` and fill it with ``table_size`` rows as sysbench does."""
    name = rig.quote_identifier(table_name(number))
    connection.execute(f"DROP TABLE IF EXISTS {name}")
    connection.execute(
        f"CREATE TABLE {name} ("
        "id INTEGER NOT NULL AUTO_INCREMENT, "
        "k INTEGER DEFAULT '0' NOT NULL, "
        "c CHAR(120) DEFAULT '' NOT NULL, "
        "pad CHAR(60) DEFAULT '' NOT NULL, "
        "PRIMARY KEY (id)) ENGINE=InnoDB"
    )
    rng = random.Random(number)
    sql = f"INSERT INTO {name} (id, k, c, pad) VALUES (%s, %s, %s, %s)"
    with connection.raw.cursor() as cursor:
        for first in range(1, table_size + 1, BATCH_ROWS):
            last = min(first + BATCH_ROWS, table_size + 1)
            cursor.executemany(sql, [(i, *new_row(rng, table_size)) for i in range(first, last)])
    connection.execute(f"CREATE INDEX k_1 ON {name} (k)")


def check_table(connection: rig.Connection, database: str, number: int) -> None:
    """Raise a one-line error when ``sbtest<number>`` is missing (for ``--skip-prepare``)."""
    found = connection.scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
        "AND TABLE_NAME = %s", (database, table_name(number)))
    if not found:
        raise rig.ConfigError(
            f"--skip-prepare: table {database}.{table_name(number)} does not exist",
            hint="prepare it first (rig --plugin load --prepare-only ...) or drop --skip-prepare")


def drop_tables(connection: rig.Connection, database: str, tables: int) -> None:
    """Drop ``database.sbtest1..tables``."""
    schema = rig.quote_identifier(database)
    for number in range(1, tables + 1):
        connection.execute(
            f"DROP TABLE IF EXISTS {schema}.{rig.quote_identifier(table_name(number))}")
