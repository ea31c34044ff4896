"""One client of the workload: a session that runs the generator's transactions one after
another and records each one's invocation and outcome.

What an outcome means, as Jepsen defines it:
- ``ok``: ``COMMIT`` answered OK;
- ``fail``: the transaction certainly did not commit — an error before ``COMMIT`` (rig then
  rolls back; a session lost before ``COMMIT`` was sent is rolled back by the server), or an
  error at ``COMMIT`` that says the transaction was rolled back (deadlock, write conflict,
  lock-wait timeout, …);
- ``info``: ``COMMIT`` was sent and no such answer came (the session died, or another
  error): it may or may not have committed. The client then continues as a new process on a
  new session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import rig
from rig_consistency.encoding import run_mop
from rig_consistency.generator import Generator
from rig_consistency.history import Mop, TxnOutcome
from rig_consistency.recorder import Recorder

ABORT_CODES = frozenset({
    1020,   # MariaDB: record changed since the read view (innodb_snapshot_isolation)
    1205,   # lock-wait timeout
    1213,   # deadlock
    3572,   # NOWAIT lock not granted
    8002,   # TiDB: SELECT FOR UPDATE hit a write conflict, rolled back
    8005,   # TiDB: transaction retry failed
    8022,   # TiDB: commit failed, rolled back, safe to retry
    8028,   # TiDB: schema changed during the transaction
    9007,   # TiDB: write conflict
})
"""Errors that say the transaction was rolled back, when ``COMMIT`` returns them."""


@dataclass(frozen=True)
class Transactions:
    """How a client runs a transaction."""

    workload: str
    tables: int
    begin: str
    """``START TRANSACTION``, or ``BEGIN PESSIMISTIC`` / ``BEGIN OPTIMISTIC`` on TiDB."""


@dataclass
class Outcome:
    """How one transaction ended."""

    kind: TxnOutcome
    mops: tuple[Mop, ...]
    error: rig.DatabaseError | None = None

    @property
    def error_text(self) -> str | None:
        """``1213 Deadlock found …`` for the history, or ``None``."""
        if self.error is None:
            return None
        code = f"{self.error.code} " if self.error.code is not None else ""
        return f"{code}{self.error.server_message}"


class Client:
    """Runs transactions until ``stop()`` says so or the recorder's limit is reached.

    ``open_session`` opens a session ready for the workload (its database, its isolation
    level), through the run's retry policy and circuit breaker; it raises
    :class:`rig.ConnectError` when the server cannot be reached, which ends the client.
    A permanent error that is no abort (a missing table, a refused statement) ends it too,
    after recording the transaction as ``fail``.
    """

    def __init__(self, *, open_session: Callable[[], rig.Connection], recorder: Recorder,
                 generator: Generator, transactions: Transactions,
                 stop: Callable[[], bool]) -> None:
        self.open_session = open_session
        self.recorder = recorder
        self.generator = generator
        self.transactions = transactions
        self.stop = stop

    def run(self) -> None:
        """The client's loop."""
        process = self.recorder.new_process()
        session: rig.Connection | None = None
        try:
            while not self.stop():
                if session is None:
                    session = self.open_session()
                mops = self.generator.next()
                if self.recorder.invoke(process, mops) is None:
                    return
                outcome = self.transaction(session, mops)
                self.recorder.complete(process, outcome.kind, outcome.mops, outcome.error_text)
                error = outcome.error
                if outcome.kind == "info":
                    process = self.recorder.new_process()
                if outcome.kind == "info" or (
                        error is not None and error.error_class is rig.ErrorClass.RECONNECT):
                    session.close()
                    session = None
                elif error is not None and error.error_class is rig.ErrorClass.PERMANENT \
                        and error.code not in ABORT_CODES:
                    raise error
        finally:
            if session is not None:
                session.close()

    def transaction(self, session: rig.Connection, mops: tuple[Mop, ...]) -> Outcome:
        """Run one transaction on ``session``."""
        settings = self.transactions
        try:
            session.execute(settings.begin)
            done = tuple(run_mop(session, settings.workload, mop, settings.tables)
                         for mop in mops)
        except rig.DatabaseError as exc:
            if exc.error_class is not rig.ErrorClass.RECONNECT:
                with contextlib.suppress(rig.DatabaseError):
                    session.execute("ROLLBACK")
            return Outcome("fail", mops, exc)
        try:
            session.execute("COMMIT")
        except rig.DatabaseError as exc:
            return Outcome("fail" if exc.code in ABORT_CODES else "info", mops, exc)
        return Outcome("ok", done)
