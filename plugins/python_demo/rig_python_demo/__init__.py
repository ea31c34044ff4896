"""rig's reference plugin, written to be read: docs/plugin-guide.md walks through it.

After the core's common states (connect, ``SELECT 1``, ``--database``, flavour and version) it
runs five states of its own::

    demo_creating_table → demo_populating_data → demo_querying → demo_verifying
                        → demo_cleaning_up

It creates a table (in ``--database``, or in a scratch database it creates), inserts
``--demo-rows`` rows, reads them back, checks the count and the sum, and drops what it created,
also when the run fails or is interrupted half-way.

Each piece a plugin author needs appears once: options in their own ``rig --help`` group
(``rig_addoption``), validation (``rig_configure``), states and handlers
(``rig_register_states``), handler-local data (``ctx.local``), data shared between handlers
(``ctx.data``), a check with a verdict (``ctx.check``), the core's retry (``ctx.retry``), a
cleanup state, a report section (``rig_report``) and a summary line (``rig_terminal_summary``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import rig

__version__ = "0.1.0"

PLUGIN = "python_demo"

INSERT_BATCH = 500
"""Rows per INSERT: one statement, one round trip, and a unit small enough to retry."""

MAX_TABLE_NAME = 48
"""The server allows 64 characters; the connection id (``_c12``) is appended to the name."""

ER_TABLE_EXISTS = 1050


# --- data shared between handlers --------------------------------------------------------------
# Handlers of one connection share data through ctx.data, under typed keys named after the
# plugin, so no two plugins overwrite each other. rig_report reads the same keys afterwards.


@dataclass(frozen=True)
class DemoTable:
    """Where the demo's table lives, and what the demo created (and so must drop)."""

    database: str
    table: str
    created_database: bool

    @property
    def qualified(self) -> str:
        """``database.table``, quoted: every name that reaches SQL goes through
        :func:`rig.quote_identifier`, so any name is safe."""
        return f"{rig.quote_identifier(self.database)}.{rig.quote_identifier(self.table)}"


@dataclass(frozen=True)
class Totals:
    """What ``demo_querying`` read back."""

    count: int
    total: int
    query_ms: float


TABLE: rig.Key[DemoTable] = rig.Key("python_demo.table")
ROWS_INSERTED: rig.Key[int] = rig.Key("python_demo.rows_inserted")
TOTALS: rig.Key[Totals] = rig.Key("python_demo.totals")
CLEANED_UP: rig.Key[bool] = rig.Key("python_demo.cleaned_up")


def amount_of(row_id: int) -> int:
    """The value stored in row ``row_id``; known in advance so the sum can be verified."""
    return row_id * 7 % 1000


# --- handlers ----------------------------------------------------------------------------------
# One handler object serves every connection (several may run at once, in threads), so a
# handler keeps nothing per connection on ``self``: it uses ctx.data or ctx.local(self).


