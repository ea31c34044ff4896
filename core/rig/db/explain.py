"""One line for a connection that failed: the cause and the fix, by error code and message."""

from __future__ import annotations

import ssl

from rig.db.resilience import (
    CircuitOpenError,
    DatabaseError,
    ErrorClass,
    classify,
    error_code,
    error_message,
)
from rig.db.settings import ConnectionSettings
from rig.errors import ConnectError, RigError, ServerLostError


def explain(exc: BaseException, settings: ConnectionSettings) -> ConnectError:
    """One line for a failed connection attempt: the cause and the fix."""
    if isinstance(exc, CircuitOpenError) and exc.last_error is not None:
        return explain(exc.last_error, settings)  # what the server did, not the breaker
    cause = exc.cause if isinstance(exc, DatabaseError) else exc
    code = error_code(cause)
    message = error_message(cause)
    where = settings.address
    lowered = message.lower()
    if isinstance(exc, CircuitOpenError):
        return ConnectError(str(cause), hint=f"check that the server at {where} is running "
                            "and reachable")
    if code == 1045:
        using = "with a password" if settings.password else "without a password"
        return ConnectError(
            f"access denied for user {settings.user!r} at {where} ({using})",
            hint="check --user and --password (or RIG_PASSWORD)",
        )
    if code == 1698:
        return ConnectError(
            f"access denied for user {settings.user!r} at {where}: the account logs in another "
            "way (such as unix_socket on the server's own machine), not with a password over "
            "TCP", hint="give an account that logs in with a password, or check --user")
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
                                hint="is the server running and listening there? give "
                                "--host HOST:PORT or --port PORT (default 127.0.0.1:4000), "
                                "or --sandbox for a throwaway local server")
        return ConnectError(f"cannot connect to {where}: {message}", hint="check --host")
    if code == 2027 or any(m in lowered for m in ("packet sequence number wrong",
                                                  "malformed packet")):
        return ConnectError(f"{where} does not speak the MySQL protocol ({message})",
                            hint="check --host and --port (TiDB listens on 4000, MySQL and "
                            "MariaDB on 3306)")
    if code in (2006, 2013):
        return ConnectError(f"lost the connection to {where} while logging in: {message}",
                            hint="check the port is a MySQL-protocol server and the TLS mode")
    return ConnectError(f"cannot connect to {where}: ({code}) {message}" if code
                        else f"cannot connect to {where}: {message}")



_CANNOT_CONNECT = frozenset({2002, 2003})


def lost_server_hint(address: str) -> str:
    """The fix for a server lost mid-run."""
    return (f"check that the server at {address} is running and reachable (it stopped, "
            "crashed or restarted mid-run), then run again")


def explain_lost(exc: BaseException, settings: ConnectionSettings,
                 state: str) -> ServerLostError | None:
    """One line for a handler's error that means the server was lost in ``state`` — a driver
    error or a :class:`DatabaseError` of class *needs-reconnect*, a server whose circuit
    breaker opened on such errors, a reconnection that failed — whichever plugin's handler
    met it; ``None`` for any other error. ``settings`` are the connection's (the server, when
    the error does not name one)."""
    if isinstance(exc, ServerLostError):
        return exc
    address = settings.address
    detail: str | None = None
    if isinstance(exc, DatabaseError):
        if exc.error_class is ErrorClass.RECONNECT:
            address = exc.server or address
            cause = exc.last_error if isinstance(exc, CircuitOpenError) else exc.cause
            if cause is None:
                detail = str(exc.cause)
            elif error_code(cause) in _CANNOT_CONNECT:
                detail = f"could not reconnect: {explain(cause, settings).message}"
            else:
                where = "" if isinstance(exc, CircuitOpenError) else f"{exc.operation} failed: "
                detail = where + _coded(cause)
    elif isinstance(exc, ConnectError):
        cause = exc.__cause__
        if isinstance(cause, DatabaseError) and cause.error_class is ErrorClass.RECONNECT:
            detail = f"could not reconnect: {exc.message}"
    elif not isinstance(exc, RigError) and classify(exc) is ErrorClass.RECONNECT:
        detail = _coded(exc)
    if detail is None:
        return None
    return ServerLostError(f"lost the connection to {address} in state {state}: {detail}",
                           hint=lost_server_hint(address))


def _coded(exc: BaseException) -> str:
    code = error_code(exc)
    message = error_message(exc)
    if code == 0 and not message:  # PyMySQL's InterfaceError(0, "")
        return "the session was already closed after an earlier failure"
    message = message or type(exc).__name__
    return f"({code}) {message}" if code else message
