"""The load plugin's states: preparing, warming up (the ramp), running, cleaning up.

Every connection of the run is one load worker: the coordinator already runs one thread per
connection, PyMySQL releases the GIL while it waits on the server, and each worker times its
own events, so QPS is what the connections really did. They meet at a barrier once the tables
are ready; one shared :class:`~rig_load.run.LoadRun` then fixes the timeline and collects the
samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rig
from rig_load import availability, drivers, progress, ray_pool, schema
from rig_load.options import DEFAULT_DATABASE, PLUGIN, RAY, LoadOptions
from rig_load.plan import Plan, natural_order
from rig_load.processes import ProcessPool, Resilience, WorkerSpec, make_jobs
from rig_load.ray_pool import RayPool
from rig_load.run import LoadRun, Pool, WorkerStats
from rig_load.worker import ContextLink, DriverLink, Link, Worker
from rig_load.workloads import Workload

MEMBERS: rig.Key[dict[str, str]] = rig.Key("load.members")
"""Shared: connection id → server address, for every connection that began the load states
and has not cleaned up yet."""
SETTINGS: rig.Key[dict[str, rig.ConnectionSettings]] = rig.Key("load.settings")
"""Shared: connection id → its :class:`rig.ConnectionSettings` (for worker processes)."""
NEXT_TABLE: rig.Key[dict[str, int]] = rig.Key("load.next_table")
"""Shared: server address → the last table number a connection of that server took."""
PREPARE_FAILED: rig.Key[str] = rig.Key("load.prepare_failed")
"""Shared: the connection on which preparing failed (then no connection runs the load)."""
RUN: rig.Key[LoadRun] = rig.Key("load.run")
"""Shared: the run every connection joins."""
PREPARED = "load.prepared"
"""The barrier after preparing."""
START_DELAY_S = 0.01
RAY_START_DELAY_S = 0.5
"""With Ray the plan reaches the actors through the cluster: room for the round trip."""
WORKLOAD_EVENT = "load.workload"
"""The timeline period of the load run: from its start (the first connection's, before the
ramp-up) until the last connection left it."""

RUN_KEY: rig.Key[LoadRun] = rig.Key("load.run")
STATS_KEY: rig.Key[WorkerStats] = rig.Key("load.worker")
DATABASE_KEY: rig.Key[str] = rig.Key("load.database")

PREPARING, WARMING_UP, RUNNING, CLEANING_UP = (
    "load_preparing", "load_warming_up", "load_running", "load_cleaning_up")


class Preparing:
    """Claims the database when ``--database`` is not given and creates the tables as scratch
    data, shared out between the connections of each server (with ``--load-skip-prepare`` it
    checks they exist and uses them as they are); then waits until every running connection is
    ready. When preparing failed anywhere, no connection runs the load."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> str | None:
        connection = ctx.require_connection()
        with ctx.shared.lock() as store:
            store.setdefault(MEMBERS, {})[ctx.connection_id] = ctx.settings.address
            store.setdefault(SETTINGS, {})[ctx.connection_id] = ctx.settings
        try:
            self._prepare(ctx, connection)
        except Exception:
            ctx.shared.set(PREPARE_FAILED, ctx.connection_id)
            raise
        ctx.shared.wait_all_ready(PREPARED)
        failed = ctx.shared.get(PREPARE_FAILED)
        if failed is not None:
            ctx.log.warning("not running the load: preparing failed on {} (see its error)",
                            failed)
            return CLEANING_UP
        return CLEANING_UP if self.options.prepare_only else None

    def _prepare(self, ctx: rig.Context, connection: rig.Connection) -> None:
        options = self.options
        database = ctx.settings.database or DEFAULT_DATABASE
        ctx.data[DATABASE_KEY] = database
        if options.skip_prepare:
            schema.check_tables(connection, database, options.tables)
        else:
            if not ctx.settings.database:
                ctx.scratch.database(connection, database, option="--database")
            while (number := self._next_table(ctx)) <= options.tables:
                if ctx.shared.get(PREPARE_FAILED) is not None or ctx.cancelled:
                    break
                began = time.perf_counter()
                schema.create_table(ctx.scratch, connection, database, number,
                                    options.table_size)
                ctx.log.info("prepared {}.{} ({} rows) in {:.2f}s", database,
                             schema.table_name(number), options.table_size,
                             time.perf_counter() - began)
        if not ctx.settings.database:
            connection.execute(f"USE {rig.quote_identifier(database)}")

    @staticmethod
    def _next_table(ctx: rig.Context) -> int:
        """The next table number for a connection of this server to create."""
        with ctx.shared.lock() as store:
            taken = store.setdefault(NEXT_TABLE, {})
            number = taken.get(ctx.settings.address, 0) + 1
            taken[ctx.settings.address] = number
            return number


