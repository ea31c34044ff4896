"""Running one test at one level: a fresh table, two or three sessions, the lockstep driver, and
an outcome with its evidence."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import rig
from rig_isolation.catalog import (
    ERROR,
    UNSUPPORTED,
    AnomalyTest,
    Observation,
    Rows,
)
from rig_isolation.lockstep import Lockstep, LockstepResult, Step, StepResult, StepStatus

TABLE = "test"


@dataclass(frozen=True)
class Variant:
    """How the sessions of a matrix row are set up, beyond the isolation level."""

    key_suffix: str = ""
    """Appended to the level in the matrix (``+snapshot-isolation``)."""
    snapshot_isolation: str | None = None
    """``ON``/``OFF`` for MariaDB's ``innodb_snapshot_isolation``; ``None`` leaves it."""
    begin: str = "begin"
    """``begin``, or TiDB's ``begin optimistic`` / ``begin pessimistic``."""


@dataclass
class Outcome:
    """The result of one (level, test) and the evidence for it."""

    result: str
    evidence: dict[str, Any]
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """``{"result": ..., "evidence": ...}`` for the JSON report."""
        return {"result": self.result, "evidence": self.evidence,
                "duration_s": round(self.duration_s, 4)}


@dataclass
class Environment:
    """What every test of a run shares: the monitor connection, where the table lives, how
    sessions are opened, and how blocked steps are detected."""

    monitor: rig.Connection
    scratch: rig.Scratch
    database: str
    flavor: rig.Flavor
    block_timeout: float
    server_detection: bool
    cancelled: Callable[[], bool]
    open_session: Callable[[str], rig.Connection]
    """Opens one more session to the server, in ``database`` (``ctx.open_connection``)."""
    session_ids: set[int] = field(default_factory=set)
    """Server ids of every session the run opened (the clean-up kills those still there)."""
    pool: dict[str, rig.Connection] = field(default_factory=dict)
    table_created: bool = False

    @property
    def table(self) -> str:
        """The quoted, database-qualified test table."""
        return f"{rig.quote_identifier(self.database)}.{rig.quote_identifier(TABLE)}"

    def fresh_table(self) -> None:
        """The test table holding just (1,10),(2,20), as if new: created (as the run's scratch
        data) before the first test, emptied with ``TRUNCATE`` (a new table underneath, no
        leftover row versions) before the others."""
        if self.table_created:
            self.monitor.execute(f"TRUNCATE TABLE {self.table}")
        else:
            engine = "" if self.flavor is rig.Flavor.TIDB else " ENGINE=InnoDB"
            self.scratch.create_table(self.monitor, self.database, TABLE,
                                      f"(id INT PRIMARY KEY, value INT){engine}")
            self.table_created = True
        self.monitor.execute(f"INSERT INTO {self.table} VALUES (1, 10), (2, 20)")

    def final_rows(self) -> Rows | None:
        """The table's rows now, ordered by id."""
        try:
            rows = self.monitor.query_rows(f"SELECT id, value FROM {self.table} ORDER BY id")[1]
        except rig.DatabaseError:
            return None
        return [(int(i), int(v)) for i, v in rows]

    def _open(self, name: str) -> rig.Connection:
        connection = self.open_session(name)
        self.session_ids.add(connection.server_thread_id)
        return connection

    def _alive(self, connection: rig.Connection) -> bool:
        try:
            connection.raw.ping(reconnect=False)
        except Exception:
            return False
        return True

    @contextlib.contextmanager
    def sessions(self, names: tuple[str, ...]) -> Iterator[dict[str, rig.Connection]]:
        """One connection per session name, in the test database. Connections are reused
        from test to test (a TLS handshake costs more than a test); one that was killed or
        broke is replaced."""
        try:
            for name in names:
                if name not in self.pool:
                    self.pool[name] = self._open(name)
            yield {name: self.pool[name] for name in names}
        finally:
            for name in names:
                connection = self.pool.get(name)
                if connection is not None and not self._alive(connection):
                    self.pool.pop(name).close()

    def close(self) -> None:
        """Close every pooled session."""
        for name in list(self.pool):
            self.pool.pop(name).close()


