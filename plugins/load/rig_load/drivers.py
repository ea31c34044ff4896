"""``--load-driver``: how the load workers open their connections — PyMySQL (rig's own driver,
pure Python), mysqlclient (``MySQLdb``, a C driver: less client CPU per query), or MariaDB's
own connector (``mariadb``, a C extension over MariaDB Connector/C); ``auto`` (the default)
takes mysqlclient when it imports and the TLS mode allows it, else PyMySQL.

PyMySQL and mysqlclient raise exceptions whose ``args`` are ``(code, message)``, so
:func:`rig.classify` sorts their errors the same way; the mariadb connector keeps the code in
``errno``, and :attr:`Driver.normalize` turns its errors into that shape before they are
classified. All take ``%s`` parameters and give cursors with ``execute`` and ``fetchall``, so
the workloads run unchanged.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

import rig

NAMES = ("pymysql", "mysqlclient", "mariadb")
AUTO = "auto"
INSTALL_MYSQLCLIENT = ("pip install 'mysqlclient>=2.2' (it builds against the C client: "
                       "apt-get install libmariadb-dev pkg-config first)")
INSTALL_MARIADB = ("pip install 'mariadb>=1.1' (it builds against MariaDB Connector/C: "
                   "apt-get install libmariadb-dev first)")
INSTALL = {"mysqlclient": INSTALL_MYSQLCLIENT, "mariadb": INSTALL_MARIADB}
MODULES = {"mysqlclient": "MySQLdb", "mariadb": "mariadb"}
C_DRIVER_TLS = (rig.SslMode.DISABLED, rig.SslMode.PREFERRED, rig.SslMode.REQUIRED)
"""The ``--ssl-mode`` values the C drivers honour (they cannot verify rig's way)."""
MYSQLCLIENT_TLS = C_DRIVER_TLS
_NO_TLS_ON_SERVER = 2026  # CR_SSL_CONNECTION_ERROR


@dataclass(frozen=True)
class Driver:
    """A driver: its name, the exceptions its connections raise, and how to connect."""

    name: str
    errors: tuple[type[BaseException], ...]
    connect: Callable[[rig.ConnectionSettings], Any]
    normalize: Callable[[BaseException], BaseException] = lambda exc: exc
    """The driver's error in the ``(code, message)`` shape :func:`rig.classify` reads."""


def available(name: str) -> bool:
    """Whether the driver ``name`` imports (PyMySQL always does)."""
    module = MODULES.get(name)
    if module is None:
        return True
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def mysqlclient_available() -> bool:
    """Whether ``MySQLdb`` imports."""
    return available("mysqlclient")


@dataclass(frozen=True)
class Choice:
    """What ``--load-driver`` resolved to, and why."""

    name: str
    reason: str


def choose(asked: str, ssl_mode: rig.SslMode) -> Choice:
    """Resolve ``--load-driver``: a named driver is taken as asked; ``auto`` takes mysqlclient
    (the C driver: about half PyMySQL's client CPU per query) when ``MySQLdb`` imports and
    ``--ssl-mode`` is one it honours, else PyMySQL."""
    if asked != AUTO:
        return Choice(asked, "asked for")
    if ssl_mode not in C_DRIVER_TLS:
        return Choice("pymysql", f"auto: --ssl-mode {ssl_mode.value} needs pymysql")
    if available("mysqlclient"):
        return Choice("mysqlclient", "auto: MySQLdb imports")
    return Choice("pymysql", "auto: MySQLdb does not import (pip install "
                  "'rig-plugin-load[mysqlclient]' for the C driver)")


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
    if name == "mariadb":
        mariadb = importlib.import_module("mariadb")
        return Driver(name, (mariadb.Error, MariadbError, OSError), _connect_mariadb,
                      _normalize_mariadb)
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


class MariadbError(Exception):
    """A mariadb connector error as ``(code, message)`` (the shape :func:`rig.classify` reads)."""


def _normalize_mariadb(exc: BaseException) -> BaseException:
    code = getattr(exc, "errno", None)
    if not isinstance(code, int) or not code:
        return exc
    normal = MariadbError(code, exc.args[0] if exc.args else str(exc))
    normal.__cause__ = exc
    return normal


def _connect_mariadb(settings: rig.ConnectionSettings) -> Any:
    """A mariadb connector connection with rig's settings (text protocol). TLS: ``disabled``;
    ``preferred`` (TLS when the server offers it); ``required`` (refused unless the session is
    encrypted)."""
    mariadb = importlib.import_module("mariadb")
    mode = settings.ssl_mode

    def connect(tls: bool) -> Any:
        return mariadb.connect(
            host=settings.host, port=settings.port, user=settings.user,
            password=settings.password.reveal() if settings.password else "",
            connect_timeout=max(1, math.ceil(settings.connect_timeout)), autocommit=True,
            local_infile=False, ssl=tls)

    try:
        if mode is rig.SslMode.DISABLED:
            return connect(False)
        try:
            return connect(True)
        except mariadb.Error as exc:
            if mode is not rig.SslMode.PREFERRED or getattr(exc, "errno", None) not in (
                    _NO_TLS_ON_SERVER, 2006, 2013):
                raise
            return connect(False)
    except mariadb.Error as exc:
        raise _normalize_mariadb(exc) from exc
