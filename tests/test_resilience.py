"""Error classification, retry and the circuit breaker, against real servers and real errors."""

from __future__ import annotations

import pymysql
import pytest

from rig.db.connection import Connector
from rig.db.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    DatabaseError,
    ErrorClass,
    RetryPolicy,
    call_with_retry,
    classify,
)
from rig.db.sandbox import free_port
from rig.db.settings import ConnectionSettings
from rig.testing import ServerDSN

FAST = RetryPolicy(attempts=3, max_time=10, base_delay=0.01, max_delay=0.02)


@pytest.mark.parametrize(("code", "message", "expected"), [
    (1213, "Deadlock found when trying to get lock", ErrorClass.TRANSIENT),
    (1205, "Lock wait timeout exceeded", ErrorClass.TRANSIENT),
    (9007, "Write conflict, txnStartTS=1 [try again later]", ErrorClass.TRANSIENT),
    (8022, "Error: KV error safe to retry", ErrorClass.TRANSIENT),
    (1105, "some TiDB failure [try again later]", ErrorClass.TRANSIENT),
    (1105, "Information schema is changed during the execution", ErrorClass.TRANSIENT),
    (1105, "Connections using insecure transport are prohibited", ErrorClass.PERMANENT),
    (2013, "Lost connection to MySQL server during query", ErrorClass.RECONNECT),
    (2006, "MySQL server has gone away", ErrorClass.RECONNECT),
    (1927, "Connection was killed", ErrorClass.RECONNECT),
    (8229, "transaction exceeds the survival time", ErrorClass.RECONNECT),
    (2003, "Can't connect to MySQL server on 'x' ([Errno -2] Name or service not known)",
     ErrorClass.PERMANENT),
    (1064, "You have an error in your SQL syntax", ErrorClass.PERMANENT),
    (1062, "Duplicate entry '1' for key 'PRIMARY'", ErrorClass.PERMANENT),
    (8004, "Transaction is too large", ErrorClass.PERMANENT),
])
def test_classification_by_code_and_message(code: int, message: str,
                                            expected: ErrorClass) -> None:
    assert classify(pymysql.err.OperationalError(code, message)) is expected


def test_real_server_errors_are_classified(rig_server: ServerDSN) -> None:
    with rig_server.connect() as conn, conn.cursor() as cursor:
        with pytest.raises(pymysql.err.Error) as syntax:
            cursor.execute("SELEC 1")
        with pytest.raises(pymysql.err.Error) as unknown_table:
            cursor.execute("SELECT * FROM mysql.no_such_table_here")
    assert classify(syntax.value) is ErrorClass.PERMANENT
    assert classify(unknown_table.value) is ErrorClass.PERMANENT


def test_refused_port_is_retried_up_to_the_attempts_then_raised_with_context() -> None:
    settings = ConnectionSettings("127.0.0.1", free_port(), "root", connect_timeout=2)
    retried: list[int] = []
    with pytest.raises(DatabaseError) as raised:
        call_with_retry(lambda attempt: Connector().open_raw(settings), operation="connect",
                        policy=FAST, on_retry=lambda exc, n: retried.append(n),
                        connection_id="c7", state="connecting")
    error = raised.value
    assert retried == [1, 2]
    assert error.attempt == 3
    assert error.code == 2003
    assert error.error_class is ErrorClass.RECONNECT
    assert (error.operation, error.connection_id, error.state) == ("connect", "c7", "connecting")
    assert "[connection c7, state connecting, attempt 3]" in str(error)


def test_permanent_errors_are_not_retried(rig_server: ServerDSN) -> None:
    settings = ConnectionSettings(rig_server.host, rig_server.port, "no_such_user_xyz")
    attempts: list[int] = []

    def connect(attempt: int) -> object:
        attempts.append(attempt)
        return Connector().open_raw(settings)

    with pytest.raises(DatabaseError) as raised:
        call_with_retry(connect, operation="connect", policy=FAST)
    assert attempts == [1]
    assert raised.value.code == 1045


def test_transient_failure_then_success_returns_the_result(rig_server: ServerDSN) -> None:
    settings = ConnectionSettings(rig_server.host, rig_server.port, rig_server.user)
    refused = ConnectionSettings("127.0.0.1", free_port(), "root")

    def connect(attempt: int) -> object:  # the server "comes up" on the second attempt
        return Connector().open_raw(refused if attempt == 1 else settings)

    conn = call_with_retry(connect, operation="connect", policy=FAST)
    conn.close()  # type: ignore[attr-defined]


