"""The python_demo reference plugin, against a real server through rig's test kit.

The plugin is used as installed (``pip install -e plugins/python_demo``), through its entry
point, exactly as a user runs it.
"""

from __future__ import annotations

from typing import Any

import pytest

import rig
import rig_python_demo
from rig.testing import RigRun, RigRunner, ServerDSN


def _schemas(server: ServerDSN, name: str) -> list[str]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                           "WHERE SCHEMA_NAME = %s", (name,))
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _tables(server: ServerDSN, database: str) -> list[str]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = %s", (database,))
            return sorted(row[0] for row in cursor.fetchall())
    finally:
        connection.close()


def _checks(run: RigRun) -> dict[tuple[str, str], dict[str, Any]]:
    assert run.report is not None, run.output
    return {(c["connection"], c["name"]): c for c in run.report["checks"]}


def _demo_states(run: RigRun, connection: int = 0) -> list[str]:
    assert run.report is not None, run.output
    states = run.report["connections"][connection]["states"]
    return [s["name"] for s in states if s["plugin"] == "python_demo"]


def test_runs_the_workflow_and_leaves_nothing_behind(rig_runner: RigRunner,
                                                     rig_server: ServerDSN) -> None:
    run = rig_runner.run("--plugin", "python_demo", "--demo-rows", "50")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")["c1"]
    assert section["rows_inserted"] == 50
    expected_total = sum(rig_python_demo.amount_of(i) for i in range(1, 51))
    assert section["totals"]["count"] == 50
    assert section["totals"]["total"] == expected_total
    assert section["cleaned_up"] is True
    assert section["table"] == "rig_demo_c1"
    assert _demo_states(run) == ["demo_creating_table", "demo_populating_data",
                                 "demo_querying", "demo_verifying", "demo_cleaning_up"]
    assert _checks(run)[("c1", "demo_rows")]["verdict"] == "pass"
    assert _schemas(rig_server, section["database"]) == []
    assert "rows inserted, read back 50, dropped" in run.stdout


def test_batches_past_one_insert_statement(rig_runner: RigRunner) -> None:
    rows = rig_python_demo.INSERT_BATCH * 2 + 3
    run = rig_runner.run("--plugin", "python_demo", "--demo-rows", str(rows))
    assert run.exit_code == 0, run.output
    assert run.section("python_demo")["c1"]["totals"]["count"] == rows


def test_uses_the_given_database_and_drops_only_its_table(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str) -> None:
    run = rig_runner.run("--plugin", "python_demo", "--database", rig_database,
                         "--demo-table", "odd `name`; x", "--demo-rows", "5")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")["c1"]
    assert (section["database"], section["table"]) == (rig_database, "odd `name`; x_c1")
    assert _schemas(rig_server, rig_database) == [rig_database]
    assert _tables(rig_server, rig_database) == []


