"""Identifiers reaching SQL are quoted: hostile database names work and cannot inject."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import rig
from rig.db.connection import quote_identifier
from rig.db.statement import bind
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


@pytest.mark.parametrize("name", ["50%_off", "5%sdb", "a%%b", "%(x)s", "odd`%s`"])
def test_a_name_with_percent_signs_works_beside_parameters(
        rig_server: ServerDSN, rig_database: str, name: str) -> None:
    """Identifiers go into the statement's text, values are parameters: a ``%`` in a quoted
    name is not a placeholder (it broke PyMySQL's formatting: "unsupported format
    character")."""
    settings = rig.ConnectionSettings(
        rig_server.host, rig_server.port, rig_server.user,
        rig.Secret(rig_server.password) if rig_server.password else None,
        ssl_mode=rig.SslMode.DISABLED)
    connection = rig.Connector().open(settings, "test")
    table = f"{quote_identifier(rig_database)}.{quote_identifier(name)}"
    connection.execute(f"CREATE TABLE {table} (id INT, note VARCHAR(20))")
    try:
        connection.execute(f"INSERT INTO {table} VALUES (%s, %s), (%s, %s)",
                           (1, "50% 'off'", 2, "%s"))
        rows = connection.query(f"SELECT id, note FROM {table} WHERE note LIKE %(pattern)s "
                                "ORDER BY id", {"pattern": "%"})
        assert [(row["id"], row["note"]) for row in rows] == [(1, "50% 'off'"), (2, "%s")]
        assert connection.scalar(f"SELECT note FROM {table} WHERE id = %s", (1,)) == "50% 'off'"
    finally:
        connection.execute(f"DROP TABLE {table}")
        connection.close()


@pytest.mark.parametrize(("sql", "args", "message"), [
    ("SELECT %s, %s", (1,), "not enough arguments for the statement"),
    ("SELECT %s", (1, 2), "not all arguments were used in the statement"),
    ("SELECT %s", {"a": 1}, "%s placeholder with named parameters"),
    ("SELECT %(a)s", (1,), "%(a)s placeholder without named parameters"),
    ("SELECT %(b)s", {"a": 1}, "no parameter named 'b'"),
])
def test_placeholders_and_arguments_that_do_not_match_are_a_type_error(
        sql: str, args: Any, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        bind(sql, args, repr)
    assert str(raised.value) == message


def test_binding_leaves_quoted_text_as_written() -> None:
    assert bind("SELECT `a%s`, 'b%s\\'%s', \"c%s\", %s, %%s FROM `x``%s`", ("v",), repr) == \
        "SELECT `a%s`, 'b%s\\'%s', \"c%s\", 'v', %s FROM `x``%s`"


@pytest.fixture
def percent_database(rig_server: ServerDSN) -> Iterator[str]:
    name = f"rig_5%s_{uuid.uuid4().hex[:8]}"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quote_identifier(name)}")
    yield name
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")


@pytest.mark.parametrize("plugin_args", [
    ["--plugin", "python_demo", "--python-demo-table", "50%_off", "--python-demo-rows", "600"],
    ["--plugin", "load", "--load-duration", "0.3", "--load-table-size", "200",
     "--load-workload", "read-write"],
    ["--plugin", "isolation", "--isolation-tests", "g0,g1a", "--isolation-levels",
     "serializable"],
], ids=["python_demo", "load", "isolation"])
def test_every_plugin_works_in_a_database_whose_name_holds_percent_signs(
        rig_runner: RigRunner, percent_database: str, plugin_args: list[str]) -> None:
    database = ["--isolation-database" if "isolation" in plugin_args else "--database",
                percent_database]
    run = rig_runner.run_on_server(*plugin_args, *database)
    assert run.exit_code == 0, run.stderr
    assert run.report is not None and run.report["scratch"]["left"] == []
