"""The load plugin's states: preparing, warming up (the ramp), running, cleaning up.

Every connection of the run is one load worker: the coordinator already runs one thread per
connection, PyMySQL releases the GIL while it waits on the server, and each worker times its
own events, so QPS is what the connections really did. They meet at a barrier once the tables
are ready; one shared :class:`~rig_load.run.LoadRun` then fixes the timeline and collects the
samples.
"""

from __future__ import annotations

import sys
import time

import rig
from rig_load import drivers, progress, schema
from rig_load.options import DEFAULT_DATABASE, LoadOptions
from rig_load.plan import Plan, natural_order
from rig_load.processes import ProcessPool, WorkerSpec, make_jobs
from rig_load.run import LoadRun, WorkerStats
from rig_load.worker import ContextLink, DriverLink, Link, Worker
from rig_load.workloads import Workload

MEMBERS = "load.members"
"""Shared: connection id → server address, for every connection that began the load states."""
SETTINGS = "load.settings"
"""Shared: connection id → its :class:`rig.ConnectionSettings` (for worker processes)."""
RUN = "load.run"
PREPARED = "load.prepared"
START_DELAY_S = 0.01

RUN_KEY: rig.Key[LoadRun] = rig.Key("load.run")
STATS_KEY: rig.Key[WorkerStats] = rig.Key("load.worker")
DATABASE_KEY: rig.Key[str] = rig.Key("load.database")

PREPARING, WARMING_UP, RUNNING, CLEANING_UP = (
    "load_preparing", "load_warming_up", "load_running", "load_cleaning_up")


def _created_key(address: str) -> str:
    return f"load.created_database.{address}"


class Preparing:
    """Creates the database when needed and the tables, shared out between the connections
    of each server (with ``--skip-prepare`` it checks they exist); then waits until every
    running connection is ready."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> str | None:
        connection = ctx.require_connection()
        address = ctx.settings.address
        with ctx.shared.lock() as values:
            values.setdefault(MEMBERS, {})[ctx.connection_id] = address
            values.setdefault(SETTINGS, {})[ctx.connection_id] = ctx.settings
        database = ctx.settings.database or DEFAULT_DATABASE
        if not ctx.settings.database:
            quoted = rig.quote_identifier(database)
            if connection.execute(f"CREATE DATABASE IF NOT EXISTS {quoted}"):
                ctx.shared.set(_created_key(address), True)
            connection.execute(f"USE {quoted}")
        ctx.data[DATABASE_KEY] = database
        while (number := ctx.shared.update(f"load.next_table.{address}",
                                           lambda n: (n or 0) + 1)) <= self.options.tables:
            if self.options.skip_prepare:
                schema.check_table(connection, database, number)
                continue
            began = time.perf_counter()
            schema.create_table(connection, number, self.options.table_size)
            ctx.log.info("prepared {}.{} ({} rows) in {:.2f}s", database,
                         schema.table_name(number), self.options.table_size,
                         time.perf_counter() - began)
        ctx.shared.wait_all_ready(PREPARED)
        return CLEANING_UP if self.options.prepare_only else None


class WarmingUp:
    """Joins the run (the first connection here fixes its timeline) and waits for this
    connection's turn in ``--ramp-up``."""

    def __init__(self, options: LoadOptions, workload: Workload) -> None:
        self.options = options
        self.workload = workload

    def execute(self, ctx: rig.Context) -> None:
        run: LoadRun = ctx.shared.update(RUN, lambda existing: existing or self._new_run(ctx))
        ctx.data[RUN_KEY] = run
        start = run.plan.start_of(ctx.connection_id)
        while not ctx.cancelled and (wait := start - time.perf_counter()) > 0:
            time.sleep(min(wait, 0.2))

    def _new_run(self, ctx: rig.Context) -> LoadRun:
        options = self.options
        order = natural_order(list(ctx.shared.get(MEMBERS, {})))
        pool = self._start_processes(ctx, order) if options.processes > 1 else None
        plan = Plan(time.perf_counter() + START_DELAY_S, options.ramp_up, options.duration,
                    options.report_interval, tuple(order))
        log = ctx.log.bind(conn="load", state=RUNNING)
        shown = progress.choose(ctx.config, sys.stderr, lambda line: log.info(line),
                                options.ramp_up + options.duration)
        run = LoadRun(plan, self.workload, shown)
        if pool is not None:
            run.pool = pool
            pool.launch(run)
        return run

    def _start_processes(self, ctx: rig.Context, order: list[str]) -> ProcessPool:
        options = self.options
        settings = ctx.shared.get(SETTINGS, {})
        database = ctx.data[DATABASE_KEY]
        specs = [WorkerSpec(cid, settings[cid], database) for cid in order]
        pool = ProcessPool(make_jobs(
            specs, options.processes, workload=self.workload, tables=_tables(options),
            table_size=options.table_size, think_time=options.think_time,
            rate_per_worker=options.rate / len(order), driver=options.driver))
        began = time.perf_counter()
        pool.start()
        ctx.log.info("started {} worker processes (pids {}) in {:.2f}s", len(pool.processes),
                     ", ".join(str(p.pid) for p in pool.processes),
                     time.perf_counter() - began)
        return pool


