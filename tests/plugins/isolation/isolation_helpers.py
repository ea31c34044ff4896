"""Helpers for the isolation plugin's tests and the lockstep driver's: sessions on the test
server, and a look at what the server holds (databases, objects, connections).

A module the tests import, not a ``conftest.py``: a second module named ``conftest`` on the path
would shadow the one ``tests/`` imports helpers from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rig


def settings_of(server: Any) -> rig.ConnectionSettings:
    """Connection settings for the test kit's server (``rig_server``)."""
    return rig.ConnectionSettings(
        host=server.host, port=server.port, user=server.user,
        password=rig.Secret(server.password) if server.password else None,
        ssl_mode=rig.SslMode.DISABLED)


def query(server: Any, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a short-lived connection of the test kit's; its rows."""
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
    finally:
        connection.close()


def server_state(server: Any) -> tuple[set[str], set[int]]:
    """The server's databases and the ids of its client connections (but the one asking)."""
    databases = {str(row[0]) for row in query(server, "SHOW DATABASES")}
    sessions = {int(row[0]) for row in query(
        server, "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon' AND USER <> 'system user'")}
    return databases, sessions


def objects_in(server: Any, database: str) -> set[str]:
    """What ``database`` holds: ``table t``, ``procedure p``, ``event e``."""
    found = {f"table {row[0]}" for row in query(
        server, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
        (database,))}
    found |= {f"{str(row[0]).lower()} {row[1]}" for row in query(
        server, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = %s", (database,))}
    found |= {f"event {row[0]}" for row in query(
        server, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
        (database,))}
    return found


def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``predicate`` turns true within ``timeout`` seconds (a backstop), polled every
    20 ms: for server-side facts that follow an action a moment later (a closed or killed
    connection leaves the process list asynchronously)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class Sessions:
    """Opens :class:`rig.Connection` s (through a :class:`rig.Connector`, as a run does) in a
    database holding ``t (id int primary key, value int)`` = (1,10),(2,20); :meth:`close`
    closes what is still open."""

    def __init__(self, server: Any, database: str) -> None:
        self.settings = settings_of(server)
        self.database = database
        self.connector = rig.Connector()
        self.opened: list[rig.Connection] = []
        setup = self.open("setup")
        setup.execute("CREATE TABLE t (id INT PRIMARY KEY, value INT) ENGINE=InnoDB")
        setup.execute("INSERT INTO t VALUES (1, 10), (2, 20)")

    def open(self, name: str) -> rig.Connection:
        """A new session named ``name`` in the database."""
        connection = self.connector.open(self.settings, name)
        self.opened.append(connection)
        connection.execute(f"USE {rig.quote_identifier(self.database)}")
        return connection

    def close(self) -> None:
        """Close every session opened."""
        for connection in self.opened:
            connection.close()