class Clock:
    """A clock the test moves by hand: the breaker's cool-down without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_fails_fast_and_half_opens_after_cooldown(
        rig_server: ServerDSN) -> None:
    clock = Clock()
    breaker = CircuitBreaker("127.0.0.1:x", threshold=2, cooldown=5.0, clock=clock)
    dead = ConnectionSettings("127.0.0.1", free_port(), "root")
    one_try = RetryPolicy(attempts=1)
    calls: list[int] = []

    def connect_dead(attempt: int) -> object:
        calls.append(attempt)
        return Connector().open_raw(dead)

    for _ in range(2):
        with pytest.raises(DatabaseError):
            call_with_retry(connect_dead, operation="connect", policy=one_try, breaker=breaker)
    assert breaker.state == "open"
    assert len(calls) == 2

    with pytest.raises(CircuitOpenError) as fast:
        call_with_retry(connect_dead, operation="connect", policy=FAST, breaker=breaker)
    assert len(calls) == 2  # the dead server was not called again
    assert "127.0.0.1:x failed 2 time(s) in a row; last: (2003)" in str(fast.value)
    assert fast.value.error_class is ErrorClass.RECONNECT  # a server not answering: exit 5
    assert fast.value.exit_code == 5

    clock.now += 5.0
    assert breaker.state == "half-open"
    alive = ConnectionSettings(rig_server.host, rig_server.port, rig_server.user)
    conn = call_with_retry(lambda attempt: Connector().open_raw(alive), operation="connect",
                           policy=one_try, breaker=breaker)
    conn.close()
    assert breaker.state == "closed"
    assert breaker.failures == 0


def test_half_open_failure_reopens_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", threshold=1, cooldown=1.0, clock=clock)
    dead = ConnectionSettings("127.0.0.1", free_port(), "root")
    with pytest.raises(DatabaseError):
        call_with_retry(lambda a: Connector().open_raw(dead), operation="c", policy=RetryPolicy(1),
                        breaker=breaker)
    clock.now += 1.0
    with pytest.raises(DatabaseError) as trial:
        call_with_retry(lambda a: Connector().open_raw(dead), operation="c", policy=RetryPolicy(1),
                        breaker=breaker)
    assert not isinstance(trial.value, CircuitOpenError)  # the trial call went through
    assert breaker.state == "open"


def test_cli_breaker_stops_hammering_a_dead_server(rig_runner) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    run = rig_runner.run("--host", f"127.0.0.1:{port}", "--connections", "3",
                         "--retry-attempts", "2", "--breaker-threshold", "2")
    assert run.exit_code == 5
    [line] = [line for line in run.stderr.splitlines() if line.startswith("rig: error:")]
    assert f"connection refused by 127.0.0.1:{port}" in line  # what the server did
    assert "circuit breaker" not in run.stderr and "permanent" not in run.stderr
    assert run.report is not None
    assert len(run.report["connections"]) == 3
    assert all(c["error"]["state"] == "connecting" for c in run.report["connections"])


def test_an_open_breaker_lets_one_trial_through_at_a_time_at_the_callers_pace() -> None:
    import threading

    clock = Clock()
    breaker = CircuitBreaker("s", threshold=1, cooldown=0.5, clock=clock)
    breaker.record_failure(OSError("refused"))
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.before_call(operation="c")
    clock.now += 0.5  # a caller retrying at its own pace finds the breaker half-open
    breaker.before_call(operation="c")  # this thread is the trial
    breaker.before_call(operation="c")  # and may call again (a reconnect inside a retry)
    refused: list[BaseException] = []

    def other_caller() -> None:
        try:
            breaker.before_call(operation="c")
        except CircuitOpenError as exc:
            refused.append(exc)

    thread = threading.Thread(target=other_caller)
    thread.start()
    thread.join()
    assert len(refused) == 1  # one trial at a time, not one per connection
    breaker.record_success()  # the server is back: everyone may call
    assert breaker.state == "closed"
    thread = threading.Thread(target=other_caller)
    thread.start()
    thread.join()
    assert len(refused) == 1


def test_a_permanent_error_ends_the_trial_without_a_verdict(rig_server: ServerDSN) -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", threshold=1, cooldown=0.5, clock=clock)
    breaker.record_failure(OSError("refused"))
    clock.now += 0.5
    wrong = ConnectionSettings(rig_server.host, rig_server.port, "no_such_user_x")
    with pytest.raises(DatabaseError) as denied:
        call_with_retry(lambda a: Connector().open_raw(wrong), operation="c",
                        policy=RetryPolicy(1), breaker=breaker)
    assert denied.value.code == 1045
    assert breaker.state == "half-open"  # not re-opened, and the trial slot is free again:
    breaker.before_call(operation="c")
