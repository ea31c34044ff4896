"""The context a handler works in: config, connection, logger, data, metrics, checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from loguru import logger

from rig.connection import (
    Connection,
    ConnectionSettings,
    explain,
    open_raw,
    quote_identifier,
)
from rig.resilience import (
    BreakerBoard,
    DatabaseError,
    ErrorClass,
    RetryPolicy,
    call_with_retry,
    classify,
)
from rig.results import Check, ConnectionResult, Verdict

if TYPE_CHECKING:
    from loguru import Logger

    from rig.config import Config
    from rig.coordinator import Shared
    from rig.flavor import ServerInfo

T = TypeVar("T")
_MISSING: Any = object()


class Key(Generic[T]):
    """A typed key of :class:`DataStore`: ``PINGS = rig.Key[list[float]]("basic.pings")``.

    Name keys after your plugin (``"plugin.thing"``) so plugins never overwrite each other.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


class DataStore:
    """Data shared between the handlers of one connection, under typed :class:`Key` s."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def __setitem__(self, key: Key[T], value: T) -> None:
        self._values[key.name] = value

    def __getitem__(self, key: Key[T]) -> T:
        try:
            return cast(T, self._values[key.name])
        except KeyError:
            raise KeyError(f"no data stored under {key.name!r}") from None

    def __contains__(self, key: Key[Any]) -> bool:
        return key.name in self._values

    @overload
    def get(self, key: Key[T]) -> T | None: ...
    @overload
    def get(self, key: Key[T], default: T) -> T: ...
    def get(self, key: Key[T], default: Any = None) -> Any:
        """The value under ``key``, else ``default``."""
        return self._values.get(key.name, default)

    def as_dict(self) -> dict[str, Any]:
        """Every stored value by key name."""
        return dict(self._values)


class Context:
    """Everything a handler needs, for one connection.

    - ``config``: the run's :class:`rig.Config`.
    - ``connection``: the :class:`rig.Connection` once ``connecting`` has run, else ``None``.
    - ``server``: the :class:`rig.ServerInfo` once ``getting_version`` has run.
    - ``log``: a loguru logger bound to this connection and the current state.
    - ``data``: a :class:`DataStore` shared by this connection's handlers.
    - ``shared``: state, events and barriers shared by every connection of the run.
    - ``metrics``: this connection's :class:`rig.Metrics`.
    """

    def __init__(
        self,
        *,
        config: Config,
        connection_id: str,
        settings: ConnectionSettings,
        result: ConnectionResult,
        shared: Shared,
        retry_policy: RetryPolicy,
        breakers: BreakerBoard,
        cancelled: threading.Event,
        on_check: Callable[[Check], None],
    ) -> None:
        from rig.metrics import Metrics

        self.config = config
        self.connection_id = connection_id
        self.settings = settings
        self.result = result
        self.shared = shared
        self.retry_policy = retry_policy
        self.breakers = breakers
        self.connection: Connection | None = None
        self.server: ServerInfo | None = None
        self.state: str = ""
        self.plugin: str = "rig"
        self.data = DataStore()
        self.metrics = Metrics()
        self._cancelled = cancelled
        self._on_check = on_check
        self._locals: dict[int, dict[str, Any]] = {}
        result.data = self.data

    @property
    def log(self) -> Logger:
        """A logger whose lines carry this connection's id and the current state."""
        return logger.bind(conn=self.connection_id, state=self.state or "-")

    @property
    def cancelled(self) -> bool:
        """Whether the run is being interrupted; long loops should stop when it turns true."""
        return self._cancelled.is_set()

    def local(self, handler: object) -> dict[str, Any]:
        """Storage private to ``handler`` for this connection (pass ``self``)."""
        return self._locals.setdefault(id(handler), {})

    def require_connection(self) -> Connection:
        """The open connection; an error if the workflow has not connected yet."""
        if self.connection is None:
            raise RuntimeError(f"state {self.state!r} needs a connection, but none is open")
        return self.connection

    def check(self, name: str, verdict: Verdict | str, detail: str = "",
              *, duration_s: float | None = None) -> Check:
        """Record a check with its verdict (``pass``, ``fail``, ``skip``, ``error``)."""
        made = Check(name, Verdict(verdict), detail, self.connection_id, self.plugin, duration_s)
        self._on_check(made)
        level = "DEBUG" if made.verdict in (Verdict.PASS, Verdict.SKIP) else "WARNING"
        self.log.log(level, "check {} {}: {}", made.verdict.upper(), name, detail)
        return made

    def connect(self) -> Connection:
        """Open this connection's database session with retries and the server's circuit
        breaker; a failure becomes a one-line :class:`rig.ConnectError` (exit 5)."""
        settings = self.settings

        def attempt(number: int) -> Connection:
            raw = open_raw(settings)
            return Connection(raw, settings, self.connection_id)

        def on_retry(error: BaseException, number: int) -> None:
            self.log.warning("connect attempt {} to {} failed ({}); retrying", number,
                             settings.address, explain(error, settings).message)

        try:
            connection = call_with_retry(
                attempt, operation=f"connect to {settings.address}", policy=self.retry_policy,
                breaker=self.breakers.for_server(settings.address), on_retry=on_retry,
                connection_id=self.connection_id, state=self.state,
            )
        except DatabaseError as exc:
            raise explain(exc, settings) from exc
        connection.state = self.state
        self.connection = connection
        return connection

    def reconnect(self) -> Connection:
        """Close the current session (if any) and open a new one."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        connection = self.connect()
        if database := self.data.get(CURRENT_DATABASE):
            connection.execute(f"USE {quote_identifier(database)}")
        return connection

    def retry(self, fn: Callable[[Connection], T], *, operation: str) -> T:
        """Run ``fn(connection)`` with the run's retry policy: transient errors are retried
        after a backoff, needs-reconnect errors on a new connection; each retry is logged and
        counted in ``metrics`` (``retries``). Put a whole transaction in ``fn``."""

        def attempt(number: int) -> T:
            return fn(self.connection or self.reconnect())

        def on_retry(error: BaseException, number: int) -> None:
            self.metrics.increment("retries")
            self.log.warning("{} failed on attempt {} ({}); retrying", operation, number, error)
            if classify(error) is ErrorClass.RECONNECT:
                self.connection = None  # the next attempt reconnects

        return call_with_retry(
            attempt, operation=operation, policy=self.retry_policy,
            breaker=self.breakers.for_server(self.settings.address), on_retry=on_retry,
            connection_id=self.connection_id, state=self.state,
        )


CURRENT_DATABASE: Key[str] = Key("rig.database")
"""The database the connection uses (set by ``verifying_database``), restored on reconnect."""
