"""Error classification, retry with backoff and jitter, and a circuit breaker per server.

Classification follows TiDB's guidance and MySQL's error codes (see ``docs/architecture.md``):
*transient* errors are retried after a backoff (the whole transaction re-runs), *needs-reconnect*
errors are retried on a fresh connection, *permanent* errors are not retried.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import tenacity

from rig.errors import ExitCode, RigError

T = TypeVar("T")

TRY_AGAIN_MARK = "[try again later]"
"""TiDB appends this to every error that is safe to retry (``TxnRetryableMark``)."""


class ErrorClass(StrEnum):
    """What to do about an error."""

    TRANSIENT = "transient"
    """Retry after a backoff, re-running the whole transaction."""
    RECONNECT = "needs-reconnect"
    """Retry on a new connection (the old one is gone or unusable)."""
    PERMANENT = "permanent"
    """Do not retry: the same request will fail the same way."""


TRANSIENT_CODES = frozenset({
    1040, 1205, 1213, 3572,                                   # MySQL/MariaDB: overload, locks
    8002, 8005, 8022, 8027, 8028, 8120, 8176, 8252,           # TiDB transaction/schema/PD
    9001, 9002, 9003, 9004, 9005, 9007, 9008, 9010, 9012, 9013,  # TiKV/PD/TiFlash
})
RECONNECT_CODES = frozenset({
    2002, 2003, 2006, 2013, 2055,   # client: cannot connect, gone away, lost
    1053, 1927, 4031,               # server shutdown, connection killed, idle disconnect
    8055, 8147, 8229,               # TiDB: new transaction needed
})
_UNKNOWN_HOST_MARKERS = ("Name or service not known", "nodename nor servname",
                         "Temporary failure in name resolution", "No address associated")


def error_code(exc: BaseException) -> int | None:
    """The MySQL error code of a driver exception (``exc.args[0]``), else ``None``."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if args and isinstance(args[0], int):
        return args[0]
    return None


def error_message(exc: BaseException) -> str:
    """The server's message of a driver exception, without the code."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return str(args[1])
    return str(exc)


def classify(exc: BaseException) -> ErrorClass:
    """Classify a PyMySQL (or socket) exception by its code and message, never by its class."""
    if isinstance(exc, DatabaseError):
        return exc.error_class
    code = error_code(exc)
    message = error_message(exc)
    if code == 2003 and any(marker in message for marker in _UNKNOWN_HOST_MARKERS):
        return ErrorClass.PERMANENT
    if code in TRANSIENT_CODES or TRY_AGAIN_MARK in message:
        return ErrorClass.TRANSIENT
    if code == 1105 and "Information schema is changed" in message:
        return ErrorClass.TRANSIENT
    if code in RECONNECT_CODES:
        return ErrorClass.RECONNECT
    if code is None and isinstance(exc, (ConnectionError, socket.timeout, BrokenPipeError)):
        return ErrorClass.RECONNECT
    if code == 0 and not message:  # PyMySQL's InterfaceError(0, ""): the session is closed
        return ErrorClass.RECONNECT
    return ErrorClass.PERMANENT


class DatabaseError(RigError):
    """A database operation failed; carries the code, the class and where it happened.

    ``cause`` is the driver's exception. Plugins test ``code`` (``1213`` deadlock, ``9007``
    write conflict…) rather than exception classes.
    """

    def __init__(
        self,
        cause: BaseException,
        *,
        operation: str,
        attempt: int = 1,
        connection_id: str | None = None,
        state: str | None = None,
        server: str | None = None,
    ) -> None:
        self.cause = cause
        self.server = server
        """The server's ``host:port``, where known."""
        self.code = error_code(cause)
        self.error_class = classify(cause)
        self.operation = operation
        self.attempt = attempt
        self.connection_id = connection_id
        self.state = state
        self.server_message = error_message(cause)
        super().__init__(self.server_message)

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"connection {self.connection_id}" if self.connection_id else "",
                f"state {self.state}" if self.state else "",
                f"attempt {self.attempt}" if self.attempt > 1 else "",
            )
            if part
        )
        code = f"({self.code}) " if self.code is not None else ""
        suffix = f" [{where}]" if where else ""
        return f"{self.operation} failed: {code}{self.server_message} ({self.error_class}){suffix}"

    @property
    def exit_code(self) -> ExitCode:  # type: ignore[override]
        """5 when the server was lost, else 3."""
        if self.error_class is ErrorClass.RECONNECT:
            return ExitCode.UNREACHABLE
        return ExitCode.INTERNAL


class CircuitOpenError(DatabaseError):
    """Raised instead of calling a server that keeps failing (its circuit breaker is open).
    Its class is that of the last failure (``last_error``, the driver's error): a server
    that stopped answering is *needs-reconnect* (exit 5)."""

    def __init__(self, server: str, failures: int, retry_in: float,
                 last_error: BaseException | None = None, **context: Any) -> None:
        self.failures = failures
        self.retry_in = retry_in
        self.last_error = last_error
        last = f"; last: {_failure_text(last_error)}" if last_error is not None else ""
        super().__init__(
            ConnectionError(f"{server} failed {failures} time(s) in a row{last}"),
            server=server, **context,
        )
        self.error_class = ErrorClass.RECONNECT if last_error is None else classify(last_error)


