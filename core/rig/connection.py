"""Connections: where to connect, TLS as the mysql client spells it, and a thin PyMySQL wrapper
whose errors carry their context."""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from rig.errors import ConnectError
from rig.resilience import CircuitOpenError, DatabaseError, error_code, error_message
from rig.secret import Secret

DEFAULT_PORT = 4000
"""TiDB's port; MySQL and MariaDB listen on 3306."""

SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/cert.pem",  # macOS, Alpine
    "/etc/ssl/ca-bundle.pem",  # openSUSE
)


class SslMode(StrEnum):
    """TLS modes, named as ``mysql --ssl-mode`` names them."""

    DISABLED = "disabled"
    PREFERRED = "preferred"
    REQUIRED = "required"
    VERIFY_CA = "verify-ca"
    VERIFY_IDENTITY = "verify-identity"


@dataclass(frozen=True)
class HostPort:
    """A ``--host`` value: a host name or address and an optional port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host


def parse_hosts(text: str) -> list[HostPort]:
    """``host[:port][,host[:port]...]``; IPv6 addresses in brackets (``[::1]:4000``)."""
    hosts = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        else:
            host, port_text = item, ""
        if not host:
            raise ValueError("the host name is empty")
        port = None
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise ValueError(f"port {port_text!r} is not a number from 1 to 65535")
            port = int(port_text)
        hosts.append(HostPort(host, port))
    if not hosts:
        raise ValueError("give a host name, e.g. 127.0.0.1:4000")
    return hosts


def existing_file(text: str) -> str:
    """An option type: a path to a readable file."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    return str(path)


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open one connection."""

    host: str
    port: int
    user: str
    password: Secret | None = None
    database: str | None = None
    connect_timeout: float = 10.0
    ssl_mode: SslMode = SslMode.PREFERRED
    ssl_ca: str | None = None

    @property
    def address(self) -> str:
        """``host:port``, for messages and breakers."""
        return str(HostPort(self.host, self.port))


def system_ca_bundle() -> str | None:
    """The first system CA bundle found on this machine (TiDB Cloud's certificates chain to
    it), else ``None`` (Python's default paths are used)."""
    return next((path for path in SYSTEM_CA_BUNDLES if Path(path).is_file()), None)


@functools.lru_cache(maxsize=32)
def _context(mode: SslMode, cafile: str | None) -> ssl.SSLContext:
    """One TLS context per mode and CA, built once per process: loading a CA bundle costs tens
    of milliseconds, far more than the rest of a local connect."""
    if mode in (SslMode.PREFERRED, SslMode.REQUIRED):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # encrypt, verify nothing
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectError(f"cannot load the CA file {cafile}: {exc}",
                           hint="check --ssl-ca") from None
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.check_hostname = mode is SslMode.VERIFY_IDENTITY
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def ssl_context(settings: ConnectionSettings) -> ssl.SSLContext | None:
    """The TLS context for ``--ssl-mode``; ``None`` for ``disabled``. ``verify-ca`` and
    ``verify-identity`` check against ``--ssl-ca``, else the system CA bundle."""
    mode = settings.ssl_mode
    if mode is SslMode.DISABLED:
        return None
    cafile = None
    if mode in (SslMode.VERIFY_CA, SslMode.VERIFY_IDENTITY):
        cafile = settings.ssl_ca or system_ca_bundle()
    return _context(mode, cafile)


_SERVERS_WITHOUT_TLS: set[tuple[str, int]] = set()
"""Servers that refused TLS in ``preferred`` mode: later connections go plain at once."""
_NO_TLS_ON_SERVER = 2026  # CR_SSL_CONNECTION_ERROR: "the server doesn't support it"


def open_raw(settings: ConnectionSettings) -> pymysql.connections.Connection:
    """Open a PyMySQL connection; raises the driver's exceptions (see :func:`explain`).

    ``preferred`` tries TLS first and falls back to plain text when the server has no TLS
    (remembered per server, so the probe happens once per process)."""
    kwargs: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.password.reveal() if settings.password else "",
        "connect_timeout": settings.connect_timeout,
        # connect_timeout covers only the TCP connect; bound the handshake too, so a port
        # that accepts but never greets cannot hang rig (lifted again below).
        "read_timeout": settings.connect_timeout,
        "write_timeout": settings.connect_timeout,
        "autocommit": True,
        "charset": "utf8mb4",
        "local_infile": False,
    }
    server = (settings.host, settings.port)
    plain = settings.ssl_mode is SslMode.DISABLED or (
        settings.ssl_mode is SslMode.PREFERRED and server in _SERVERS_WITHOUT_TLS)
    if plain:
        raw = pymysql.connect(ssl_disabled=True, **kwargs)
    else:
        try:
            raw = pymysql.connect(ssl=ssl_context(settings), **kwargs)
        except pymysql.err.OperationalError as exc:
            if settings.ssl_mode is not SslMode.PREFERRED or error_code(exc) != _NO_TLS_ON_SERVER:
                raise
            _SERVERS_WITHOUT_TLS.add(server)
            raw = pymysql.connect(ssl_disabled=True, **kwargs)
    raw._read_timeout = None  # queries may legitimately run long (locks, DDL, monitors)
    raw._write_timeout = None
    return raw


