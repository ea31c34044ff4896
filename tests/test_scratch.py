"""Scratch data: a run works in databases and tables it creates (or an empty database), drops
exactly those at the end, and never drops or changes anything that existed before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import rig
from rig.testing import RigRunner, ServerDSN, make_plugin


@pytest.fixture
def connection(rig_server: ServerDSN) -> Iterator[rig.Connection]:
    settings = rig.ConnectionSettings(
        rig_server.host, rig_server.port, rig_server.user,
        rig.Secret(rig_server.password) if rig_server.password else None,
        ssl_mode=rig.SslMode.DISABLED)
    opened = rig.Connector().open(settings, "test")
    yield opened
    opened.close()


def databases(connection: rig.Connection) -> set[str]:
    return {row["Database"] for row in connection.query("SHOW DATABASES")}


def new_name() -> str:
    return f"rig_scratch_{uuid.uuid4().hex[:10]}"


def test_a_created_database_is_claimed_once_and_dropped(connection: rig.Connection) -> None:
    scratch = rig.Scratch()
    name = new_name()
    first = scratch.database(connection, name)
    again = scratch.database(connection, name)  # a second connection asking
    assert first is again and first.created
    scratch.create_table(connection, name, "t", "(id INT PRIMARY KEY)")
    assert scratch.remaining() == [f"database {name} at {connection.settings.address}"]
    assert scratch.drop(connection) == [f"database {name} at {connection.settings.address}"]
    assert name not in databases(connection)
    assert scratch.remaining() == []
    assert scratch.drop(connection) == []  # nothing twice


@pytest.mark.parametrize(("create", "held"), [
    ("CREATE TABLE {db}.kept (id INT)", "base table kept"),
    ("CREATE VIEW {db}.v AS SELECT 1 AS one", "view v"),
    ("CREATE PROCEDURE {db}.p() SELECT 1", "procedure p"),
    ("CREATE FUNCTION {db}.f() RETURNS INT DETERMINISTIC RETURN 1", "function f"),
    ("CREATE EVENT {db}.e ON SCHEDULE EVERY 1 DAY DO SELECT 1", "event e"),
    ("CREATE SEQUENCE {db}.s", "sequence s"),
])
def test_an_existing_database_that_holds_anything_is_refused_and_untouched(
        connection: rig.Connection, create: str, held: str) -> None:
    name = new_name()
    connection.execute(f"CREATE DATABASE {name}")
    try:
        connection.execute(create.format(db=name))
        scratch = rig.Scratch()
        with pytest.raises(rig.ConfigError) as raised:
            scratch.database(connection, name, option="--acme-database")
        message = str(raised.value)
        assert f"database '{name}' at {connection.settings.address} already exists and holds " \
               f"1 object(s) ({held})" in message
        assert message.endswith("choose another --acme-database, or empty it")
        assert scratch.remaining() == []
        assert name in databases(connection)
    finally:
        connection.execute(f"DROP DATABASE {name}")


def test_an_empty_existing_database_is_used_but_only_its_new_tables_are_dropped(
        connection: rig.Connection) -> None:
    name = new_name()
    connection.execute(f"CREATE DATABASE {name}")
    try:
        scratch = rig.Scratch()
        claimed = scratch.database(connection, name)
        assert not claimed.created
        scratch.create_table(connection, name, "made", "(id INT)")
        where = connection.settings.address
        assert scratch.drop(connection) == [f"table {name}.made at {where}"]
        assert name in databases(connection)  # it existed before: never dropped
        assert connection.query_rows(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (name,))[1] == []
    finally:
        connection.execute(f"DROP DATABASE {name}")


def test_an_existing_table_is_refused_and_untouched(connection: rig.Connection,
                                                   rig_database: str) -> None:
    connection.execute(f"CREATE TABLE {rig_database}.sbtest1 (id INT)")
    connection.execute(f"INSERT INTO {rig_database}.sbtest1 VALUES (7)")
    scratch = rig.Scratch()
    with pytest.raises(rig.ConfigError, match=rf"table {rig_database}\.sbtest1 at .* already "
                       "exists; rig never changes what it did not create: drop it, or choose "
                       "another database"):
        scratch.create_table(connection, rig_database, "sbtest1", "(id INT)")
    assert scratch.remaining() == []
    assert connection.scalar(f"SELECT id FROM {rig_database}.sbtest1") == 7


def _scratch_plugin(name: str) -> object:
    def create(ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        ctx.scratch.database(connection, name)  # every connection claims it; one creates it
        if ctx.connection_id == "c1":
            ctx.scratch.create_table(connection, name, "t", "(id INT)")

    return make_plugin(rig_register_states=lambda registry: registry.add_state(
        "scratch_creating", create))


def test_a_run_drops_what_it_created_at_the_end(rig_runner: RigRunner,
                                                rig_server: ServerDSN) -> None:
    name = new_name()
    run = rig_runner.run_on_server("--connections", "2", "--plugin", "s",
                                   plugins=[("s", _scratch_plugin(name))])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    where = rig_server.address
    assert run.report["scratch"] == {"created": [f"database {name} at {where}",
                                                 f"table {name}.t at {where}"],
                                     "dropped": [f"database {name} at {where}"], "left": []}
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", (name,))
        assert cursor.fetchall() == ()


def test_keep_tables_keeps_them_and_says_so(rig_runner: RigRunner,
                                            rig_server: ServerDSN) -> None:
    name = new_name()
    try:
        run = rig_runner.run_on_server("--keep-tables", "--plugin", "s",
                                       plugins=[("s", _scratch_plugin(name))])
        assert run.exit_code == 0, run.stderr
        assert run.report is not None
        left = f"database {name} at {rig_server.address}"
        assert run.report["scratch"]["left"] == [left]
        assert f"kept (--keep-tables): {left}" in run.stderr
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def limited(rig_server: ServerDSN, connection: rig.Connection) -> Iterator[rig.Connection]:
    """A connection as a user with no privilege at all, and a database it cannot see."""
    user, password = f"rig_lim_{uuid.uuid4().hex[:8]}", "lim-" + uuid.uuid4().hex[:8]
    for host in ("%", "localhost"):
        connection.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
    settings = rig.ConnectionSettings(rig_server.host, rig_server.port, user,
                                      rig.Secret(password), ssl_mode=rig.SslMode.DISABLED)
    opened = rig.Connector().open(settings, "limited")
    yield opened
    opened.close()
    connection.execute(f"DROP USER IF EXISTS '{user}'@'%', '{user}'@'localhost'")


def test_a_user_who_may_not_create_the_database_is_told_what_to_grant(
        limited: rig.Connection) -> None:
    name = new_name()
    with pytest.raises(rig.ConfigError) as raised:
        rig.Scratch().database(limited, name, option="--acme-database")
    user = limited.settings.user
    assert str(raised.value) == (
        f"user {user!r} may not create database {name!r} at {limited.settings.address}: grant "
        f"it (GRANT ALL ON `{name}`.* TO '{user}'@'%'), or choose with --acme-database an "
        "empty database it may use")


def test_a_user_who_may_not_create_a_table_is_told_what_to_grant(
        limited: rig.Connection, connection: rig.Connection) -> None:
    name = new_name()
    user = limited.settings.user
    connection.execute(f"CREATE DATABASE {name}")
    try:
        connection.execute(f"GRANT SELECT ON {name}.* TO '{user}'@'%'")
        connection.execute(f"GRANT SELECT ON {name}.* TO '{user}'@'localhost'")
        scratch = rig.Scratch()
        scratch.database(limited, name)  # exists and is empty: taken, not created
        with pytest.raises(rig.ConfigError) as raised:
            scratch.create_table(limited, name, "t", "(id INT)", option="--acme-database")
        assert str(raised.value) == (
            f"user {user!r} may not create table `{name}`.`t` at {limited.settings.address}: "
            f"grant it (GRANT ALL ON `{name}`.* TO '{user}'@'%'), or choose an empty database "
            "it may use")
        assert scratch.remaining() == []
    finally:
        connection.execute(f"DROP DATABASE {name}")
