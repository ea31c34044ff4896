"""The TiDB lane, errors: write conflict (optimistic), schema changed, deadlock and lock-wait
timeout (pessimistic) raised by a real tidb-server, classified, retried and counted by the
circuit breaker as rig does it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest

from rig.db.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    DatabaseError,
    ErrorClass,
    RetryPolicy,
    call_with_retry,
    classify,
)
from rig.testing import ServerDSN

pytestmark = pytest.mark.tidb

FAST = RetryPolicy(attempts=3, max_time=30, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def table(tidb_server: ServerDSN, tidb_database: str) -> Iterator[Callable[[], Any]]:
    """``t(id, v)`` holding (1, 10) and (2, 20); yields a function opening a session in its
    database (closed afterwards)."""
    opened: list[Any] = []

    def session() -> Any:
        connection = tidb_server.connect(database=tidb_database)
        opened.append(connection)
        return connection

    with session().cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        cursor.execute("INSERT INTO t VALUES (1, 10), (2, 20)")
    yield session
    for connection in opened:
        connection.close()


def _run(connection: Any, *statements: str) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _wait_until_lock_waiting(watcher: Any, session: Any) -> None:
    """Until TiDB lists ``session``'s transaction as waiting on a lock (TIDB_TRX)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with watcher.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM information_schema.TIDB_TRX "
                           "WHERE SESSION_ID = %s AND STATE = 'LockWaiting'",
                           (session.thread_id(),))
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the session never waited on a lock")


class Background:
    """One statement on its own session, in a thread; its error is kept."""

    def __init__(self, connection: Any, sql: str) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(connection, sql), daemon=True)
        self.thread.start()

    def _run(self, connection: Any, sql: str) -> None:
        try:
            _run(connection, sql)
        except BaseException as exc:  # looked at by the test
            self.error = exc

    def join(self) -> BaseException | None:
        self.thread.join(60)
        assert not self.thread.is_alive()
        return self.error


def write_conflict(session: Callable[[], Any]) -> BaseException:
    """Two optimistic transactions update one row; the second COMMIT fails (9007)."""
    first, second = session(), session()
    _run(first, "BEGIN OPTIMISTIC", "UPDATE t SET v = v + 1 WHERE id = 1")
    _run(second, "BEGIN OPTIMISTIC", "UPDATE t SET v = v + 2 WHERE id = 1")
    _run(first, "COMMIT")
    with pytest.raises(pymysql.err.MySQLError) as raised:
        _run(second, "COMMIT")
    return raised.value


def deadlock(session: Callable[[], Any]) -> BaseException:
    """Two pessimistic transactions lock rows 1 and 2 in opposite orders (1213)."""
    first, second, watcher = session(), session(), session()
    _run(first, "BEGIN PESSIMISTIC", "UPDATE t SET v = 11 WHERE id = 1")
    _run(second, "BEGIN PESSIMISTIC", "UPDATE t SET v = 22 WHERE id = 2")
    waiting = Background(first, "UPDATE t SET v = 12 WHERE id = 2")
    _wait_until_lock_waiting(watcher, first)
    try:
        _run(second, "UPDATE t SET v = 21 WHERE id = 1")
    except pymysql.err.MySQLError as exc:
        waiting.join()
        return exc
    error = waiting.join()
    assert error is not None, "no deadlock was reported"
    return error


def lock_wait_timeout(session: Callable[[], Any]) -> BaseException:
    """A pessimistic update waits for a row another transaction holds, for longer than
    ``innodb_lock_wait_timeout`` (1205)."""
    holder, waiter = session(), session()
    _run(holder, "BEGIN PESSIMISTIC", "UPDATE t SET v = 11 WHERE id = 1")
    _run(waiter, "SET SESSION innodb_lock_wait_timeout = 1", "BEGIN PESSIMISTIC")
    with pytest.raises(pymysql.err.MySQLError) as raised:
        _run(waiter, "UPDATE t SET v = 12 WHERE id = 1")
    return raised.value


def schema_changed(session: Callable[[], Any]) -> BaseException:
    """An optimistic transaction writes a table whose definition another session changed
    before its COMMIT; with metadata locks off (TiDB's default is on, which makes the DDL
    wait instead) the COMMIT fails (8028)."""
    writer, ddl = session(), session()
    _run(ddl, "SET GLOBAL tidb_enable_metadata_lock = OFF")
    try:
        _run(writer, "BEGIN OPTIMISTIC", "UPDATE t SET v = 11 WHERE id = 1")
        _run(ddl, "ALTER TABLE t ADD COLUMN w INT")
        with pytest.raises(pymysql.err.MySQLError) as raised:
            _run(writer, "COMMIT")
    finally:
        _run(ddl, "SET GLOBAL tidb_enable_metadata_lock = ON")
    return raised.value


SCENARIOS = {9007: write_conflict, 1213: deadlock, 1205: lock_wait_timeout,
             8028: schema_changed}


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_real_tidb_errors_are_transient_and_retried(code: int,
                                                    table: Callable[[], Any]) -> None:
    """The server's error (code and text as TiDB sends them) is transient; a transaction that
    meets it once is re-run by ``call_with_retry`` and succeeds."""
    error = SCENARIOS[code](table)
    assert error.args[0] == code, error
    assert classify(error) is ErrorClass.TRANSIENT
    attempts: list[int] = []

    def transaction(attempt: int) -> str:
        attempts.append(attempt)
        if attempt == 1:
            raise error  # what the server just said
        with table().cursor() as cursor:
            cursor.execute("SELECT v FROM t WHERE id = 2")
            return str(cursor.fetchone()[0])

    assert call_with_retry(transaction, operation="transaction", policy=FAST) is not None
    assert attempts == [1, 2]


def test_repeated_write_conflicts_open_the_breaker_as_transient(
        table: Callable[[], Any]) -> None:
    """Write conflicts count as failures of the server: after the threshold the breaker opens,
    and the error it raises is transient (exit 3), not 'server unreachable' (exit 5)."""
    breaker = CircuitBreaker("tidb", threshold=2, cooldown=3600)
    for _ in range(2):
        error = write_conflict(table)

        def commit(attempt: int, error: BaseException = error) -> None:
            raise error  # what the server just said

        with pytest.raises(DatabaseError) as raised:
            call_with_retry(commit, operation="commit", policy=RetryPolicy(attempts=1),
                            breaker=breaker)
        assert raised.value.code == 9007
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError) as raised:
        breaker.before_call(operation="commit")
    assert raised.value.error_class is ErrorClass.TRANSIENT
    assert "(9007)" in str(raised.value)
