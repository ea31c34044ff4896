"""Identifiers reaching SQL are quoted: hostile database names work and cannot inject."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rig.db.connection import quote_identifier
from rig.testing import RigRunner, ServerDSN

HOSTILE = ["we`ird", "quo'te\"s", "semi;colon; DROP DATABASE mysql; --", "spa ce ` ; `"]


@pytest.fixture(params=HOSTILE)
def hostile_database(request: pytest.FixtureRequest, rig_server: ServerDSN) -> Iterator[str]:
    name = request.param
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quote_identifier(name)}")
    yield name
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")


def test_hostile_database_name_is_used_not_executed(
        rig_runner: RigRunner, rig_server: ServerDSN, hostile_database: str) -> None:
    run = rig_runner.run_on_server("--database", hostile_database)
    assert run.exit_code == 0, run.stderr
    assert run.section("basic")["c1"]["session"]["database"] == hostile_database
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                       "WHERE SCHEMA_NAME IN (%s, 'mysql')", (hostile_database,))
        assert {row[0] for row in cursor.fetchall()} == {hostile_database, "mysql"}


def test_quote_identifier_doubles_backticks_and_refuses_empty_or_nul() -> None:
    assert quote_identifier("a`b") == "`a``b`"
    with pytest.raises(ValueError, match="empty"):
        quote_identifier("")
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier("a\x00b")
