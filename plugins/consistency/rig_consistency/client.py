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
import time
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
RECONNECT_PAUSE_S = (0.05, 0.5)
"""The pause between two failed attempts to open a session: from the first to the longest."""


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
    :class:`rig.ConnectError` when the server cannot be reached. The client then keeps trying
    (a server killed and restarted, a partition healed: the history goes on) until it has
    failed for ``give_up_after_s`` in a row (``--retry-max-time``): that ConnectError ends
    it (exit 5). A permanent error that is no abort (a missing table, a refused statement)
    ends it too, after recording the transaction as ``fail``.
    """

    def __init__(self, *, open_session: Callable[[], rig.Connection], recorder: Recorder,
                 generator: Generator, transactions: Transactions,
                 stop: Callable[[], bool], give_up_after_s: float = 0.0,
                 wait: Callable[[float], object] = time.sleep) -> None:
        self.open_session = open_session
        self.recorder = recorder
        self.generator = generator
        self.transactions = transactions
        self.stop = stop
        self.give_up_after_s = give_up_after_s
        self.wait = wait

    def run(self) -> None:
        """The client's loop."""
        process = self.recorder.new_process()
        session: rig.Connection | None = None
        try:
            while not self.stop():
                if session is None:
                    session = self.reconnect()
                    if session is None:
                        return
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

    def reconnect(self) -> rig.Connection | None:
        """A new session, trying again while the server is away (``None``: told to stop)."""
        failing_since = time.monotonic()
        pause = RECONNECT_PAUSE_S[0]
        while True:
            try:
                return self.open_session()
            except (rig.ConnectError, rig.DatabaseError) as exc:
                away = isinstance(exc, rig.ConnectError) or \
                    exc.error_class is rig.ErrorClass.RECONNECT  # lost while setting up
                if not away or time.monotonic() - failing_since >= self.give_up_after_s:
                    raise
            if self.stop():
                return None
            self.wait(pause)
            pause = min(pause * 2, RECONNECT_PAUSE_S[1])

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
