"""The plugin's states: prepare the tables, run the clients, check the history, clean up.

Every connection of the run (``--connections``, ``--host``) runs ``--consistency-clients``
client sessions on the same tables, and all of them record into one history: the first
connection to arrive claims the database and creates the tables, the others wait for it at a
barrier. Once every connection's clients are done, the first connection to reach the check
pairs and checks the whole history, alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_consistency import checker, expect, formats
from rig_consistency.checker.models import prohibited_anomalies
from rig_consistency.client import Client, Transactions
from rig_consistency.encoding import create_tables
from rig_consistency.generator import Generator
from rig_consistency.history import pair
from rig_consistency.options import Options
from rig_consistency.recorder import Recorder

PREPARED, RECORDED = "consistency.prepared", "consistency.recorded"
PROGRESS_EVERY_S = 2.0
LEVEL_MODEL = {"read-uncommitted": "read-uncommitted", "read-committed": "read-committed",
               "repeatable-read": "repeatable-read", "serializable": "serializable"}
"""The model each isolation level claims (Adya's PL-1 … PL-3, as Elle names them)."""
TIDB_LEVELS = ("read-committed", "repeatable-read")
"""The levels TiDB accepts (the others fail with 8048)."""


def claimed_model(level: str, server: rig.ServerInfo) -> str:
    """The model ``level`` claims on ``server``: TiDB documents its REPEATABLE READ as snapshot
    isolation."""
    if server.flavor is rig.Flavor.TIDB and level == "repeatable-read":
        return "snapshot-isolation"
    return LEVEL_MODEL[level]


def levels_to_run(options: Options, server: rig.ServerInfo) -> tuple[str, ...]:
    """``--isolation-level``'s levels (``all``: on TiDB, the two it accepts), else the
    server's default; a level TiDB refuses is a :class:`rig.ConfigError`."""
    if not options.levels:
        return (server.default_isolation or "repeatable-read",)
    if server.flavor is not rig.Flavor.TIDB:
        return options.levels
    if options.all_levels:
        return TIDB_LEVELS
    refused = [level for level in options.levels if level not in TIDB_LEVELS]
    if refused:
        raise rig.ConfigError(
            f"--isolation-level {', '.join(refused)}: TiDB refuses it (8048: it has no such "
            f"level unless tidb_skip_isolation_level_check, which would run another)",
            hint="use read-committed or repeatable-read (snapshot isolation on TiDB)")
    return options.levels


@dataclass
class ConsistencyRun:
    """One run of the workload, shared by every connection."""

    options: Options
    database: str
    level: str
    """The isolation level the transactions ran at."""
    level_key: str
    """``level``, with ``+snapshot-isolation`` for MariaDB's ``innodb_snapshot_isolation``."""
    models: tuple[str, ...]
    profile: expect.Profile | None
    begin: str
    server: dict[str, Any]
    recorder: Recorder
    generator: Generator
    deadline: float | None = None
    started: float = 0.0
    duration_s: float = 0.0
    check_s: float = 0.0
    checked_by: str | None = None
    history_file: str | None = None
    result: checker.CheckResult | None = None
    unexpected: list[str] = field(default_factory=list)
    known_found: list[str] = field(default_factory=list)
    saving: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def section(self) -> dict[str, Any]:
        """The JSON report section."""
        options = self.options
        return {
            "workload": options.workload,
            "isolation_level": self.level,
            "level_key": self.level_key,
            "models": list(self.models),
            "seed": options.seed,
            "clients": self.server["clients"],
            "server": self.server,
            "duration_s": round(self.duration_s, 3),
            "transactions": self.recorder.counts(),
            "check_s": round(self.check_s, 3),
            "expect": None if self.profile is None else {
                "profile": self.profile.name,
                "known": sorted(self.profile.known(self.level_key).anomalies),
                "why": self.profile.known(self.level_key).why},
            "unexpected": self.unexpected,
            "known_found": self.known_found,
            "history_file": self.history_file,
            "result": None if self.result is None else self.result.to_json(),
        }


RUNS: rig.Key[list[ConsistencyRun]] = rig.Key("consistency.runs")
"""Shared: the run at each level, in turn; also in the data of the connection that set them
up (it reports them)."""
CURRENT: rig.Key[int] = rig.Key("consistency.current")
"""A connection's own: the index of the level it is at."""
FAILED: rig.Key[str] = rig.Key("consistency.prepare_failed")
KEY_SPACE = 10**9
"""The keys of the n-th level's run start at n * KEY_SPACE."""


def _sql_level(level: str) -> str:
    return level.upper().replace("-", " ")


def current(ctx: rig.Context) -> tuple[int, ConsistencyRun]:
    """This connection's level index and its run."""
    runs = ctx.shared.get(RUNS)
    assert runs is not None, "consistency_preparing runs first"
    index = ctx.data.get(CURRENT, 0)
    return index, runs[index]


class Prepare:
    """The first connection checks the options against the server, claims the database,
    creates the tables and sets up a run per level; every connection then meets at a
    barrier."""

    def execute(self, ctx: rig.Context) -> str | None:
        try:
            with ctx.shared.lock() as store:
                if store.get(RUNS) is None and store.get(FAILED) is None:
                    store[RUNS] = ctx.data[RUNS] = self._set_up(ctx)  # this one reports
        except Exception:
            ctx.shared.set(FAILED, ctx.connection_id)
            raise
        ctx.shared.wait_all_ready(PREPARED)
        failed = ctx.shared.get(FAILED)
        if failed is not None:
            ctx.log.warning("not running the workload: preparing failed on {}", failed)
            return "consistency_cleaning_up"
        return None

    @staticmethod
    def _set_up(ctx: rig.Context) -> list[ConsistencyRun]:
        options = Options.from_config(ctx.config)
        connection = ctx.require_connection()
        server = ctx.server
        assert server is not None, "getting_version runs first"
        if options.txn_mode and server.flavor is not rig.Flavor.TIDB:
            raise rig.ConfigError(f"--txn-mode {options.txn_mode} needs TiDB, but the server "
                                  f"is {server.describe()}", hint="drop --txn-mode")
        levels = levels_to_run(options, server)
        claimed = ctx.scratch.database(connection, options.database,
                                       option="--consistency-database")
        create_tables(connection, ctx.scratch, claimed.name, options.workload, options.tables)
        facts: dict[str, Any] = {"flavor": server.flavor.value, "version": server.version_text,
                                 "version_string": server.version_string,
                                 "database": claimed.name, "database_created": claimed.created,
                                 "clients": options.clients * ctx.shared.parties}
        snapshot = False
        if server.features.snapshot_isolation_setting:
            value = str(connection.scalar("SELECT @@innodb_snapshot_isolation"))
            snapshot = value in ("1", "ON")
            facts["innodb_snapshot_isolation"] = "ON" if snapshot else "OFF"
        if server.flavor is rig.Flavor.TIDB:
            facts["txn_mode"] = options.txn_mode or str(connection.scalar(
                "SELECT @@tidb_txn_mode") or "pessimistic")
        profile = expect.choose(options.expect, server, facts.get("txn_mode"))
        begin = f"BEGIN {options.txn_mode.upper()}" if options.txn_mode else "START TRANSACTION"
        runs = []
        for index, level in enumerate(levels):
            level_key = level + (expect.SNAPSHOT_SUFFIX
                                 if snapshot and level == "repeatable-read" else "")
            runs.append(ConsistencyRun(
                options=options, database=claimed.name, level=level, level_key=level_key,
                models=options.models or (claimed_model(level, server),), profile=profile,
                begin=begin,
                server=facts, recorder=Recorder(options.txns),
                generator=Generator(options.workload, options.seed, options.shape,
                                    first_key=index * KEY_SPACE)))
        ctx.log.info("consistency: {} at {} on {}, database {}, seed {}", options.workload,
                     ", ".join(run.level_key for run in runs), server.describe(),
                     claimed.name, options.seed)
        return runs


class Run:
    """Runs this connection's clients until the duration or the transaction count is reached
    (or Ctrl-C); the first failure of a client that cannot go on is raised once all have
    stopped."""

    def execute(self, ctx: rig.Context) -> None:
        _index, run = current(ctx)
        with ctx.shared.lock():
            if not run.started:
                run.started = time.monotonic()
                if run.options.duration is not None:
                    run.deadline = run.started + run.options.duration
        ctx.event("consistency workload", kind=rig.EventKind.START,
                  detail=f"{run.options.clients} client(s) at {run.level_key}")
        errors: list[BaseException] = []
        threads = [threading.Thread(target=self._client, args=(ctx, run, errors),
                                    name=f"{ctx.connection_id}-client{n}", daemon=True)
                   for n in range(run.options.clients)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(PROGRESS_EVERY_S / len(threads))
            if ctx.connection_id == "c1":
                counts = run.recorder.counts()
                ctx.log.info("consistency: {} transactions, {} ok, {} failed, {} unknown",
                             counts["invoked"], counts["ok"], counts["fail"], counts["info"])
        with ctx.shared.lock():
            run.duration_s = max(run.duration_s, time.monotonic() - run.started)
        ctx.event("consistency workload", kind=rig.EventKind.END,
                  detail=", ".join(f"{n} {k}" for k, n in run.recorder.counts().items()))
        if errors:
            raise errors[0]

    @staticmethod
    def _client(ctx: rig.Context, run: ConsistencyRun, errors: list[BaseException]) -> None:
        def open_session() -> rig.Connection:
            session = ctx.open_connection(database=run.database)
            try:
                session.execute(
                    f"SET SESSION TRANSACTION ISOLATION LEVEL {_sql_level(run.level)}")
            except rig.DatabaseError:
                session.close()
                raise
            return session

        def stop() -> bool:
            return ctx.cancelled or (run.deadline is not None
                                     and time.monotonic() >= run.deadline)

        transactions = Transactions(run.options.workload, run.options.tables, run.begin)
        try:
            Client(open_session=open_session, recorder=run.recorder, generator=run.generator,
                   transactions=transactions, stop=stop, wait=ctx.wait,
                   give_up_after_s=float(ctx.config.getoption("retry_max_time"))).run()
        except Exception as exc:  # raised by the state once every client has stopped
            errors.append(exc)


class Check:
    """Waits for every connection's clients, then — on the first connection to get here —
    saves the history (``--consistency-save-history``), checks it and judges the result;
    then on to the next level, if any."""

    def execute(self, ctx: rig.Context) -> str | None:
        index, run = current(ctx)
        ctx.shared.wait_all_ready(f"{RECORDED}.{index}")
        with ctx.shared.lock():
            mine = run.checked_by is None
            if mine:
                run.checked_by = ctx.connection_id
        if mine:
            save_history(ctx, run)
            started = time.perf_counter()
            result = checker.check(pair(run.recorder.ops()), workload=run.options.workload,
                                   models=run.models,
                                   cycle_timeout_s=run.options.cycle_timeout)
            run.check_s = time.perf_counter() - started
            run.result = result
            judge(ctx, run, result)
        ctx.data[CURRENT] = index + 1
        runs = ctx.shared.get(RUNS)
        assert runs is not None
        return "consistency_running" if index + 1 < len(runs) else None


def judge(ctx: rig.Context, run: ConsistencyRun, result: checker.CheckResult) -> None:
    """One check: the history against the level's model, known weaknesses excepted."""
    known = run.profile.known(run.level_key).anomalies if run.profile else frozenset()
    prohibited = prohibited_anomalies(run.models)
    found = set(result.anomaly_types) & prohibited
    run.unexpected = sorted(found - known)
    run.known_found = sorted(found & known)
    checked = f"{run.recorder.counts()['ok']} committed transaction(s) of " \
              f"{run.recorder.counts()['invoked']} checked against {', '.join(run.models)}"
    name = f"consistency {run.level_key}"
    if run.unexpected:
        ctx.check(name, rig.Verdict.FAIL, f"{checked}: {', '.join(run.unexpected)} found")
    elif result.valid == "unknown":
        ctx.check(name, rig.Verdict.UNKNOWN, f"{checked}: undecided "
                  f"({', '.join(result.anomaly_types)}); try a longer "
                  "--consistency-cycle-timeout or a shorter run")
    elif run.known_found:
        assert run.profile is not None
        ctx.check(name, rig.Verdict.PASS, f"{checked}: {', '.join(run.known_found)} found, "
                  f"known for {run.profile.name}")
    else:
        ctx.check(name, rig.Verdict.PASS, f"{checked}: valid")


def save_history(ctx: rig.Context, run: ConsistencyRun) -> None:
    """Write the history to ``--consistency-save-history`` (once)."""
    path = history_path(run)
    if path is None:
        return
    with run.saving:
        if run.history_file is None:
            _write_history(ctx, run, path)


def history_path(run: ConsistencyRun) -> str | None:
    """Where ``--consistency-save-history`` puts the run's history: the file named, or — when
    several levels run — that name with the level before its suffix (``h.serializable.edn``)."""
    path = run.options.save_history
    if path is None or len(run.options.levels) <= 1:
        return path
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}.{run.level_key}{dot}{suffix}"


def _write_history(ctx: rig.Context, run: ConsistencyRun, path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as file:
            (formats.write_edn if path.endswith(".edn") else formats.write_jsonl)(
                run.recorder.ops(), file)
    except OSError as exc:  # it was writable when the run began
        raise rig.ConfigError(f"cannot write --consistency-save-history {path}: "
                              f"{(exc.strerror or str(exc)).lower()}",
                              hint="check the path") from None
    run.history_file = path
    ctx.log.info("saved the history ({} operations) to {}", len(run.recorder.ops()), path)


class CleanUp:
    """After a failure or Ctrl-C, on the connection that set the run up: saves the history
    recorded so far, if asked and not yet saved. rig closes the sessions and drops the run's
    scratch data."""

    def execute(self, ctx: rig.Context) -> None:
        for run in ctx.data.get(RUNS, []):
            if run.started:
                save_history(ctx, run)
