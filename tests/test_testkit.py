"""rig's test kit (``rig.testing``), as a plugin author uses it."""

from __future__ import annotations

import importlib.metadata

import pytest

import rig
from rig.testing import RigRunner, ServerDSN, make_plugin, parse_dsn


def test_is_registered_as_a_pytest_plugin() -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert [ep.value for ep in entry_points if ep.name == "rig"] == ["rig.testing"]


def test_parses_a_dsn() -> None:
    dsn = parse_dsn("mysql://app:p%40ss@db.local:4000/shop")
    assert dsn == ServerDSN("db.local", 4000, "app", "p@ss", "shop")
    assert dsn.rig_args() == ["--host", "db.local:4000", "--user", "app"]
    assert dsn.rig_env() == {"RIG_PASSWORD": "p@ss"}
    assert parse_dsn("tidb://root@127.0.0.1/") == ServerDSN("127.0.0.1", 3306)


@pytest.mark.parametrize("text", ["postgres://u@h:1/", "mysql:///db", "127.0.0.1:3306"])
def test_rejects_a_dsn_that_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"RIG_TEST_DSN must look like mysql://USER"):
        parse_dsn(text)


def test_the_database_fixture_is_new_and_empty(rig_server: ServerDSN, rig_database: str) -> None:
    connection = rig_server.connect(database=rig_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            assert cursor.fetchall() == ()
    finally:
        connection.close()
    assert rig_database.startswith("rig_test_")


def _probe(ctx: rig.Context) -> None:
    thread = ctx.require_connection().server_thread_id
    ctx.check("probe", rig.Verdict.PASS, f"server thread {thread}")


def test_runs_an_in_process_plugin_against_the_server(rig_runner: RigRunner) -> None:
    plugin = make_plugin(
        rig_register_states=lambda registry: registry.add_state("probing", _probe),
        rig_report=lambda result: {"connections": len(result.connections)},
    )
    run = rig_runner.run_on_server("--plugin", "probe", plugins=[("probe", plugin)])
    assert run.exit_code == 0, run.output
    assert run.section("probe") == {"connections": 1}
    assert run.report is not None
    assert [c["name"] for c in run.report["checks"]] == ["connection", "probe"]
    assert "PASS  probe: server thread" in run.output


def test_an_in_process_plugin_replaces_an_installed_one(rig_runner: RigRunner) -> None:
    stand_in = make_plugin(
        rig_register_states=lambda registry: registry.add_state("probing", _probe))
    run = rig_runner.run_on_server("--plugin", "basic", plugins=[("basic", stand_in)])
    assert run.exit_code == 0, run.output
    assert run.report is not None
    states = [s["name"] for s in run.report["connections"][0]["states"] if s["plugin"] == "basic"]
    assert states == ["probing"]
    assert run.report["plugins"] == [{"name": "basic", "distribution": None, "version": None}]


def test_a_failing_handler_is_reported(rig_runner: RigRunner) -> None:
    def boom(ctx: rig.Context) -> None:
        raise RuntimeError("injected")

    breaker = make_plugin(rig_register_states=lambda registry: registry.add_state("boom", boom))
    run = rig_runner.run_on_server("--plugin", "breaker", plugins=[("breaker", breaker)])
    assert run.exit_code == 3
    assert "the handler of state 'boom' (plugin breaker) raised RuntimeError: injected" in \
        run.stderr


def test_make_plugin_refuses_a_misspelt_hook() -> None:
    with pytest.raises(ValueError, match=r"rig_register_state is not a rig hook"):
        make_plugin(rig_register_state=lambda registry: None)
    other = make_plugin(load_tick=lambda: None)  # a hook another plugin adds: not checked
    assert "load_tick" in repr(other)


def test_the_callers_rig_variables_do_not_leak_in(rig_runner: RigRunner,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIG_BASIC_PING_COUNT", "0")  # invalid: the run would exit 4 if it saw it
    run = rig_runner.run_on_server("--plugin", "basic")
    assert run.exit_code == 0, run.output
    given = rig_runner.run_on_server("--plugin", "basic", env={"RIG_BASIC_PING_COUNT": "0"})
    assert given.exit_code == 4
    assert "(from env RIG_BASIC_PING_COUNT)" in given.stderr


def test_runs_without_server_or_report(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--version", report=False)
    assert run.exit_code == 0
    assert run.report is None
    assert run.args == ["--version"]
    assert run.stdout.startswith("rig ")
