"""Database connections: a thin PyMySQL wrapper whose errors carry their context, and the
:class:`Connector` that opens every connection of a run with TLS, a bounded handshake, retry and
the circuit breaker."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors

from rig.db.explain import explain
from rig.db.resilience import (
    BreakerBoard,
    DatabaseError,
    RetryPolicy,
    call_with_retry,
    error_code,
)
from rig.db.settings import ConnectionSettings, SslMode
from rig.db.statement import bind
from rig.db.tls import TlsContexts
from rig.secret import Secret

_NO_TLS_ON_SERVER = 2026  # CR_SSL_CONNECTION_ERROR: "the server doesn't support it"


class Connector:
    """Opens the connections of a run: TLS as ``--ssl-mode`` asks (``preferred`` probes each
    server once), the login handshake bounded by ``--connect-timeout``, and — in :meth:`open` —
    the run's retry policy and each server's circuit breaker. One per run: its TLS contexts,
    breakers and the servers known to lack TLS live as long as the run."""

    def __init__(self, *, retry_policy: RetryPolicy | None = None,
                 breakers: BreakerBoard | None = None) -> None:
        self.retry_policy = retry_policy or RetryPolicy()
        self.breakers = breakers or BreakerBoard()
        self.tls = TlsContexts()

    def open_raw(self, settings: ConnectionSettings) -> pymysql.connections.Connection:
        """One attempt at a PyMySQL connection; raises the driver's exceptions (see
        :func:`rig.db.explain.explain`). For code that needs the bare driver (a load worker's
        hot loop); everything else uses :meth:`open`."""
        return self._connect(settings)[0]

    def _connect(self, settings: ConnectionSettings
                 ) -> tuple[pymysql.connections.Connection, socket.socket]:
        if self.tls.plain_only(settings):
            return _connect(settings, None)
        try:
            return _connect(settings, self.tls.for_settings(settings))
        except pymysql.err.OperationalError as exc:
            if settings.ssl_mode is not SslMode.PREFERRED or error_code(exc) != _NO_TLS_ON_SERVER:
                raise
            self.tls.remember_no_tls(settings)
            return _connect(settings, None)

    def open(self, settings: ConnectionSettings, connection_id: str, *, state: str | None = None,
             on_retry: Callable[[BaseException, int], None] | None = None,
             cancelled: threading.Event | None = None) -> Connection:
        """A :class:`Connection`, retrying transient failures (refused while the server
        starts, too many connections) with backoff behind the server's circuit breaker, until
        ``cancelled`` is set; a final failure is one :class:`rig.ConnectError` line (exit 5)."""
        def attempt(_number: int) -> Connection:
            raw, sock = self._connect(settings)
            return Connection(raw, settings, connection_id, sock=sock)

        try:
            return call_with_retry(
                attempt,
                operation=f"connect to {settings.address}", policy=self.retry_policy,
                breaker=self.breakers.for_server(settings.address), on_retry=on_retry,
                connection_id=connection_id, state=state, cancelled=cancelled,
            )
        except DatabaseError as exc:
            raise explain(exc, settings) from exc


def _password_bytes(password: Secret | None) -> bytes:
    """The password as the mysql client sends it: UTF-8 (PyMySQL would encode a ``str`` as
    latin-1: "access denied" for ``Pässwörd``, a codec error quoting ``€``), and bytes that
    were not UTF-8 on the command line as they were typed (``surrogateescape``)."""
    if password is None:
        return b""
    return password.reveal().encode("utf-8", "surrogateescape")


def _connect(settings: ConnectionSettings, tls: ssl.SSLContext | None
             ) -> tuple[pymysql.connections.Connection, socket.socket]:
    """Open the TCP connection and log in, the handshake bounded by ``connect_timeout`` (a port
    that accepts but never greets cannot hang rig) while queries afterwards may take as long as
    they take (locks, DDL, monitors): PyMySQL's own ``read_timeout`` would bound both, so a
    watchdog shuts the socket down if the login is not done in time."""
    raw = pymysql.connect(
        host=settings.host, port=settings.port, user=settings.user,
        password=_password_bytes(settings.password),
        connect_timeout=settings.connect_timeout, autocommit=True, charset="utf8mb4",
        local_infile=False, defer_connect=True,
        **({"ssl": tls} if tls is not None else {"ssl_disabled": True}))
    try:
        sock = socket.create_connection((settings.host, settings.port), settings.connect_timeout)
    except OSError as exc:  # worded and numbered as PyMySQL words a failed connect
        raise pymysql.err.OperationalError(
            2003, f"Can't connect to MySQL server on {settings.host!r} ({exc})") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(settings.connect_timeout, expire)
    watchdog.start()
    try:
        raw.connect(sock)
    except pymysql.err.Error as exc:
        sock.close()
        if expired.is_set():
            raise pymysql.err.OperationalError(
                2013, f"timed out after {settings.connect_timeout:g}s waiting for the server "
                "to log us in") from exc
        raise
    finally:
        watchdog.cancel()
    return raw, sock


def quote_identifier(name: str) -> str:
    """Quote a database, table or column name for SQL: backticks doubled, so that any name,
    including one with a backtick, quote or semicolon, stays one identifier."""
    if not name:
        raise ValueError("an identifier cannot be empty")
    if "\x00" in name:
        raise ValueError("an identifier cannot contain a NUL character")
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class TlsInfo:
    """The TLS session of a connection."""

    version: str
    cipher: str


class Connection:
    """A database connection of a run: PyMySQL underneath (``raw``), rows as dicts, and errors
    raised as :class:`rig.DatabaseError` with the operation, connection id and state. Open one
    with ``ctx.open_connection()`` or :meth:`Connector.open`, which also hand it its TCP socket
    (``sock``), so that :meth:`abort` can unblock it from another thread."""

    def __init__(self, raw: pymysql.connections.Connection, settings: ConnectionSettings,
                 connection_id: str, *, sock: socket.socket | None = None) -> None:
        self.raw = raw
        self.settings = settings
        self.id = connection_id
        self._sock = sock
        self.state: str | None = None
        """The state the owning machine is in, for error context."""

    @property
    def server_thread_id(self) -> int:
        """The server's id of this session (``CONNECTION_ID()``, target of ``KILL``)."""
        return int(self.raw.thread_id())

    def _bound(self, sql: str, args: Sequence[Any] | dict[str, Any] | None) -> str:
        """``sql`` with ``args`` bound outside quoted text (see :mod:`rig.db.statement`)."""
        return sql if args is None else bind(sql, args, self.raw.escape)

    def _error(self, exc: BaseException, operation: str) -> DatabaseError:
        return DatabaseError(exc, operation=operation, connection_id=self.id, state=self.state,
                             server=self.settings.address)

    def execute(self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """Run a statement; returns the affected row count."""
        try:
            with self.raw.cursor() as cursor:
                return int(cursor.execute(self._bound(sql, args)))
        except (pymysql.err.Error, OSError) as exc:
            raise self._error(exc, _operation(sql)) from exc

    def query(
        self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query; returns its rows as dicts keyed by column name."""
        try:
            with self.raw.cursor(pymysql.cursors.DictCursor) as cursor:
                cursor.execute(self._bound(sql, args))
                return list(cursor.fetchall())
        except (pymysql.err.Error, OSError) as exc:
            raise self._error(exc, _operation(sql)) from exc

    def query_rows(
        self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; returns the column names (from the cursor's description) and the rows
        as tuples. Use it where column names matter, e.g. to tell two schemas apart."""
        try:
            with self.raw.cursor() as cursor:
                cursor.execute(self._bound(sql, args))
                names = [column[0] for column in cursor.description or ()]
                return names, list(cursor.fetchall())
        except (pymysql.err.Error, OSError) as exc:
            raise self._error(exc, _operation(sql)) from exc

    def scalar(self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first column of the first row, or ``None`` when there is no row."""
        _names, rows = self.query_rows(sql, args)
        return rows[0][0] if rows else None

    def tls(self) -> TlsInfo | None:
        """The TLS version and cipher of this session as the server reports them
        (``Ssl_version``, ``Ssl_cipher``), or ``None`` for a plain connection."""
        _names, rows = self.query_rows("SHOW SESSION STATUS LIKE 'Ssl\\_%'")
        status = {str(name).lower(): str(value or "") for name, value in rows}
        version, cipher = status.get("ssl_version", ""), status.get("ssl_cipher", "")
        return TlsInfo(version, cipher) if version or cipher else None

    def close(self) -> None:
        """Close politely; never raises."""
        with contextlib.suppress(Exception):
            self.raw.close()

    def abort(self) -> None:
        """Shut the socket down from another thread, unblocking a query in progress (a no-op
        for a connection made without its socket)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


def _operation(sql: str) -> str:
    words = sql.strip().split(None, 3)
    return " ".join(words[:2]).rstrip(";") if words else "statement"
