"""rig's reference plugin, written to be read: docs/plugin-guide.md walks through it.

After the core's common states (connect, ``SELECT 1``, ``--database``, flavour and version) it
runs five states of its own::

    python_demo_creating_table → python_demo_populating_data → python_demo_querying
        → python_demo_verifying → python_demo_cleaning_up

It creates a table (in ``--database``, or in a scratch database of the run), inserts
``--python-demo-rows`` rows, reads them back and checks the count and the sum. It never drops
anything itself: rig drops the scratch data the run created when the run ends (unless
``--keep-tables``), also when the run fails or is interrupted half-way.

Each piece a plugin author needs appears once: options named after the plugin in their own
``rig --help`` group (``rig_addoption``), validation and run-wide data (``rig_configure``,
``config.invalid``, ``config.stash``), states and handlers (``rig_register_states``),
handler-local data (``ctx.local``), data shared between one connection's handlers
(``ctx.data``) and between connections (``ctx.shared``), scratch data (``ctx.scratch``), the
core's retry (``ctx.retry``), a live progress line (``ctx.terminal``), a timeline event
(``ctx.event``), a check with a verdict (``ctx.check``), a cleanup state, a report section
(``rig_report``) and a summary line (``rig_terminal_summary``).

The naming rule, followed throughout: options ``--python-demo-<name>``, states
``python_demo_<what>``, data keys ``"python_demo.<what>"``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import rig

__version__ = "0.2.0"

PLUGIN = "python_demo"

INSERT_BATCH = 500
"""Rows per INSERT: one statement, one round trip, and a unit small enough to retry."""


TABLE_DEFINITION = ("(id BIGINT NOT NULL PRIMARY KEY, label VARCHAR(64) NOT NULL, "
                    "amount BIGINT NOT NULL) ENGINE=InnoDB")

LIVE_EVERY_S = 0.1
"""How often the live progress line is redrawn at most (a batch may take a millisecond)."""

LOG_EVERY_S = 5.0
"""How often a progress log line is written at most when there is no live line."""


# --- data ----------------------------------------------------------------------------------------
# Data lives under typed keys named after the plugin ("python_demo.<what>"), so that no two
# plugins overwrite each other. Three stores, three lifetimes:
#   config.stash  the whole run (set in rig_configure, read by every connection);
#   ctx.data      one connection: its handlers share it, and rig_report reads it afterwards;
#   ctx.shared    every connection at once, while they run (behind a lock).


@dataclass(frozen=True)
class DemoTable:
    """Where a connection's demo table lives."""

    database: str
    table: str
    scratch_database: bool
    """Whether ``database`` is the run's scratch database (no ``--database`` was given)."""

    @property
    def qualified(self) -> str:
        """``database.table``, quoted: every name that reaches SQL goes through
        :func:`rig.quote_identifier`, so any name is safe."""
        return f"{rig.quote_identifier(self.database)}.{rig.quote_identifier(self.table)}"


@dataclass(frozen=True)
class Totals:
    """What ``python_demo_querying`` read back."""

    count: int
    total: int
    query_ms: float


SCRATCH_NAME: rig.Key[str] = rig.Key("python_demo.scratch_name")
"""config.stash: the name of the run's scratch database, drawn once in rig_configure."""

TABLE: rig.Key[DemoTable] = rig.Key("python_demo.table")
ROWS_INSERTED: rig.Key[int] = rig.Key("python_demo.rows_inserted")
TOTALS: rig.Key[Totals] = rig.Key("python_demo.totals")
CLEANUP_RAN: rig.Key[bool] = rig.Key("python_demo.cleanup_ran")

PROGRESS: rig.Key[dict[str, str]] = rig.Key("python_demo.progress")
"""ctx.shared: the progress line of each connection still populating, by connection id."""


def amount_of(row_id: int) -> int:
    """The value stored in row ``row_id``; known in advance so the sum can be verified."""
    return row_id * 7 % 1000


# --- the live progress line ----------------------------------------------------------------------
# The run has ONE live block at the bottom of the terminal (ctx.terminal), shared by every
# connection and plugin; live() replaces all of it. So each connection keeps its own line in
# ctx.shared and redraws the lines of every connection still populating. rig never writes to
# sys.stderr behind the terminal's back, and neither does a plugin: log lines and
# ctx.terminal.line() go above the live block without breaking it.


def show_progress(ctx: rig.Context, line: str) -> bool:
    """Show ``line`` as this connection's live progress line; ``False`` when the terminal has
    no live block (not a terminal, ``-q``, JSON logs, ``--log-level``)."""
    if not ctx.terminal.can_live:
        return False
    with ctx.shared.lock() as store:  # one connection redraws at a time
        lines = store.setdefault(PROGRESS, {})
        lines[ctx.connection_id] = line
        return ctx.terminal.live(list(lines.values()))


