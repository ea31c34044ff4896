"""The plugin's states: claim the database, run the matrix, judge it, clean up."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_isolation import profile
from rig_isolation.catalog import ANOMALY, BY_ID, PREVENTED, UNSUPPORTED, AnomalyTest
from rig_isolation.matrix import SNAPSHOT_VARIANT, VARIANT_SEPARATOR, deviations, roll_up
from rig_isolation.runner import Environment, Outcome, Variant, run_test


@dataclass
class IsolationRun:
    """The matrix one connection observed."""

    server: dict[str, Any]
    tests: dict[str, dict[str, Outcome]] = field(default_factory=dict)
    """level key → test id → outcome."""
    duration_s: float = 0.0
    expect: str | None = None
    differences: list[profile.Difference] = field(default_factory=list)
    complete: bool = False

    def results(self) -> profile.Matrix:
        """level key → test id → result."""
        return {level: {test: o.result for test, o in row.items()}
                for level, row in self.tests.items()}

    def anomalies(self) -> dict[str, dict[str, str]]:
        """level key → anomaly code → rolled-up result."""
        return {level: roll_up(row) for level, row in self.results().items()}

    def section(self) -> dict[str, Any]:
        """The JSON report section."""
        anomalies = self.anomalies()
        return {
            "server": self.server,
            "tests": {level: {test: o.as_dict() for test, o in row.items()}
                      for level, row in self.tests.items()},
            "anomalies": anomalies,
            "deviations": deviations(anomalies),
            "complete": self.complete,
            "duration_s": round(self.duration_s, 3),
            "expect": None if self.expect is None else {
                "profile": self.expect,
                "differences": [d.__dict__ for d in self.differences],
            },
        }


TIDB_LEVELS = ("read-committed", "repeatable-read")
"""The levels TiDB accepts (the others fail with 8048 unless tidb_skip_isolation_level_check):
what runs on TiDB when ``--isolation-levels`` is not given."""
ENVIRONMENT: rig.Key[Environment] = rig.Key("isolation.environment")
RUN: rig.Key[IsolationRun] = rig.Key("isolation.run")


def database_name(ctx: rig.Context) -> str:
    """``--isolation-database``; with several connections, one database per connection."""
    name = str(ctx.config.getoption("isolation_database"))
    return name if ctx.shared.parties == 1 else f"{name}_{ctx.connection_id}"


def txn_mode(config: rig.Config) -> tuple[str | None, str]:
    """The transaction mode asked for (``None``: the server's) and the flag that asked."""
    own = config.getoption("isolation_txn_mode")
    if own:
        return own, "--isolation-txn-mode"
    return config.getoption("txn_mode"), "--txn-mode"


def variants(ctx: rig.Context, server: rig.ServerInfo) -> list[Variant]:
    """The matrix rows' set-ups, from ``--isolation-snapshot`` and ``--isolation-txn-mode``
    (else ``--txn-mode``)."""
    mode, flag = txn_mode(ctx.config)
    snapshot = ctx.config.getoption("isolation_snapshot")
    if mode and server.flavor is not rig.Flavor.TIDB:
        raise rig.ConfigError(f"{flag} {mode} needs TiDB, but the server is "
                              f"{server.describe()}", hint=f"drop {flag}")
    if snapshot and not server.features.snapshot_isolation_setting:
        raise rig.ConfigError(
            f"--isolation-snapshot {snapshot} needs innodb_snapshot_isolation (MariaDB "
            f"10.6.18, 10.11.8, 11.4 or newer), which {server.describe()} does not have",
            hint="drop --isolation-snapshot")
    begin = f"begin {mode}" if mode else "begin"
    if snapshot == "both":
        return [Variant("", "OFF", begin),
                Variant(VARIANT_SEPARATOR + SNAPSHOT_VARIANT, "ON", begin)]
    return [Variant("", snapshot.upper() if snapshot else None, begin)]


def _variable(connection: rig.Connection, name: str) -> str | None:
    try:
        value = connection.scalar(f"SELECT @@{name}")
    except rig.DatabaseError:
        return None
    if value is None:
        return None
    return {"0": "OFF", "1": "ON"}.get(str(value), str(value))


def _text(value: Any) -> str:
    return " and ".join(map(str, value)) if isinstance(value, list) else str(value)


class Prepare:
    """Checks the options against the server and claims the test database (the run's scratch
    data: created, or taken when it exists and is empty; rig drops what it created at the
    end)."""

    def execute(self, ctx: rig.Context) -> None:
        monitor = ctx.require_connection()
        server = ctx.server
        assert server is not None, "getting_version runs first"
        rows = variants(ctx, server)
        claimed = ctx.scratch.database(monitor, database_name(ctx),
                                       option="--isolation-database")
        database = claimed.name
        detection = ctx.config.getoption("isolation_block_detection")
        block_timeout = float(ctx.config.getoption("isolation_block_timeout"))
        ctx.data[ENVIRONMENT] = Environment(
            monitor=monitor, scratch=ctx.scratch, database=database, flavor=server.flavor,
            block_timeout=block_timeout, server_detection=detection == "server",
            cancelled=lambda: ctx.cancelled,
            open_session=lambda name: _open_session(ctx, database, name))
        facts: dict[str, Any] = {
            "flavor": server.flavor.value,
            "version": server.version_text,
            "version_string": server.version_string,
            "default_isolation": server.default_isolation,
            "database": database,
            "database_created": claimed.created,
            "block_timeout_s": block_timeout,
            "block_detection": detection,
        }
        if server.features.snapshot_isolation_setting:
            facts["innodb_snapshot_isolation"] = _variable(
                monitor, "global.innodb_snapshot_isolation")
            facts["snapshot_isolation_runs"] = [v.snapshot_isolation or "server default"
                                                for v in rows]
        if server.flavor is rig.Flavor.TIDB:
            facts["tidb_txn_mode"] = _variable(monitor, "tidb_txn_mode")
            facts["txn_mode"] = txn_mode(ctx.config)[0] or "server default"
        lock_wait = _variable(monitor, "innodb_lock_wait_timeout")
        if lock_wait is not None and lock_wait.isdigit() and \
                float(lock_wait) <= facts["block_timeout_s"]:
            ctx.log.warning("--isolation-block-timeout {} is not below the server's "
                            "innodb_lock_wait_timeout ({} s): where the server cannot say a "
                            "step waits on a lock, it may fail with 1205 first",
                            facts["block_timeout_s"], lock_wait)
        ctx.data[RUN] = IsolationRun(server=facts)
        ctx.log.info("isolation tests in database {} ({}) on {}", database,
                     "created" if claimed.created else "existing, empty", server.describe())


class TestIsolation:
    """Runs every selected test at every selected level, each from a fresh table."""

    def execute(self, ctx: rig.Context) -> None:
        env = ctx.data[ENVIRONMENT]
        run = ctx.data[RUN]
        server = ctx.server
        assert server is not None
        levels = list(dict.fromkeys(ctx.config.getoption("isolation_levels")))
        if server.flavor is rig.Flavor.TIDB and \
                ctx.config.source("isolation_levels") == "default":
            levels = [level for level in levels if level in TIDB_LEVELS]
            ctx.log.info("TiDB refuses READ UNCOMMITTED and SERIALIZABLE (8048): testing {} "
                         "(--isolation-levels names others)", " and ".join(levels))
        tests = [BY_ID[name] for name in dict.fromkeys(ctx.config.getoption("isolation_tests"))]
        start = time.perf_counter()
        try:
            self._run(ctx, env, run, tests, levels, server)
        finally:
            env.close()
            run.duration_s = time.perf_counter() - start
        run.complete = not ctx.cancelled
        if run.server.get("block_detection") == "server":
            detections = {o.evidence.get("detection") for row in run.tests.values()
                          for o in row.values()}
            run.server["block_detection"] = "+".join(sorted(d for d in detections if d))

    @staticmethod
    def _run(ctx: rig.Context, env: Environment, run: IsolationRun, tests: list[AnomalyTest],
             levels: list[str], server: rig.ServerInfo) -> None:
        for variant in variants(ctx, server):
            for level in levels:
                key = level + variant.key_suffix
                row = run.tests.setdefault(key, {})
                for test in tests:
                    if ctx.cancelled:
                        return
                    outcome = run_test(env, test, level, variant)
                    row[test.id] = outcome
                    ctx.log.debug("{} {}: {} ({})", key, test.id, outcome.result,
                                  outcome.evidence.get("why"))
                ctx.log.info("{}: {}", key, ", ".join(f"{t} {o.result}"
                                                      for t, o in row.items()))


class Judge:
    """One check per (level, test); with ``--isolation-expect`` a mismatch fails;
    ``--isolation-save-profile``."""

    def execute(self, ctx: rig.Context) -> None:
        run = ctx.data[RUN]
        expect = ctx.config.getoption("isolation_expect")
        if expect == profile.AUTO:
            expect = profile.shipped_for(run.server, ctx.config.getoption("isolation_snapshot"))
            if expect is None:
                ctx.log.info("no shipped profile for {} {}: nothing to compare with",
                             run.server["flavor"], run.server["version"])
        expected: profile.Matrix = {}
        if expect and expect != profile.NONE:
            expected = profile.load(expect)
            run.expect = str(profile.resolve(expect))
            run.differences = profile.compare(expected, run.results())
        for level, row in run.tests.items():
            for test, outcome in row.items():
                want = expected.get(level, {}).get(test)
                detail = f"{outcome.result}: {outcome.evidence.get('why', '')}"
                if want == outcome.result:
                    verdict = rig.Verdict.PASS
                    detail = f"{outcome.result} as expected: {outcome.evidence.get('why', '')}"
                elif want is not None:
                    verdict = rig.Verdict.FAIL
                    detail = f"expected {want}, observed {detail}"
                elif outcome.result in (PREVENTED, ANOMALY):
                    verdict = rig.Verdict.PASS
                elif outcome.result == UNSUPPORTED:
                    verdict = rig.Verdict.SKIP
                else:
                    verdict = rig.Verdict.ERROR
                ctx.check(f"{level}/{test}", verdict, detail, duration_s=outcome.duration_s)
        save = ctx.config.getoption("isolation_save_profile")
        if save and ctx.connection_id == "c1":
            server = run.server
            about = {"produced_by": "rig --plugin isolation",
                     "server": f"{server['flavor']} {server['version']}",
                     "version_string": server["version_string"],
                     "settings": ", ".join(f"{k}={_text(server[k])}" for k in (
                         "innodb_snapshot_isolation", "snapshot_isolation_runs",
                         "tidb_txn_mode", "txn_mode") if k in server) or "server defaults",
                     "date": time.strftime("%Y-%m-%d", time.gmtime())}
            try:
                profile.save(save, run.results(), about)
            except OSError as exc:  # it was writable when the run began
                reason = (exc.strerror or str(exc)).lower()
                raise rig.ConfigError(f"cannot write --isolation-save-profile {save}: {reason}",
                                      hint="check the path") from None
            ctx.log.info("saved the observed matrix to {}", save)


class CleanUp:
    """Closes the run's sessions and kills those still on the server (a step blocked when
    Ctrl-C came would otherwise hold its locks until the server's lock wait timeout, and the
    drop of the database behind them); runs after a failure or Ctrl-C too. It drops nothing:
    rig drops the run's scratch data at the end (unless ``--keep-tables``)."""

    def execute(self, ctx: rig.Context) -> None:
        env = ctx.data.get(ENVIRONMENT)
        if env is None:
            return
        env.close()
        if not env.session_ids:
            return
        try:
            connection = self._connection(ctx)
        except rig.ConnectError as exc:
            ctx.log.warning("cannot look for sessions of the run left on the server: {}", exc)
            return
        for thread_id in sorted(self._still_there(connection, env.session_ids)):
            with contextlib.suppress(rig.DatabaseError):
                connection.execute(f"KILL {int(thread_id)}")
                ctx.log.debug("killed session {}, still on the server", thread_id)

    @staticmethod
    def _still_there(connection: rig.Connection, ids: set[int]) -> set[int]:
        """Which of ``ids`` the server still lists (all of them if it cannot say)."""
        marks = ", ".join(["%s"] * len(ids))
        try:
            rows = connection.query_rows(
                f"SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN ({marks})",
                sorted(ids))[1]
        except rig.DatabaseError:
            return set(ids)
        return {int(row[0]) for row in rows}

    @staticmethod
    def _connection(ctx: rig.Context) -> rig.Connection:
        """The run's connection if it still works (Ctrl-C shuts it down), else a new one
        (closed by rig when the connection's workflow ends)."""
        if ctx.connection is not None:
            with contextlib.suppress(Exception):
                ctx.connection.raw.ping(reconnect=False)
                return ctx.connection
        return ctx.open_connection()


def _open_session(ctx: rig.Context, database: str, name: str) -> rig.Connection:
    """One more session for the lockstep driver (``ctx.open_connection``: retry and circuit
    breaker; rig closes it at the end and shuts it down on Ctrl-C)."""
    connection = ctx.open_connection(database=database)
    ctx.log.debug("session {} is {} (server id {})", name, connection.id,
                  connection.server_thread_id)
    return connection