@dataclass
class CircuitBreaker:
    """Stops calling a server after ``threshold`` consecutive failures (open). While open it
    lets one trial call through at a time, at most every ``cooldown`` seconds (half-open): the
    callers' own retries pace the trials, so a server that comes back is used again within
    about ``cooldown`` seconds, while a dead one sees one attempt at a time, not one per
    connection. A successful call closes it; a failed trial opens it again."""

    server: str
    threshold: int = 5
    cooldown: float = 1.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    last_error: BaseException | None = None
    """The driver's error of the last failure."""
    _probe: int | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cooldown:
            return "half-open"
        return "open"

    def before_call(self, **context: Any) -> None:
        """Raise :class:`CircuitOpenError` when open, or half-open with a trial call of another
        thread in flight; otherwise let the call through (as the trial when half-open)."""
        me = threading.get_ident()
        with self._lock:
            state = self.state
            if state == "closed" or self._probe == me:
                return
            if state == "half-open" and self._probe is None:
                self._probe = me
                return
            assert self.opened_at is not None
            retry_in = max(self.cooldown - (self.clock() - self.opened_at), 0.0)
            raise CircuitOpenError(self.server, self.failures, retry_in, self.last_error,
                                   **context)

    def record_success(self) -> None:
        """Close the circuit."""
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._probe = None

    def record_failure(self, error: BaseException | None = None) -> None:
        """Count a failure; open at the threshold, or again after a failed trial."""
        with self._lock:
            self.failures += 1
            if error is not None:
                self.last_error = error.cause if isinstance(error, DatabaseError) else error
            if self.opened_at is None:
                if self.failures >= self.threshold:
                    self.opened_at = self.clock()
            elif self._probe == threading.get_ident():
                self.opened_at = self.clock()
                self._probe = None

    def release(self) -> None:
        """End this thread's trial call without a verdict (it failed for another reason: the
        server answered with a permanent error)."""
        with self._lock:
            if self._probe == threading.get_ident():
                self._probe = None


class BreakerBoard:
    """One :class:`CircuitBreaker` per server address, shared by every connection of a run."""

    def __init__(self, threshold: int = 5, cooldown: float = 1.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_server(self, server: str) -> CircuitBreaker:
        """The breaker of ``server`` (``host:port``)."""
        with self._lock:
            if server not in self._breakers:
                self._breakers[server] = CircuitBreaker(server, self.threshold, self.cooldown)
            return self._breakers[server]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: ``attempts`` in all (1 = no retry), within
    ``max_time`` seconds, waiting ``base_delay * 2**n`` (capped at ``max_delay``) plus jitter."""

    attempts: int = 3
    max_time: float = 30.0
    base_delay: float = 0.1
    max_delay: float = 2.0

    def wait_strategy(self) -> Any:
        """The tenacity wait: exponential backoff with up to ``base_delay`` of random jitter."""
        return tenacity.wait_exponential(multiplier=self.base_delay, max=self.max_delay) + \
            tenacity.wait_random(0, self.base_delay)


def call_with_retry(
    fn: Callable[[int], T],
    *,
    operation: str,
    policy: RetryPolicy,
    breaker: CircuitBreaker | None = None,
    on_retry: Callable[[BaseException, int], None] | None = None,
    connection_id: str | None = None,
    state: str | None = None,
    cancelled: threading.Event | None = None,
) -> T:
    """Call ``fn(attempt)`` until it succeeds, retrying transient and needs-reconnect errors.

    ``on_retry(error, attempt)`` runs before each new attempt (to log, or to reconnect on a
    needs-reconnect error). The final failure is raised as a :class:`DatabaseError` carrying
    the operation, the attempt, the connection and the state; a permanent error is raised at
    once. Failures that are not permanent count against ``breaker``. Once ``cancelled`` is set
    (Ctrl-C), no new attempt starts and the backoff wait ends at once.
    """
    context: dict[str, Any] = {"operation": operation, "connection_id": connection_id,
                               "state": state}

    def retryable(exc: BaseException) -> bool:
        return not isinstance(exc, CircuitOpenError) and classify(exc) is not ErrorClass.PERMANENT

    def before_sleep(retry_state: tenacity.RetryCallState) -> None:
        if on_retry is not None and retry_state.outcome is not None:
            error = retry_state.outcome.exception()
            if error is not None:
                on_retry(error, retry_state.attempt_number)

    stop = tenacity.stop_after_attempt(policy.attempts) | \
        tenacity.stop_after_delay(policy.max_time)
    if cancelled is not None:
        stop = stop | tenacity.stop_when_event_set(cancelled)

    def sleep(seconds: float) -> None:
        if cancelled is None:
            time.sleep(seconds)
        else:
            cancelled.wait(seconds)

    retrying = tenacity.Retrying(
        stop=stop,
        sleep=sleep,
        wait=policy.wait_strategy(),
        retry=tenacity.retry_if_exception(retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    attempt_number = 0
    try:
        for attempt in retrying:
            with attempt:
                attempt_number = attempt.retry_state.attempt_number
                if breaker is not None:
                    breaker.before_call(attempt=attempt_number, **context)
                try:
                    result = fn(attempt_number)
                except CircuitOpenError:
                    raise  # a nested call found the breaker open: not a new failure
                except Exception as exc:
                    if breaker is not None:
                        if classify(exc) is ErrorClass.PERMANENT:
                            breaker.release()
                        else:
                            breaker.record_failure(exc)
                    raise
                if breaker is not None:
                    breaker.record_success()
                return result
    except DatabaseError as exc:
        exc.attempt = max(exc.attempt, attempt_number)
        exc.operation = exc.operation or operation
        raise
    except RigError:  # already one line with its exit code (a reconnect that failed: exit 5)
        raise
    except Exception as exc:
        raise DatabaseError(exc, attempt=attempt_number, **context) from exc
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def _failure_text(exc: BaseException) -> str:
    """A driver error as ``(code) message``."""
    code = error_code(exc)
    return f"({code}) {error_message(exc)}" if code else error_message(exc)