def end_progress(ctx: rig.Context) -> None:
    """Take this connection's line out of the live block; end the block when it was the last.
    Safe to call when nothing was shown, and more than once."""
    if not ctx.terminal.can_live:
        return
    with ctx.shared.lock() as store:
        lines = store.setdefault(PROGRESS, {})
        mine = lines.pop(ctx.connection_id, None)
        if mine is None:
            return  # nothing of ours is on screen (the block may be another plugin's)
        if lines:  # others are still populating: keep my last line above theirs
            ctx.terminal.live(list(lines.values()))  # first, so mine is not redrawn below
            ctx.terminal.line(mine, err=True)
        else:
            # keep=True leaves the last line on screen and moves below it, so what follows
            # (logs, the summary, the shell's prompt) starts on a line of its own.
            ctx.terminal.end_live(keep=True)


# --- handlers ------------------------------------------------------------------------------------
# One handler object serves every connection (several may run at once, in threads), so a
# handler keeps nothing per connection on ``self``: it uses ctx.data or ctx.local(self).


class CreateTable:
    """Creates the connection's demo table: in ``--database`` when given, else in the run's
    scratch database."""

    def execute(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        table = f"{ctx.config.getoption('python_demo_table')}_{ctx.connection_id}"
        if ctx.settings.database is not None:
            database, scratch_database = ctx.settings.database, False
        else:
            # The run's scratch database: created by whichever connection asks first (the
            # others get the same one), or taken over only when it exists and is empty. The
            # core drops it when the run ends, unless --keep-tables.
            claimed = ctx.scratch.database(connection, ctx.config.stash[SCRATCH_NAME],
                                           option="--database")
            database, scratch_database = claimed.name, True
        place = DemoTable(database, table, scratch_database)
        # CREATE TABLE, never IF NOT EXISTS and never DROP first: a table that exists is
        # someone else's, and the core refuses it (exit 4; its fix names the option given
        # here). The core records the table it created, and drops it at the end of the run
        # (unless --keep-tables).
        ctx.scratch.create_table(connection, database, table, TABLE_DEFINITION,
                                 option="--python-demo-table")
        ctx.data[TABLE] = place
        ctx.log.info("created {}", place.qualified)


class PopulateData:
    """Inserts ``--python-demo-rows`` rows in batches, each through the core's retry, with a
    live progress line on a terminal (log lines otherwise)."""

    def execute(self, ctx: rig.Context) -> None:
        place = ctx.data[TABLE]
        rows = ctx.config.getoption("python_demo_rows")
        started = time.monotonic()
        shown_at, logged_at = float("-inf"), started
        inserted = 0
        for first in range(1, rows + 1, INSERT_BATCH):
            if ctx.cancelled:  # Ctrl-C: stop promptly; the cleanup state still runs
                return
            last = min(first + INSERT_BATCH - 1, rows)
            self.insert(ctx, place, first, last)
            inserted = last
            ctx.data[ROWS_INSERTED] = inserted  # kept current: a failure reports how far
            now = time.monotonic()
            progress = f"{ctx.connection_id} python_demo: {inserted}/{rows} rows " \
                       f"({inserted * 100 // rows}%)"
            if now - shown_at >= LIVE_EVERY_S or inserted == rows:
                shown_at = now
                if not show_progress(ctx, progress) and now - logged_at >= LOG_EVERY_S:
                    logged_at = now
                    ctx.log.info("inserted {}/{} rows", inserted, rows)
        end_progress(ctx)
        elapsed = time.monotonic() - started
        ctx.log.info("inserted {} rows into {} in {:.2f} s", inserted, place.qualified, elapsed)
        # A timeline event: every reporter shows it beside the states (JSON: "timeline").
        ctx.event("python_demo.populated", detail=f"{inserted} rows in {place.qualified}",
                  data={"rows": inserted, "seconds": round(elapsed, 3)})

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
        # SUM is a DECIMAL on MySQL-compatible servers, and rig_report may return JSON types
        # only (a Decimal is an error, exit 3): store plain ints.
        ctx.data[TOTALS] = Totals(int(row["n"]), int(row["total"]), elapsed_ms)

    def exit(self, ctx: rig.Context) -> None:
        started = ctx.local(self).pop("started")
        ctx.log.debug("python_demo_querying took {:.1f} ms",
                      (time.perf_counter() - started) * 1000)


class Verify:
    """Checks that the table holds exactly the rows that were inserted: a verdict."""

    def execute(self, ctx: rig.Context) -> None:
        expected_rows = ctx.data[ROWS_INSERTED]
        expected_total = sum(amount_of(i) for i in range(1, expected_rows + 1))
        found = ctx.data[TOTALS]
        if (found.count, found.total) == (expected_rows, expected_total):
            ctx.check("python_demo_rows", rig.Verdict.PASS,
                      f"{found.count} rows, sum {found.total}, read in {found.query_ms:.1f} ms")
        else:
            # A FAIL verdict makes rig exit 1; the workflow goes on.
            ctx.check("python_demo_rows", rig.Verdict.FAIL,
                      f"expected {expected_rows} rows summing to {expected_total}, "
                      f"found {found.count} summing to {found.total}")


class CleanUp:
    """Puts the terminal back in order. Registered with ``cleanup=True``, so it also runs when
    a state before it failed or the run was interrupted (Ctrl-C, SIGTERM).

    It does NOT drop the scratch data: the core drops what the run created once every
    connection has finished (another connection may still be using the scratch database), and
    keeps it with ``--keep-tables`` so it can be looked at. A cleanup state is for what only the
    plugin knows about: here, the live progress line, which an error or Ctrl-C in
    ``python_demo_populating_data`` would otherwise leave half-drawn at the bottom of the
    terminal, under the error messages and the summary.
    """

    def execute(self, ctx: rig.Context) -> None:
        end_progress(ctx)
        ctx.data[CLEANUP_RAN] = True


# --- hooks ---------------------------------------------------------------------------------------


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    # A group of its own in rig --help, options named --python-demo-<name> (the naming rule).
    # Each also comes from RIG_PYTHON_DEMO_ROWS / RIG_PYTHON_DEMO_TABLE and from rig.toml:
    # python-demo-rows = 50 at the top level, or rows = 50 in a [python_demo] table.
    group = parser.getgroup(PLUGIN, "python_demo plugin: create, fill, query, verify")
    group.addoption("--python-demo-rows", type=rig.types.positive_int, default=100,
                    metavar="N", help="rows to insert (default: %(default)s)")
    group.addoption("--python-demo-table", type=rig.types.identifier("table name"),
                    default="rig_demo", metavar="NAME",
                    help="name of the demo table; each connection appends its id, e.g. "
                    "rig_demo_c1 (default: %(default)s)")


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    # Checks that need more than a type= can express: here, the table name's length depends
    # on --connections and --host. config.invalid names the option, its value and where it
    # came from (rig exits 4); config.require(dest) does the same for an option a plugin
    # cannot run without (ours both have defaults).
    name = config.getoption("python_demo_table")
    connections = config.getoption("connections") * len(config.getoption("host"))
    room = rig.types.MAX_NAME - len(f"_c{connections}")
    if len(name) > room:
        raise config.invalid("python_demo_table", f"at most {room} characters: the "
                             f"connection id is appended (up to _c{connections})")
    # Run-wide data: one scratch database name for the whole run, so every connection claims
    # the same database (and two runs at once never meet).
    config.stash[SCRATCH_NAME] = f"rig_python_demo_{uuid.uuid4().hex[:12]}"


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    # State names are unique across the selected plugins: ours are python_demo_<what>.
    registry.add_state("python_demo_creating_table", CreateTable(),
                       description="create the demo table (in a scratch database)")
    registry.add_state("python_demo_populating_data", PopulateData(),
                       description="insert --python-demo-rows rows, with retry")
    registry.add_state("python_demo_querying", QueryTable(),
                       description="read count and sum back")
    registry.add_state("python_demo_verifying", Verify(), description="check count and sum")
    registry.add_state("python_demo_cleaning_up", CleanUp(), cleanup=True,
                       description="end the progress line (also after a failure)")


def _connection_section(conn: rig.ConnectionResult) -> dict[str, Any]:
    data = conn.data or rig.DataStore()
    place, totals = data.get(TABLE), data.get(TOTALS)
    return {
        "database": place.database if place else None,
        "table": place.table if place else None,
        "scratch_database": place.scratch_database if place else None,
        "rows_inserted": data.get(ROWS_INSERTED),
        "totals": asdict(totals) if totals else None,
        "cleanup_ran": data.get(CLEANUP_RAN, False),
    }


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    # Becomes sections["python_demo"] of --report-json: one entry per connection, JSON types
    # only (str, int, float, bool, None, lists and dicts with str keys).
    return {conn.id: _connection_section(conn) for conn in result.connections}


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, config: rig.Config,
                         write: Callable[[str], None]) -> None:
    kept = " (kept: --keep-tables)" if config.getoption("keep_tables") else ""
    for conn in result.connections:
        section = _connection_section(conn)
        if section["table"] is None:
            continue
        totals = section["totals"]
        read = f", read back {totals['count']}" if totals else ""
        write(f"{conn.id}  python_demo table {section['database']}.{section['table']}: "
              f"{section['rows_inserted'] or 0} rows inserted{read}{kept}")