def _tables(options: LoadOptions) -> list[str]:
    return [schema.table_name(n) for n in range(1, options.tables + 1)]


class Running:
    """Runs the workload until the end of the run, then records a check with its figures."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> None:
        run = ctx.data[RUN_KEY]
        stats = self._in_process(ctx, run) if run.pool is None else self._follow(ctx, run)
        errors = sum(stats.errors.values())
        ctx.check("load", rig.Verdict.PASS,
                  f"{stats.events} {run.workload.name} events, {errors} errors, "
                  f"{stats.reconnects} reconnects")

    def _in_process(self, ctx: rig.Context, run: LoadRun) -> WorkerStats:
        options = self.options
        link = self._link(ctx)
        worker = Worker(link, run, tables=_tables(options), table_size=options.table_size,
                        think_time=options.think_time, rate=options.rate / len(run.plan.order))
        try:
            return worker.run()
        finally:
            ctx.data[STATS_KEY] = worker.stats
            run.finish(worker.stats)
            if isinstance(link, DriverLink):
                link.close()

    def _link(self, ctx: rig.Context) -> Link:
        """The coordinator's PyMySQL connection, or a new one through ``--driver``."""
        database = ctx.data[DATABASE_KEY]
        if self.options.driver == "pymysql":
            return ContextLink(ctx, database)
        driver = drivers.load(self.options.driver)
        try:
            return DriverLink(ctx.connection_id, ctx.settings, database, driver, log=ctx.log,
                              cancelled=lambda: ctx.cancelled)
        except driver.errors as exc:
            raise rig.DatabaseError(exc, operation=f"connect with --driver {driver.name}",
                                    connection_id=ctx.connection_id) from None

    def _follow(self, ctx: rig.Context, run: LoadRun) -> WorkerStats:
        """With ``--processes`` this connection's worker runs in a worker process: wait for
        it, and end in error if its process died."""
        while not run.wait_finished(ctx.connection_id, 0.2):
            if ctx.cancelled:
                run.pool.stop.set()
        stats = run.workers[ctx.connection_id]
        ctx.data[STATS_KEY] = stats
        if failure := run.failures.get(ctx.connection_id):
            raise rig.PluginError(failure)
        return stats


class CleaningUp:
    """Leaves the run; the last connection of each server drops the tables (and the database
    it created) unless they are kept."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> None:
        with ctx.shared.lock() as values:
            members = values.get(MEMBERS, {})
            address = members.pop(ctx.connection_id, None)
            last = address is not None and address not in members.values()
            run = values.get(RUN)
            created = bool(values.get(_created_key(str(address))))
        if run is not None:
            run.finish(ctx.data.get(STATS_KEY) or WorkerStats(ctx.connection_id))
        database = ctx.data.get(DATABASE_KEY)
        if not last or database is None or self.options.keeps_tables:
            return
        tables = self.options.tables

        def drop(connection: rig.Connection) -> None:
            if created:
                connection.execute(f"DROP DATABASE IF EXISTS {rig.quote_identifier(database)}")
            else:
                schema.drop_tables(connection, database, tables)

        ctx.retry(drop, operation="drop the load tables")
        ctx.log.info("dropped {}", f"database {database}" if created else
                     f"{database}.sbtest1..{tables}")


def register(registry: rig.StateRegistry, options: LoadOptions, workload: Workload) -> None:
    """Add the four states to the workflow."""
    registry.add_state(PREPARING, Preparing(options),
                       description="create and fill sbtest1..N (or check them), wait for all")
    registry.add_state(WARMING_UP, WarmingUp(options, workload),
                       description="wait for this connection's turn in --ramp-up")
    registry.add_state(RUNNING, Running(options),
                       description="run the workload for --duration, timing every event")
    registry.add_state(CLEANING_UP, CleaningUp(options), cleanup=True,
                       description="drop the tables unless kept")