class WarmingUp:
    """Joins the run (the first connection here fixes its timeline) and waits for this
    connection's turn in ``--load-ramp-up``."""

    def __init__(self, options: LoadOptions, workload: Workload) -> None:
        self.options = options
        self.workload = workload

    def execute(self, ctx: rig.Context) -> None:
        run = ctx.shared.update(RUN, lambda existing: existing or self._new_run(ctx))
        ctx.data[RUN_KEY] = run
        wait = run.plan.start_of(ctx.connection_id) - time.perf_counter()
        if wait > 0:
            ctx.wait(wait)  # ends early on Ctrl-C

    def _new_run(self, ctx: rig.Context) -> LoadRun:
        options = self.options
        members = ctx.shared.get(MEMBERS) or {}
        order = natural_order(list(members))
        ctx.log.bind(conn="load", state=RUNNING).info(
            "load: {} · {} connection(s) · {}", self.workload.name, len(order),
            options.decided())
        pool = self._start_pool(ctx, order) \
            if options.processes > 1 or options.executor == RAY else None
        delay = RAY_START_DELAY_S if options.executor == RAY else START_DELAY_S
        plan = Plan(time.perf_counter() + delay, options.ramp_up, options.duration,
                    options.report_interval, tuple(order))
        log = ctx.log.bind(conn="load", state=RUNNING)
        shown = progress.choose(ctx.terminal, lambda line: log.info(line),
                                options.ramp_up + options.duration)
        config = ctx.config
        t0_at_s = config.timeline.now_s() + (plan.t0 - time.perf_counter())
        run = LoadRun(plan, self.workload, progress.Live(shown, config),
                      observe=_observer(config, plan), t0_at_s=t0_at_s)
        config.timeline.add(WORKLOAD_EVENT, source=PLUGIN, kind=rig.EventKind.START,
                            detail=f"{len(order)} connection(s), {self.workload.name}")
        if pool is not None:
            run.pool = pool
            pool.launch(run)
        return run

    def _start_pool(self, ctx: rig.Context, order: list[str]) -> Pool:
        """Start the worker processes, or the Ray actors, and wait until they connected."""
        options = self.options
        settings = ctx.shared.get(SETTINGS, {})
        database = ctx.data[DATABASE_KEY]
        specs = [WorkerSpec(cid, settings[cid], database) for cid in order]
        jobs = make_jobs(
            specs, options.processes, workload=self.workload, tables=_tables(options),
            table_size=options.table_size, think_time=options.think_time,
            rate_per_worker=options.rate / len(order), driver=options.driver,
            resilience=Resilience.of(ctx.connector))
        began = time.perf_counter()
        if options.executor == RAY:
            ray = RayPool(jobs, options.ray_address or ray_pool.LOCAL)
            ray.start()
            ctx.log.info("started {} in {:.2f}s", ray.describe(), time.perf_counter() - began)
            return ray
        pool = ProcessPool(jobs)
        pool.start()
        ctx.log.info("started {} worker processes (pids {}) in {:.2f}s", len(pool.processes),
                     ", ".join(str(p.pid) for p in pool.processes),
                     time.perf_counter() - began)
        return pool


def _observer(config: rig.Config, plan: Plan) -> Callable[[dict[str, Any]], None]:
    """What is done with each closed interval record before its line is shown: its bounds on
    the run's timeline and the injected faults that overlapped it are added, and the
    ``load_interval`` hook is called."""
    offset = config.timeline.now_s() - time.perf_counter()

    def observe(record: dict[str, Any]) -> None:
        end_s = plan.t0 + record["t_s"] + offset
        start_s = end_s - record["seconds"]
        record["start_s"], record["end_s"] = round(start_s, 3), round(end_s, 3)
        record["faults"] = [period.as_json() for period in config.timeline.periods(start_s, end_s)
                            if period.fault is not None]
        config.hook.load_interval(record=record, config=config)

    return observe