def explain(exc: BaseException, settings: ConnectionSettings) -> ConnectError:
    """One line for a failed connection attempt: the cause and the fix."""
    cause = exc.cause if isinstance(exc, DatabaseError) else exc
    code = error_code(cause)
    message = error_message(cause)
    where = settings.address
    lowered = message.lower()
    if isinstance(exc, CircuitOpenError):
        return ConnectError(str(cause), hint="the server kept failing; check it is up")
    if code == 1045:
        using = "with a password" if settings.password else "without a password"
        return ConnectError(
            f"access denied for user {settings.user!r} at {where} ({using})",
            hint="check --user and --password (or RIG_PASSWORD)",
        )
    if code == 1044:
        return ConnectError(f"user {settings.user!r} may not use that database at {where}",
                            hint="grant access or choose another --database")
    if code == 1049:
        return ConnectError(f"database {settings.database!r} does not exist at {where}",
                            hint="create it or check --database")
    if code in (3159,) or "insecure transport" in lowered:
        return ConnectError(f"the server at {where} accepts only TLS connections",
                            hint="use --ssl-mode verify-identity (TiDB Cloud) or required")
    if code == 2026 or isinstance(cause, ssl.SSLError) or ("ssl" in lowered and code == 2003):
        if "certificate" in lowered or "verify" in lowered:
            return ConnectError(f"TLS certificate check failed for {where}: {message}",
                                hint="give the server's CA with --ssl-ca, or use "
                                "--ssl-mode required")
        return ConnectError(f"TLS failed with {where}: {message}",
                            hint="the server may not support TLS; try --ssl-mode preferred")
    if code == 2003:
        if any(m in message for m in ("Name or service not known", "nodename nor servname",
                                      "Temporary failure in name resolution",
                                      "No address associated")):
            return ConnectError(f"unknown host {settings.host!r}", hint="check --host")
        if "timed out" in lowered:
            return ConnectError(
                f"timed out after {settings.connect_timeout:g}s connecting to {where}",
                hint="check the address and firewall, or raise --connect-timeout",
            )
        if "refused" in lowered:
            return ConnectError(f"connection refused by {where}",
                                hint="is the server running and listening there? "
                                "check --host HOST:PORT")
        return ConnectError(f"cannot connect to {where}: {message}", hint="check --host")
    if code in (2006, 2013):
        return ConnectError(f"lost the connection to {where} while logging in: {message}",
                            hint="check the port is a MySQL-protocol server and the TLS mode")
    return ConnectError(f"cannot connect to {where}: ({code}) {message}" if code
                        else f"cannot connect to {where}: {message}")


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
    raised as :class:`rig.DatabaseError` with the operation, connection id and state."""

    def __init__(self, raw: pymysql.connections.Connection, settings: ConnectionSettings,
                 connection_id: str) -> None:
        self.raw = raw
        self.settings = settings
        self.id = connection_id
        self.state: str | None = None
        """The state the owning machine is in, for error context."""

    @property
    def server_thread_id(self) -> int:
        """The server's id of this session (``CONNECTION_ID()``, target of ``KILL``)."""
        return int(self.raw.thread_id())

    def _error(self, exc: BaseException, operation: str) -> DatabaseError:
        return DatabaseError(exc, operation=operation, connection_id=self.id, state=self.state)

    def execute(self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """Run a statement; returns the affected row count."""
        try:
            with self.raw.cursor() as cursor:
                return int(cursor.execute(sql, args))
        except (pymysql.err.Error, OSError) as exc:
            raise self._error(exc, _operation(sql)) from exc

    def query(
        self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query; returns its rows as dicts keyed by column name."""
        try:
            with self.raw.cursor(pymysql.cursors.DictCursor) as cursor:
                cursor.execute(sql, args)
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
                cursor.execute(sql, args)
                names = [column[0] for column in cursor.description or ()]
                return names, list(cursor.fetchall())
        except (pymysql.err.Error, OSError) as exc:
            raise self._error(exc, _operation(sql)) from exc

    def scalar(self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first column of the first row, or ``None`` when there is no row."""
        _names, rows = self.query_rows(sql, args)
        return rows[0][0] if rows else None

    def tls(self) -> TlsInfo | None:
        """The TLS version and cipher in use, or ``None`` for a plain connection."""
        sock = getattr(self.raw, "_sock", None)
        if isinstance(sock, ssl.SSLSocket):
            cipher = sock.cipher()
            return TlsInfo(sock.version() or "?", cipher[0] if cipher else "?")
        return None

    def close(self) -> None:
        """Close politely; never raises."""
        with contextlib.suppress(Exception):
            self.raw.close()

    def abort(self) -> None:
        """Shut the socket down from another thread, unblocking a query in progress."""
        sock = getattr(self.raw, "_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _operation(sql: str) -> str:
    words = sql.strip().split(None, 3)
    return " ".join(words[:2]).rstrip(";") if words else "statement"