class CreateTable:
    """Creates the demo table: in ``--database`` when given, else in a new scratch database."""

    def execute(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        table = f"{ctx.config.getoption('demo_table')}_{ctx.connection_id}"
        database = ctx.settings.database
        created_database = False
        if database is None:
            # A scratch database per connection: nothing collides, and cleanup drops it whole.
            database = f"rig_python_demo_{uuid.uuid4().hex[:12]}"
            connection.execute(f"CREATE DATABASE {rig.quote_identifier(database)}")
            created_database = True
            # Recorded at once, so that cleanup drops it even if CREATE TABLE fails below.
            ctx.data[TABLE] = DemoTable(database, table, created_database=True)
        place = DemoTable(database, table, created_database)
        try:
            connection.execute(
                f"CREATE TABLE {place.qualified} ("
                " id BIGINT NOT NULL PRIMARY KEY,"
                " label VARCHAR(64) NOT NULL,"
                " amount BIGINT NOT NULL)"
            )
        except rig.DatabaseError as exc:
            if exc.code != ER_TABLE_EXISTS:
                raise
            # Never take over a table someone else made: cleanup would drop it.
            raise rig.ConfigError(
                f"table {database}.{table} already exists; the demo only drops what it created",
                hint="drop it, or choose another --demo-table") from None
        ctx.data[TABLE] = place
        ctx.log.info("created {}", place.qualified)


class PopulateData:
    """Inserts ``--demo-rows`` rows in batches, each batch through the core's retry."""

    def execute(self, ctx: rig.Context) -> None:
        place = ctx.data[TABLE]
        rows = ctx.config.getoption("demo_rows")
        inserted = 0
        for first in range(1, rows + 1, INSERT_BATCH):
            if ctx.cancelled:  # Ctrl-C: stop promptly; the cleanup state still runs
                break
            last = min(first + INSERT_BATCH - 1, rows)
            self.insert(ctx, place, first, last)
            inserted += last - first + 1
        ctx.data[ROWS_INSERTED] = inserted

    def insert(self, ctx: rig.Context, place: DemoTable, first: int, last: int) -> None:
        """Insert rows ``first..last`` in one statement."""
        batch = [(i, f"row {i}", amount_of(i)) for i in range(first, last + 1)]
        values = ", ".join(["(%s, %s, %s)"] * len(batch))
        # Idempotent on purpose: if the connection drops after the server committed, the
        # retry meets the same keys and changes nothing instead of failing on them.
        sql = (f"INSERT INTO {place.qualified} (id, label, amount) VALUES {values} "
               "ON DUPLICATE KEY UPDATE id = id")
        args = [value for row in batch for value in row]
        # ctx.retry retries transient errors (deadlock, lost connection…) with backoff,
        # reconnecting when needed, and counts each retry in the connection's metrics.
        ctx.retry(lambda connection: connection.execute(sql, args),
                  operation=f"insert rows {first}..{last}")


class QueryTable:
    """Reads the row count and the sum back, and times the query."""

    def enter(self, ctx: rig.Context) -> None:
        # Handler-local data: private to this handler and this connection.
        ctx.local(self)["started"] = time.perf_counter()

    def execute(self, ctx: rig.Context) -> None:
        place = ctx.data[TABLE]
        row = ctx.retry(
            lambda connection: connection.query(
                f"SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS total "
                f"FROM {place.qualified}")[0],
            operation="count rows")
        elapsed_ms = (time.perf_counter() - ctx.local(self)["started"]) * 1000
        # SUM is a DECIMAL on MySQL-compatible servers; store plain ints for the report.
        ctx.data[TOTALS] = Totals(int(row["n"]), int(row["total"]), elapsed_ms)

    def exit(self, ctx: rig.Context) -> None:
        started = ctx.local(self).pop("started")
        ctx.log.debug("demo_querying took {:.1f} ms", (time.perf_counter() - started) * 1000)


class Verify:
    """Checks that the table holds exactly the rows that were inserted: a verdict."""

    def execute(self, ctx: rig.Context) -> None:
        expected_rows = ctx.data[ROWS_INSERTED]
        expected_total = sum(amount_of(i) for i in range(1, expected_rows + 1))
        found = ctx.data[TOTALS]
        if (found.count, found.total) == (expected_rows, expected_total):
            ctx.check("demo_rows", rig.Verdict.PASS,
                      f"{found.count} rows, sum {found.total}, read in {found.query_ms:.1f} ms")
        else:
            # A FAIL verdict makes rig exit 1; the workflow goes on (and cleans up).
            ctx.check("demo_rows", rig.Verdict.FAIL,
                      f"expected {expected_rows} rows summing to {expected_total}, "
                      f"found {found.count} summing to {found.total}")


class CleanUp:
    """Drops what ``demo_creating_table`` created. Registered with ``cleanup=True``, so it also
    runs when a state before it failed or the run was interrupted."""

    def execute(self, ctx: rig.Context) -> None:
        place = ctx.data.get(TABLE)
        if place is None:
            return  # nothing was created
        if place.created_database:
            statement = f"DROP DATABASE IF EXISTS {rig.quote_identifier(place.database)}"
        else:
            statement = f"DROP TABLE IF EXISTS {place.qualified}"
        # Through ctx.retry: after a failure the connection may be gone; retry reconnects.
        ctx.retry(lambda connection: connection.execute(statement), operation="drop demo data")
        ctx.data[CLEANED_UP] = True
        ctx.log.info("dropped {}", place.database if place.created_database else place.qualified)


# --- hooks -------------------------------------------------------------------------------------


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    # A group of its own in rig --help. Every option also comes from RIG_DEMO_ROWS /
    # RIG_DEMO_TABLE and from demo-rows / demo-table in rig.toml (top level or [python_demo]).
    group = parser.getgroup(PLUGIN, "python_demo plugin: create, fill, query, verify, clean up")
    group.addoption("--demo-rows", type=rig.types.positive_int, default=100, metavar="N",
                    help="rows to insert (default: %(default)s)")
    group.addoption("--demo-table", default="rig_demo", metavar="NAME",
                    help="name of the demo table; each connection appends its id, e.g. "
                    "rig_demo_c1 (default: %(default)s)")


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    # Checks that need more than a type= can express; rig exits 4 naming option and source.
    name = config.getoption("demo_table")
    if not name or not name.strip():
        raise config.invalid("demo_table", "give a table name")
    if len(name) > MAX_TABLE_NAME:
        raise config.invalid("demo_table", f"at most {MAX_TABLE_NAME} characters "
                             "(the connection id is appended)")


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    # State names are unique across the selected plugins: ours carry the demo_ prefix.
    registry.add_state("demo_creating_table", CreateTable(),
                       description="create the demo table (and a scratch database)")
    registry.add_state("demo_populating_data", PopulateData(),
                       description="insert --demo-rows rows, with retry")
    registry.add_state("demo_querying", QueryTable(), description="read count and sum back")
    registry.add_state("demo_verifying", Verify(), description="check count and sum")
    registry.add_state("demo_cleaning_up", CleanUp(), cleanup=True,
                       description="drop what the demo created (also after a failure)")


def _connection_section(conn: rig.ConnectionResult) -> dict[str, Any]:
    data = conn.data or rig.DataStore()
    place, totals = data.get(TABLE), data.get(TOTALS)
    return {
        "database": place.database if place else None,
        "table": place.table if place else None,
        "rows_inserted": data.get(ROWS_INSERTED),
        "totals": asdict(totals) if totals else None,
        "cleaned_up": data.get(CLEANED_UP, False),
    }


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    # Becomes sections["python_demo"] of --report-json: one entry per connection.
    return {conn.id: _connection_section(conn) for conn in result.connections}


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, write: Callable[[str], None]) -> None:
    for conn in result.connections:
        section = _connection_section(conn)
        if section["table"] is None:
            continue
        totals = section["totals"]
        read = f", read back {totals['count']}" if totals else ""
        write(f"{conn.id}  demo table {section['database']}.{section['table']}: "
              f"{section['rows_inserted'] or 0} rows inserted{read}, "
              f"{'dropped' if section['cleaned_up'] else 'NOT dropped'}")
