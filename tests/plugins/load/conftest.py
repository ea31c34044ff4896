"""Helpers for the load plugin's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rig.testing import ServerDSN

POLL_S = 0.01
DEADLINE_S = 60.0
"""A backstop only: every wait below ends as soon as what it waits for is observed."""


def wait_for(condition: Callable[[], Any], what: str, *, stop: threading.Event | None = None,
             deadline_s: float = DEADLINE_S) -> Any:
    """Poll ``condition`` until it returns something true (returned), ``stop`` is set, or the
    deadline passes (then an AssertionError naming ``what``)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            return None
        found = condition()
        if found:
            return found
        time.sleep(POLL_S)
    raise AssertionError(f"gave up waiting for {what} after {deadline_s:g}s")


class Processlist:
    """An admin connection that looks at the server's process list."""

    def __init__(self, server: ServerDSN) -> None:
        self.admin = server.connect()

    def __enter__(self) -> Processlist:
        return self

    def __exit__(self, *exc: object) -> None:
        self.admin.close()

    def ids(self, info_like: str, database: str | None = None) -> list[int]:
        """Server thread ids whose running statement matches ``info_like`` (in ``database``
        if given)."""
        sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s"
        args: tuple[str, ...] = (info_like,)
        if database is not None:
            sql += " AND DB = %s"
            args += (database,)
        with self.admin.cursor() as cursor:
            cursor.execute(sql, args)
            return [int(row[0]) for row in cursor.fetchall()]

    def kill(self, thread_id: int) -> None:
        """``KILL CONNECTION thread_id``."""
        with self.admin.cursor() as cursor:
            cursor.execute(f"KILL CONNECTION {int(thread_id)}")


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., Any]:
    """:func:`wait_for`, for the tests."""
    return wait_for


@pytest.fixture
def processlist(rig_server: ServerDSN) -> Iterator[Processlist]:
    """A :class:`Processlist` of the test server."""
    with Processlist(rig_server) as found:
        yield found


@pytest.fixture
def table_names(rig_server: ServerDSN) -> Callable[[str], list[str]]:
    """A function listing the tables of a database."""

    def names(database: str) -> list[str]:
        connection = rig_server.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                               "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (database,))
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()

    return names


class Killer:
    """A thread that waits for a load query in a database to show up in the server's process
    list and kills that connection from outside (``KILL CONNECTION``)."""

    def __init__(self, server: ServerDSN, database: str) -> None:
        self.server = server
        self.database = database
        self.killed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._kill_one, name="killer")
        self._thread.start()

    def _kill_one(self) -> None:
        with Processlist(self.server) as processlist:
            found = wait_for(lambda: processlist.ids("SELECT c FROM%", self.database),
                             "a load query in the processlist", stop=self._stop)
            if found:
                processlist.kill(found[0])
                self.killed.append(found[0])

    def stop(self) -> list[int]:
        """Stop waiting (the run is over) and return the killed connection ids."""
        self._stop.set()
        self._thread.join()
        return self.killed


@pytest.fixture
def kill_a_loader(rig_server: ServerDSN, rig_database: str) -> Iterator[Callable[[], Killer]]:
    """Start a :class:`Killer` for the test's database (stopped at the end of the test)."""
    killers: list[Killer] = []

    def start() -> Killer:
        killers.append(Killer(rig_server, rig_database))
        return killers[-1]

    yield start
    for killer in killers:
        killer.stop()