def _tables(options: LoadOptions) -> list[str]:
    return [schema.table_name(n) for n in range(1, options.tables + 1)]


class Running:
    """Runs the workload until the end of the run, then records a check with its figures."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> None:
        run = ctx.data[RUN_KEY]
        stats = self._in_process(ctx, run) if run.pool is None \
            else self._follow(ctx, run, run.pool)
        if stats.gaps and not stats.gaps[-1]["reconnected"] and not ctx.cancelled:
            gap = stats.gaps[-1]
            address = ctx.settings.address
            raise rig.ConnectError(
                f"lost the connection to {address} in state {ctx.state}: it was not back by "
                f"the end of the run ({gap['duration_s']:g}s without it from "
                f"{gap['at_s']:g}s: {gap['cause']})",
                hint=f"check that the server at {address} is running and reachable, then "
                "run again")
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
        """The coordinator's PyMySQL connection, or a new one through ``--load-driver``."""
        database = ctx.data[DATABASE_KEY]
        if self.options.driver == "pymysql":
            return ContextLink(ctx, database)
        driver = drivers.load(self.options.driver, ctx.connector)
        try:
            return DriverLink(ctx.connection_id, ctx.settings, database, driver, log=ctx.log,
                              cancelled=lambda: ctx.cancelled,
                              retry_policy=ctx.connector.retry_policy,
                              breaker=ctx.connector.breakers.for_server(ctx.settings.address))
        except driver.errors as exc:
            raise rig.DatabaseError(exc, operation=f"connect with --load-driver {driver.name}",
                                    connection_id=ctx.connection_id) from None

    def _follow(self, ctx: rig.Context, run: LoadRun, pool: Pool) -> WorkerStats:
        """With ``--load-processes`` (or Ray) this connection's worker runs in a worker process
        (or an actor): wait for it, and end in error if its process died."""
        while not run.wait_finished(ctx.connection_id, 0.2):
            if ctx.cancelled:
                pool.cancel()
        stats = run.workers[ctx.connection_id]
        ctx.data[STATS_KEY] = stats
        if failure := run.failures.get(ctx.connection_id):
            raise rig.PluginError(failure)
        return stats


class CleaningUp:
    """Leaves the run: hands over this connection's figures; the last connection to leave
    closes the run (worker processes, the reporter, the live line). The tables and the database
    the run created are scratch data: the core drops them at the end of the run unless
    ``--keep-tables``."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options

    def execute(self, ctx: rig.Context) -> None:
        with ctx.shared.lock() as store:
            members = store.get(MEMBERS) or {}
            members.pop(ctx.connection_id, None)
            last = not members
            run = store.get(RUN)
        if run is None:
            return
        run.finish(ctx.data.get(STATS_KEY) or WorkerStats(ctx.connection_id))
        if last:
            run.close()
            ctx.config.timeline.add(WORKLOAD_EVENT, source=PLUGIN, kind=rig.EventKind.END)
            if run.observer_error is not None:
                error = run.observer_error
                raise rig.PluginError(f"a load_interval hook raised {type(error).__name__}: "
                                      f"{error}", hint="fix the plugin that implements it"
                                      ) from error
            if run.intervals and not ctx.cancelled:
                figures = availability.of_run(run)
                ctx.check("load availability", rig.Verdict(figures["verdict"]),
                          availability.describe(figures))


def register(registry: rig.StateRegistry, options: LoadOptions, workload: Workload) -> None:
    """Add the four states to the workflow."""
    registry.add_state(PREPARING, Preparing(options),
                       description="create and fill sbtest1..N (or check them), wait for all")
    registry.add_state(WARMING_UP, WarmingUp(options, workload),
                       description="wait for this connection's turn in --load-ramp-up")
    registry.add_state(RUNNING, Running(options),
                       description="run the workload for --load-duration, timing every "
                       "event")
    registry.add_state(CLEANING_UP, CleaningUp(options), cleanup=True,
                       description="finish the run's figures and end the live line")
