"""Helpers for the load plugin's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def table_names(rig_server: Any, rig_database: str) -> Any:
    """A function listing the tables of the test's database."""

    def names() -> list[str]:
        connection = rig_server.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                               "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (rig_database,))
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()

    return names


@pytest.fixture
def kill_a_loader(rig_server: Any, rig_database: str) -> Callable[[], tuple[threading.Thread,
                                                                          list[int]]]:
    """Start a thread that waits (bounded) for a load query in the test's database to show up
    in the process list and kills that connection from outside; returns the thread and the
    list it fills with the killed connection id."""

    def start() -> tuple[threading.Thread, list[int]]:
        killed: list[int] = []

        def kill_one() -> None:
            admin = rig_server.connect()
            try:
                with admin.cursor() as cursor:
                    for _ in range(200):
                        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST "
                                       "WHERE DB = %s AND INFO LIKE 'SELECT c FROM%%'",
                                       (rig_database,))
                        row = cursor.fetchone()
                        if row:
                            cursor.execute(f"KILL CONNECTION {int(row[0])}")
                            killed.append(int(row[0]))
                            return
                        time.sleep(0.02)
            finally:
                admin.close()

        killer = threading.Thread(target=kill_one)
        killer.start()
        return killer, killed

    return start
