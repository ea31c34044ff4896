"""``--load-driver``: how the load workers open their connections — PyMySQL (rig's own driver,
pure Python) or mysqlclient (``MySQLdb``, a C driver: less client CPU per query).

Both raise exceptions whose ``args`` are ``(code, message)``, so :func:`rig.classify` sorts
their errors the same way; both take ``%s`` parameters and give cursors with ``execute`` and
``fetchall``, so the workloads run unchanged.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

import rig

NAMES = ("pymysql", "mysqlclient")
INSTALL_MYSQLCLIENT = ("pip install 'mysqlclient>=2.2' (it builds against the C client: "
                       "apt-get install libmariadb-dev pkg-config first)")
MYSQLCLIENT_TLS = (rig.SslMode.DISABLED, rig.SslMode.PREFERRED, rig.SslMode.REQUIRED)
_NO_TLS_ON_SERVER = 2026  # CR_SSL_CONNECTION_ERROR


@dataclass(frozen=True)
class Driver:
    """A driver: its name, the exceptions its connections raise, and how to connect."""

    name: str
    errors: tuple[type[BaseException], ...]
    connect: Callable[[rig.ConnectionSettings], Any]


def mysqlclient_available() -> bool:
    """Whether ``MySQLdb`` imports."""
    try:
        importlib.import_module("MySQLdb")
    except ImportError:
        return False
    return True


PYMYSQL_ERRORS: tuple[type[BaseException], ...] = (pymysql.err.Error, OSError)
"""What a PyMySQL connection raises when a query or the connection fails."""


def load(name: str, connector: rig.Connector | None = None) -> Driver:
    """The driver called ``name`` (one of :data:`NAMES`; checked by the options). PyMySQL
    connections are opened by ``connector`` (the run's ``ctx.connector`` in rig's process; a
    worker process builds its own :class:`rig.Connector`): TLS as ``--ssl-mode`` asks, one
    attempt — the worker retries itself."""
    if name == "mysqlclient":
        mysqldb = importlib.import_module("MySQLdb")
        return Driver(name, (mysqldb.Error, OSError), _connect_mysqlclient)
    return Driver(name, PYMYSQL_ERRORS, (connector or rig.Connector()).open_raw)


def _connect_mysqlclient(settings: rig.ConnectionSettings) -> Any:
    """A mysqlclient connection with rig's settings. TLS: ``disabled``; ``preferred`` (TLS
    when the server offers it); ``required`` (refused unless the session is encrypted — the
    MariaDB client library would otherwise fall back to plain text)."""
    mysqldb = importlib.import_module("MySQLdb")
    mode = settings.ssl_mode

    def connect(ssl_mode: str) -> Any:
        return mysqldb.connect(
            host=settings.host, port=settings.port, user=settings.user,
            password=settings.password.reveal() if settings.password else "",
            connect_timeout=max(1, math.ceil(settings.connect_timeout)), autocommit=True,
            charset="utf8mb4", local_infile=False, multi_statements=False, ssl_mode=ssl_mode)

    if mode is rig.SslMode.DISABLED:
        return connect("DISABLED")
    try:
        raw = connect("REQUIRED")
    except mysqldb.OperationalError as exc:
        if mode is not rig.SslMode.PREFERRED or exc.args[:1] != (_NO_TLS_ON_SERVER,):
            raise
        return connect("DISABLED")
    if mode is rig.SslMode.REQUIRED:
        cursor = raw.cursor()
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        rows = cursor.fetchall()
        if not rows or not rows[0][1]:
            raw.close()
            raise mysqldb.OperationalError(
                _NO_TLS_ON_SERVER, "TLS/SSL error: --ssl-mode required, but the server "
                "does not support TLS")
    return raw