def _level_sql(level: str) -> str:
    return level.replace("-", " ").upper()


def setup_steps(test: AnomalyTest, level: str, variant: Variant) -> list[Step]:
    """Each session, in order: its settings, the isolation level, ``begin``."""
    steps = []
    for session in test.sessions:
        if variant.snapshot_isolation is not None:
            steps.append(Step(session, "set session innodb_snapshot_isolation = "
                              f"{variant.snapshot_isolation}"))
        steps.append(Step(session,
                          f"set session transaction isolation level {_level_sql(level)}"))
        steps.append(Step(session, variant.begin))
    return steps


def body_steps(test: AnomalyTest) -> list[Step]:
    """The test's steps with the table name filled in."""
    table = rig.quote_identifier(TABLE)
    return [Step(s.session, s.sql.format(t=table), s.label) for s in test.steps]


def evidence(steps: list[StepResult], detection: str) -> dict[str, Any]:
    """The reads, blocks, errors and hangs of a run, for the report."""
    return {
        "reads": [{"step": s.index, "session": s.session, "sql": s.sql,
                   "rows": [list(row) for row in s.rows]}
                  for s in steps if s.ok and s.columns],
        "blocked": [{"step": s.index, "session": s.session, "sql": s.sql,
                     "seconds": round(s.blocked_s or 0.0, 4), "detected_by": s.blocked_by,
                     "released_after_step": s.released_after}
                    for s in steps if s.blocked],
        "errors": [{"step": s.index, "session": s.session, "sql": s.sql,
                    "code": s.error_code, "message": s.error_message,
                    "aborted_transaction": s.aborted}
                   for s in steps if s.status is StepStatus.ERROR],
        "skipped": [{"step": s.index, "session": s.session, "sql": s.sql,
                     "reason": s.skipped_reason}
                    for s in steps if s.status is StepStatus.SKIPPED],
        "hangs": [{"step": s.index, "session": s.session, "sql": s.sql,
                   "seconds": round(s.blocked_s or 0.0, 4)}
                  for s in steps if s.status is StepStatus.HANG],
        "detection": detection,
    }


def run_test(env: Environment, test: AnomalyTest, level: str, variant: Variant) -> Outcome:
    """Run ``test`` at ``level`` from a fresh table and decide from what was observed."""
    start = time.perf_counter()
    env.fresh_table()
    with env.sessions(test.sessions) as connections, Lockstep(
        connections, monitor=env.monitor, block_timeout=env.block_timeout,
        server_detection=env.server_detection, cancelled=env.cancelled, keep_sessions=True,
    ) as lockstep:
        setup = lockstep.run(setup_steps(test, level, variant))
        body = None if setup.errors or setup.cancelled else lockstep.run(body_steps(test))
    steps = setup.steps + (body.steps if body else [])
    final = env.final_rows() if body is not None else None
    result, why = _judge(test, setup, body, final)
    found = {"why": why, **evidence(steps, setup.detection)}
    if final is not None:
        found["final"] = [list(row) for row in final]
    return Outcome(result, found, time.perf_counter() - start)


def _judge(test: AnomalyTest, setup: LockstepResult, body: LockstepResult | None,
           final: Rows | None) -> tuple[str, str]:
    refused = [s for s in setup.errors if s.unsupported]
    if refused:
        return UNSUPPORTED, f"the server refused {refused[0].sql!r}: " \
            f"({refused[0].error_code}) {refused[0].error_message}"
    if setup.errors:
        first = setup.errors[0]
        return ERROR, f"set-up step {first.sql!r} failed: ({first.error_code}) " \
            f"{first.error_message}"
    if body is None or setup.cancelled or body.cancelled:
        return ERROR, "interrupted"
    if body.hangs:
        hang = body.hangs[0]
        return ERROR, (f"step {hang.index} ({hang.session} {hang.sql}) was still blocked when "
                       "the script ended; its session was killed")
    unexpected = [s for s in body.errors if not s.aborted]
    if unexpected:
        first = unexpected[0]
        return ERROR, (f"step {first.index} ({first.session} {first.sql}) failed: "
                       f"({first.error_code}) {first.error_message}")
    return test.decide(Observation(body, final))
