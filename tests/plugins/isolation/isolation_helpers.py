"""Helpers for the isolation plugin's tests and the lockstep driver's: sessions on the test
server, and a look at what the server holds (databases, connections).

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


def server_state(server: Any) -> tuple[set[str], set[int]]:
    """The server's databases and the ids of its client connections (but the one asking)."""
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES")
            databases = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT ID FROM information_schema.PROCESSLIST "
                           "WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon' "
                           "AND USER <> 'system user'")
            sessions = {int(row[0]) for row in cursor.fetchall()}
        return databases, sessions
    finally:
        connection.close()


def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Whether ``predicate`` turns true within ``timeout`` seconds, polled every 20 ms (a
    closed or killed connection leaves the server's process list a moment later)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class Sessions:
    """Opens :class:`rig.Connection` s in a database holding ``t (id int primary key, value
    int)`` = (1,10),(2,20); :meth:`close` closes what is still open."""

    def __init__(self, server: Any, database: str) -> None:
        self.settings = settings_of(server)
        self.database = database
        self.opened: list[rig.Connection] = []
        setup = self.open("setup")
        setup.execute("CREATE TABLE t (id INT PRIMARY KEY, value INT) ENGINE=InnoDB")
        setup.execute("INSERT INTO t VALUES (1, 10), (2, 20)")

    def open(self, name: str) -> rig.Connection:
        """A new session named ``name`` in the database."""
        connection = rig.Connection(rig.open_raw(self.settings), self.settings, name)
        connection.execute(f"USE {rig.quote_identifier(self.database)}")
        self.opened.append(connection)
        return connection

    def close(self) -> None:
        """Close every session opened."""
        for connection in self.opened:
            connection.close()