def test_never_takes_over_an_existing_table(rig_runner: RigRunner, rig_server: ServerDSN,
                                            rig_database: str) -> None:
    connection = rig_server.connect(database=rig_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE rig_demo_c1 (keep INT)")
            cursor.execute("INSERT INTO rig_demo_c1 VALUES (42)")
    finally:
        connection.close()
    run = rig_runner.run("--plugin", "python_demo", "--database", rig_database)
    assert run.exit_code == 4, run.output
    assert f"table {rig_database}.rig_demo_c1 already exists" in run.stderr
    assert "choose another --demo-table" in run.stderr
    assert _tables(rig_server, rig_database) == ["rig_demo_c1"]
    assert run.section("python_demo")["c1"]["cleaned_up"] is False


class FailAt:
    """An in-process observer plugin that breaks the run when a connection enters a state."""

    def __init__(self, state: str) -> None:
        self.state = state

    @rig.hookimpl
    def rig_state_enter(self, state: str) -> None:
        if state == self.state:
            raise RuntimeError(f"injected failure entering {state}")


@pytest.mark.parametrize("state", ["demo_populating_data", "demo_querying"])
def test_cleans_up_after_a_failure(rig_runner: RigRunner, rig_server: ServerDSN,
                                   state: str) -> None:
    run = rig_runner.run("--plugin", "python_demo,breaker",
                         plugins=[("breaker", FailAt(state))])
    assert run.exit_code == 3, run.output
    assert f"injected failure entering {state}" in run.stderr
    section = run.section("python_demo")["c1"]
    assert section["cleaned_up"] is True
    assert _demo_states(run)[-1] == "demo_cleaning_up"
    assert _schemas(rig_server, section["database"]) == []


class DeleteARow:
    """An in-process plugin that deletes a row behind the demo's back before it reads."""

    @rig.hookimpl
    def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
        if state == "demo_querying":
            place = ctx.data[rig_python_demo.TABLE]
            ctx.require_connection().execute(f"DELETE FROM {place.qualified} WHERE id = 3")


def test_a_wrong_table_fails_the_check_and_still_cleans_up(rig_runner: RigRunner,
                                                            rig_server: ServerDSN) -> None:
    run = rig_runner.run("--plugin", "python_demo,tamper", "--demo-rows", "10",
                         plugins=[("tamper", DeleteARow())])
    assert run.exit_code == 1, run.output
    check = _checks(run)[("c1", "demo_rows")]
    assert check["verdict"] == "fail"
    expected_total = sum(rig_python_demo.amount_of(i) for i in range(1, 11))
    missing = rig_python_demo.amount_of(3)
    assert check["detail"] == (f"expected 10 rows summing to {expected_total}, found 9 summing "
                               f"to {expected_total - missing}")
    section = run.section("python_demo")["c1"]
    assert section["cleaned_up"] is True
    assert _schemas(rig_server, section["database"]) == []


def test_each_connection_has_its_own_table(rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run("--plugin", "python_demo", "--connections", "2", "--demo-rows", "10")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")
    assert {entry["table"] for entry in section.values()} == {"rig_demo_c1", "rig_demo_c2"}
    for entry in section.values():
        assert entry["totals"]["count"] == 10
        assert _schemas(rig_server, entry["database"]) == []


def test_options_come_from_environment_and_config_file(rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "rig.toml").write_text('[python_demo]\ndemo-rows = 9\n')
    from_file = rig_runner.run("--plugin", "python_demo")
    from_env = rig_runner.run("--plugin", "python_demo", env={"RIG_DEMO_ROWS": "7"})
    from_cli = rig_runner.run("--plugin", "python_demo", "--demo-rows", "3",
                              env={"RIG_DEMO_ROWS": "7"})
    counts = [run.section("python_demo")["c1"]["rows_inserted"]
              for run in (from_file, from_env, from_cli)]
    assert counts == [9, 7, 3]


def test_options_have_their_own_help_group(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--help", target_server=False, report=False)
    assert run.exit_code == 0
    group = run.stdout.split("python_demo plugin:", 1)[1]
    assert "--demo-rows N" in group
    assert "--demo-table NAME" in group


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--demo-rows", "0"], {}, "argument --demo-rows: invalid value '0': must be a whole "
                               "number of at least 1"),
    ([], {"RIG_DEMO_ROWS": "many"}, "invalid value 'many': must be a whole number "
                                    "(from env RIG_DEMO_ROWS)"),
    (["--demo-table", " "], {}, "argument --demo-table: invalid value ' ': give a table name"),
    (["--demo-table", "t" * 49], {}, "at most 48 characters"),
])
def test_bad_values_are_usage_errors(rig_runner: RigRunner, args: list[str],
                                     env: dict[str, str], message: str) -> None:
    run = rig_runner.run("--plugin", "python_demo", *args, env=env)
    assert run.exit_code == 4
    assert message in run.stderr
    assert "Traceback" not in run.stderr
