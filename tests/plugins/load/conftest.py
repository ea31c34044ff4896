"""Helpers for the load plugin's tests."""

from __future__ import annotations

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
