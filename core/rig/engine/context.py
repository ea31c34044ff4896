"""The context a handler works in: config, connections, logger, data, metrics, checks, the
run's terminal, timeline and scratch data."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from rig.config.config import Config
from rig.data import DataStore, Key
from rig.db.connection import Connection, Connector, quote_identifier
from rig.db.explain import explain
from rig.db.resilience import DatabaseError, ErrorClass, call_with_retry, classify
from rig.db.scratch import Scratch
from rig.db.settings import ConnectionSettings
from rig.engine.metrics import Metrics
from rig.engine.results import Check, ConnectionResult, Verdict
from rig.engine.shared import Shared
from rig.errors import ConnectError, RigError
from rig.terminal import Terminal
from rig.timeline import EventKind, TimelineEvent

if TYPE_CHECKING:
    from loguru import Logger

    from rig.db.flavor import ServerInfo

T = TypeVar("T")

CURRENT_DATABASE: Key[str] = Key("rig.database")
"""The database the connection uses (set by ``verifying_database``), restored on reconnect."""


class Context:
    """Everything a handler needs, for one connection.

    - ``config``: the run's :class:`rig.Config`.
    - ``connection``: the :class:`rig.Connection` once ``connecting`` has run, else ``None``;
      :meth:`open_connection` opens more.
    - ``server``: the :class:`rig.ServerInfo` once ``getting_version`` has run.
    - ``log``: a loguru logger bound to this connection and the current state.
    - ``data``: a :class:`rig.DataStore` shared by this connection's handlers (and
      ``rig_report``).
    - ``shared``: values, events and barriers shared by every connection of the run.
    - ``metrics``: this connection's :class:`rig.Metrics`.
    - ``scratch``: the run's :class:`rig.Scratch` (databases and tables it creates).
    - ``terminal``: the run's :class:`rig.Terminal`.
    """

    def __init__(
        self,
        *,
        config: Config,
        connection_id: str,
        settings: ConnectionSettings,
        result: ConnectionResult,
        shared: Shared,
        connector: Connector,
        scratch: Scratch,
        cancelled: threading.Event,
        on_check: Callable[[Check], None],
    ) -> None:
        self.config = config
        self.connection_id = connection_id
        self.settings = settings
        self.result = result
        self.shared = shared
        self.connector = connector
        self.scratch = scratch
        self.connection: Connection | None = None
        self.connected_once = False
        """Whether this connection ever reached its server (a failure after that is a server
        lost mid-run, not one that cannot be reached)."""
        self.server: ServerInfo | None = None
        self.state: str = ""
        self.plugin: str = "rig"
        self.data = DataStore()
        self.metrics = Metrics()
        self._cancelled = cancelled
        self._on_check = on_check
        self._locals: dict[int, dict[str, Any]] = {}
        self._extra: list[Connection] = []
        self._extra_lock = threading.Lock()
        result.data = self.data

    @property
    def log(self) -> Logger:
        """A logger whose lines carry this connection's id and the current state."""
        return logger.bind(conn=self.connection_id, state=self.state or "-")

    @property
    def terminal(self) -> Terminal:
        """The run's terminal (``config.terminal``)."""
        return self.config.terminal

    @property
    def cancelled(self) -> bool:
        """Whether the run is being interrupted; long loops should stop when it turns true."""
        return self._cancelled.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, ending early on Ctrl-C; returns whether the run is being
        interrupted (so a polling loop can ``if ctx.wait(interval): return``)."""
        return self._cancelled.wait(seconds)

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

    def event(self, name: str, *, kind: EventKind | str = EventKind.INSTANT, detail: str = "",
              data: Mapping[str, Any] | None = None) -> TimelineEvent:
        """Add an event to the run's timeline, from this connection and the current state's
        plugin (see :class:`rig.Timeline`)."""
        return self.config.timeline.add(name, source=self.plugin,
                                        connection=self.connection_id, kind=kind,
                                        detail=detail, data=data)

    def _on_connect_retry(self, settings: ConnectionSettings) -> Callable[[BaseException, int],
                                                                          None]:
        def on_retry(error: BaseException, number: int) -> None:
            self.log.warning("connect attempt {} to {} failed ({}); retrying", number,
                             settings.address, explain(error, settings).message)

        return on_retry

    def connect(self) -> Connection:
        """Open this connection's database session with retries and the server's circuit
        breaker; a failure becomes a one-line :class:`rig.ConnectError` (exit 5)."""
        connection = self.connector.open(self.settings, self.connection_id, state=self.state,
                                         on_retry=self._on_connect_retry(self.settings),
                                         cancelled=self._cancelled)
        connection.state = self.state
        self.connection = connection
        self.connected_once = True
        return connection

    def reconnect(self) -> Connection:
        """Close the current session (if any) and open a new one, in the database the
        connection was using; recorded on the timeline as ``reconnect``."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        connection = self.connect()
        database = self.data.get(CURRENT_DATABASE)
        if database:
            connection.execute(f"USE {quote_identifier(database)}")
        self.metrics.increment("reconnects")
        self.event("reconnect", detail=f"{self.connection_id} reconnected to "
                                       f"{self.settings.address}")
        return connection

    def open_connection(self, *, database: str | None = None,
                        settings: ConnectionSettings | None = None) -> Connection:
        """Open one more session to this connection's server (or to ``settings``), through
        the run's retry policy and circuit breaker, in ``database`` if given. rig closes it
        when this connection's workflow ends and unblocks it on Ctrl-C; ids are ``c1.1``,
        ``c1.2``, …"""
        target = settings or self.settings
        with self._extra_lock:
            name = f"{self.connection_id}.{len(self._extra) + 1}"
        connection = self.connector.open(target, name, state=self.state,
                                         on_retry=self._on_connect_retry(target),
                                         cancelled=self._cancelled)
        connection.state = self.state
        with self._extra_lock:
            self._extra.append(connection)
        if database:
            connection.execute(f"USE {quote_identifier(database)}")
        return connection

    def abort(self) -> list[tuple[str, int]]:
        """Unblock every session of this connection (Ctrl-C): shut their sockets down. Returns
        ``(server address, server thread id)`` of each: the server may go on running its
        statement until it notices, and the run's cleanup ends it (``KILL``)."""
        with self._extra_lock:
            sessions = [self.connection, *self._extra]
        aborted = []
        for session in sessions:
            if session is not None:
                session.abort()
                aborted.append((session.settings.address, session.server_thread_id))
        return aborted

    def reopen_after_interrupt(self) -> None:
        """After Ctrl-C shut this connection's sessions down: close them and open a fresh
        main session (retried as usual, in the database it was using) for the cleanup states.
        When the server cannot be reached, ``connection`` stays ``None`` and the failure is
        logged."""
        self.close()
        self.connection = None
        try:
            connection = self.connector.open(self.settings, self.connection_id,
                                             state=self.state,
                                             on_retry=self._on_connect_retry(self.settings))
            database = self.data.get(CURRENT_DATABASE)
            if database:
                connection.execute(f"USE {quote_identifier(database)}")
        except RigError as exc:
            self.log.warning("no session for the cleanup states after the interrupt: {}", exc)
            return
        self.connection = connection

    def close(self) -> None:
        """Close every session of this connection (the end of its workflow)."""
        with self._extra_lock:
            sessions, self._extra = [self.connection, *self._extra], []
        for session in sessions:
            if session is not None:
                session.close()

    def retry(self, fn: Callable[[Connection], T], *, operation: str) -> T:
        """Run ``fn(connection)`` with the run's retry policy: transient errors are retried
        after a backoff, needs-reconnect errors on a new connection; each retry is logged and
        counted in ``metrics`` (``retries``); no retry starts after Ctrl-C. Put a whole
        transaction in ``fn``."""

        def attempt(number: int) -> T:
            try:
                connection = self.connection or self.reconnect()
            except ConnectError as exc:
                cause = exc.__cause__  # the server is still away: retry (or give up) as such
                if isinstance(cause, DatabaseError) and cause.error_class is ErrorClass.RECONNECT:
                    raise cause from None
                raise
            return fn(connection)

        def on_retry(error: BaseException, number: int) -> None:
            self.metrics.increment("retries")
            self.log.warning("{} failed on attempt {} ({}); retrying", operation, number, error)
            if classify(error) is ErrorClass.RECONNECT:
                if self.connection is not None:
                    self.connection.close()
                self.connection = None  # the next attempt reconnects

        return call_with_retry(
            attempt, operation=operation, policy=self.connector.retry_policy,
            breaker=self.connector.breakers.for_server(self.settings.address),
            on_retry=on_retry, connection_id=self.connection_id, state=self.state,
            cancelled=self._cancelled,
        )
