"""The python_demo reference plugin, against a real server through rig's test kit.

The plugin is used as installed (``pip install -e plugins/python_demo``), through its entry
point, exactly as a user runs it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rig
import rig_python_demo
from rig.testing import RigRun, RigRunner, ServerDSN

DEMO_STATES = ["python_demo_creating_table", "python_demo_populating_data",
               "python_demo_querying", "python_demo_verifying", "python_demo_cleaning_up"]


def _query(server: ServerDSN, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
    finally:
        connection.close()


def _schemas(server: ServerDSN, name: str) -> list[str]:
    return [row[0] for row in _query(server, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                                             "WHERE SCHEMA_NAME = %s", name)]


def _tables(server: ServerDSN, database: str) -> list[str]:
    return sorted(row[0] for row in _query(server, "SELECT TABLE_NAME FROM "
                                                   "information_schema.TABLES "
                                                   "WHERE TABLE_SCHEMA = %s", database))


def _checks(run: RigRun) -> dict[tuple[str, str], dict[str, Any]]:
    assert run.report is not None, run.output
    return {(c["connection"], c["name"]): c for c in run.report["checks"]}


def _demo_states(run: RigRun, connection: int = 0) -> list[str]:
    assert run.report is not None, run.output
    states = run.report["connections"][connection]["states"]
    return [s["name"] for s in states if s["plugin"] == "python_demo"]


def _expected_total(rows: int) -> int:
    return sum(rig_python_demo.amount_of(i) for i in range(1, rows + 1))


@pytest.fixture
def drop_afterwards(rig_server: ServerDSN) -> Iterator[list[str]]:
    """Databases a test kept on purpose (--keep-tables), dropped after it."""
    names: list[str] = []
    yield names
    for name in names:
        _query(rig_server, f"DROP DATABASE IF EXISTS `{name}`")


def test_runs_the_workflow_and_leaves_nothing_behind(rig_runner: RigRunner,
                                                     rig_server: ServerDSN) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", "50")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")["c1"]
    assert section["rows_inserted"] == 50
    assert section["totals"]["count"] == 50
    assert section["totals"]["total"] == _expected_total(50)
    assert section["cleanup_ran"] is True
    assert section["table"] == "rig_demo_c1"
    assert section["scratch_database"] is True
    database = section["database"]
    assert database.startswith("rig_python_demo_")
    assert _demo_states(run) == DEMO_STATES
    assert _checks(run)[("c1", "python_demo_rows")]["verdict"] == "pass"
    # The plugin drops nothing itself: the core dropped the scratch database at the end.
    assert _schemas(rig_server, database) == []
    assert run.report is not None
    scratch = run.report["scratch"]
    assert f"database {database} at {rig_server.address}" in scratch["created"]
    assert f"table {database}.rig_demo_c1 at {rig_server.address}" in scratch["created"]
    assert scratch["dropped"] == [f"database {database} at {rig_server.address}"]
    assert scratch["left"] == []
    [event] = [e for e in run.report["timeline"] if e["source"] == "python_demo"]
    assert (event["name"], event["connection"], event["data"]["rows"]) == \
        ("python_demo.populated", "c1", 50)
    assert f"c1  python_demo table {database}.rig_demo_c1: 50 rows inserted, read back 50" \
        in run.stdout


def test_batches_past_one_insert_statement(rig_runner: RigRunner) -> None:
    rows = rig_python_demo.INSERT_BATCH * 2 + 3
    run = rig_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", str(rows))
    assert run.exit_code == 0, run.output
    assert run.section("python_demo")["c1"]["totals"]["count"] == rows


def test_uses_the_given_database_and_leaves_only_what_was_there(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--database", rig_database,
                                   "--python-demo-table", "odd `name`; x",
                                   "--python-demo-rows", "5")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")["c1"]
    assert (section["database"], section["table"]) == (rig_database, "odd `name`; x_c1")
    assert section["scratch_database"] is False
    assert _schemas(rig_server, rig_database) == [rig_database]
    assert _tables(rig_server, rig_database) == []
    assert run.report is not None
    assert run.report["scratch"]["dropped"] == [
        f"table {rig_database}.odd `name`; x_c1 at {rig_server.address}"]


def test_keep_tables_keeps_the_scratch_database(rig_runner: RigRunner, rig_server: ServerDSN,
                                                drop_afterwards: list[str]) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", "7",
                                   "--keep-tables")
    section = run.section("python_demo")["c1"]
    drop_afterwards.append(section["database"])
    assert run.exit_code == 0, run.output
    assert _schemas(rig_server, section["database"]) == [section["database"]]
    assert _query(rig_server, f"SELECT COUNT(*) FROM `{section['database']}`.rig_demo_c1") == \
        [(7,)]
    assert run.report is not None
    assert run.report["scratch"]["dropped"] == []
    assert f"database {section['database']} at {rig_server.address}" in \
        run.report["scratch"]["left"]
    assert "(kept: --keep-tables)" in run.stdout


def test_keep_tables_keeps_the_table_in_the_given_database(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--database", rig_database,
                                   "--python-demo-rows", "3", "--keep-tables")
    assert run.exit_code == 0, run.output
    assert _tables(rig_server, rig_database) == ["rig_demo_c1"]


def test_never_takes_over_an_existing_table(rig_runner: RigRunner, rig_server: ServerDSN,
                                            rig_database: str) -> None:
    connection = rig_server.connect(database=rig_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE rig_demo_c1 (keep INT)")
            cursor.execute("INSERT INTO rig_demo_c1 VALUES (42)")
    finally:
        connection.close()
    run = rig_runner.run_on_server("--plugin", "python_demo", "--database", rig_database)
    assert run.exit_code == 4, run.output
    assert (f"rig: error: table {rig_database}.rig_demo_c1 at {rig_server.address} already "
            "exists; rig never changes what it did not create: drop it, or choose another "
            "--python-demo-table\n") in run.stderr
    assert "Traceback" not in run.stderr
    # Untouched: the same table, the same columns, the same row, and nothing else created.
    assert _tables(rig_server, rig_database) == ["rig_demo_c1"]
    assert _query(rig_server, f"SELECT * FROM `{rig_database}`.rig_demo_c1") == [(42,)]
    assert [row[0] for row in _query(
        rig_server, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "AND TABLE_NAME = 'rig_demo_c1'", rig_database)] == ["keep"]
    assert run.report is not None
    assert run.report["scratch"] == {"created": [], "dropped": [], "left": []}
    assert run.section("python_demo")["c1"]["table"] is None


class FailAt:
    """An in-process observer plugin that breaks the run when a connection enters a state."""

    def __init__(self, state: str) -> None:
        self.state = state

    @rig.hookimpl
    def rig_state_enter(self, state: str) -> None:
        if state == self.state:
            raise RuntimeError(f"injected failure entering {state}")


@pytest.mark.parametrize("state", ["python_demo_populating_data", "python_demo_querying"])
def test_cleanup_runs_after_a_failure_and_the_core_drops_the_data(
        rig_runner: RigRunner, rig_server: ServerDSN, state: str) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo,breaker",
                                   plugins=[("breaker", FailAt(state))])
    assert run.exit_code == 3, run.output
    assert f"injected failure entering {state}" in run.stderr
    section = run.section("python_demo")["c1"]
    assert section["cleanup_ran"] is True
    assert _demo_states(run)[-1] == "python_demo_cleaning_up"
    assert _schemas(rig_server, section["database"]) == []


class RefuseRow:
    """An in-process plugin that makes the server refuse one row of the demo table (a trigger),
    so that populating fails half-way, after the progress line was drawn."""

    def __init__(self, row: int) -> None:
        self.row = row

    @rig.hookimpl
    def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
        if state == "python_demo_populating_data":
            place = ctx.data[rig_python_demo.TABLE]
            ctx.require_connection().execute(
                f"CREATE TRIGGER {rig.quote_identifier(place.database)}.refuse_row "
                f"BEFORE INSERT ON {place.qualified} FOR EACH ROW "
                f"IF NEW.id = {self.row} THEN "
                "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'row refused by the test'; END IF")


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, so that rig draws its live block on it."""

    def isatty(self) -> bool:
        return True


def _run_on_a_terminal(server: ServerDSN, workdir: Path, *args: str,
                       plugins: list[tuple[str, Any]]) -> tuple[int, str, dict[str, Any]]:
    """rig ARGS with stderr on a (fake) terminal: exit code, stderr and the JSON report."""
    report = workdir / "report.json"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    environ.update(server.rig_env(), TERM="xterm", COLUMNS="100", NO_COLOR="1")
    err = FakeTerminal()
    code = rig.run([*server.rig_args(), *args, "--report-json", str(report)], environ=environ,
                   plugins=plugins, cwd=workdir, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue(), json.loads(report.read_text())


def test_a_failure_while_populating_never_leaves_a_half_drawn_line(
        rig_server: ServerDSN, tmp_path: Path) -> None:
    code, err, report = _run_on_a_terminal(
        rig_server, tmp_path, "--plugin", "python_demo,refuse", "--python-demo-rows", "1200",
        plugins=[("refuse", RefuseRow(700))])
    assert code == 3, err
    assert "row refused by the test" in err
    assert report["sections"]["python_demo"]["c1"]["rows_inserted"] == 500
    # The live line was drawn after the first batch, and the cleanup state ended it: its last
    # drawing is followed by a line break, and everything after it is plain lines (an
    # unfinished block would be erased and redrawn around each of them, and stay last).
    drawn = "c1 python_demo: 500/1200 rows (41%)"
    assert drawn in err
    assert err[err.rindex(drawn) + len(drawn):].startswith("\n"), repr(err[-300:])
    tail = err[err.rindex(drawn):]
    assert "\x1b[" not in tail
    assert tail.endswith("\n")
    assert "rig: error: " in tail
    assert report["scratch"]["left"] == []


def test_each_connection_has_its_own_live_line(rig_server: ServerDSN, tmp_path: Path) -> None:
    code, err, report = _run_on_a_terminal(
        rig_server, tmp_path, "--plugin", "python_demo", "--connections", "2",
        "--python-demo-rows", "1200", plugins=[])
    assert code == 0, err
    finished = [f"{connection} python_demo: 1200/1200 rows (100%)" for connection in ("c1", "c2")]
    for line in finished:
        assert err[err.rindex(line) + len(line):].startswith("\n"), repr(err)
    # The block was ended: after the last drawing come plain lines only.
    tail = err[max(err.rindex(line) for line in finished):]
    assert "\x1b[" not in tail
    assert tail.endswith("\n")
    assert "inserted 1200/1200 rows" not in err  # no progress log lines when there is a line
    assert report["exit_code"] == 0


def test_without_a_terminal_progress_goes_to_log_lines(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", "600")
    assert run.exit_code == 0, run.output
    assert "\x1b[" not in run.stderr
    assert "python_demo: 600/600 rows" not in run.stderr
    assert "inserted 600 rows into `rig_python_demo_" in run.stderr


class DeleteARow:
    """An in-process plugin that deletes a row behind the demo's back before it reads."""

    @rig.hookimpl
    def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
        if state == "python_demo_querying":
            place = ctx.data[rig_python_demo.TABLE]
            ctx.require_connection().execute(f"DELETE FROM {place.qualified} WHERE id = 3")


def test_a_wrong_table_fails_the_check(rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo,tamper", "--python-demo-rows", "10",
                                   plugins=[("tamper", DeleteARow())])
    assert run.exit_code == 1, run.output
    check = _checks(run)[("c1", "python_demo_rows")]
    assert check["verdict"] == "fail"
    expected_total = _expected_total(10)
    missing = rig_python_demo.amount_of(3)
    assert check["detail"] == (f"expected 10 rows summing to {expected_total}, found 9 summing "
                               f"to {expected_total - missing}")
    section = run.section("python_demo")["c1"]
    assert section["cleanup_ran"] is True
    assert _schemas(rig_server, section["database"]) == []


def test_each_connection_has_its_own_table(rig_runner: RigRunner, rig_server: ServerDSN) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", "--connections", "2",
                                   "--python-demo-rows", "10")
    assert run.exit_code == 0, run.output
    section = run.section("python_demo")
    assert {entry["table"] for entry in section.values()} == {"rig_demo_c1", "rig_demo_c2"}
    # One scratch database for the run, shared by its connections, dropped at the end.
    [database] = {entry["database"] for entry in section.values()}
    for entry in section.values():
        assert entry["totals"]["count"] == 10
    assert _schemas(rig_server, database) == []


@pytest.mark.parametrize("toml", ["[python_demo]\nrows = 9\n", "python-demo-rows = 9\n"])
def test_options_come_from_environment_and_config_file(rig_runner: RigRunner,
                                                       toml: str) -> None:
    (rig_runner.workdir / "rig.toml").write_text(toml)
    from_file = rig_runner.run_on_server("--plugin", "python_demo")
    from_env = rig_runner.run_on_server("--plugin", "python_demo",
                                        env={"RIG_PYTHON_DEMO_ROWS": "7"})
    from_cli = rig_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", "3",
                                        env={"RIG_PYTHON_DEMO_ROWS": "7"})
    counts = [run.section("python_demo")["c1"]["rows_inserted"]
              for run in (from_file, from_env, from_cli)]
    assert counts == [9, 7, 3]


def test_options_have_their_own_help_group(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--help", report=False)
    assert run.exit_code == 0
    group = run.stdout.split("python_demo plugin:", 1)[1]
    assert "--python-demo-rows N" in group
    assert "--python-demo-table NAME" in group
    assert "--demo-rows" not in run.stdout.replace("--python-demo-rows", "")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--python-demo-rows", "0"], {},
     "rig: error: argument --python-demo-rows: invalid value '0': must be a whole number of at "
     "least 1"),
    ([], {"RIG_PYTHON_DEMO_ROWS": "many"},
     "invalid value 'many': must be a whole number (from env RIG_PYTHON_DEMO_ROWS)"),
    (["--python-demo-table", " "], {},
     "rig: error: argument --python-demo-table: invalid value ' ': give a table name "
     "(from command line)"),
    (["--python-demo-table", "t" * 62], {},
     "invalid value 'ttttt"),
    (["--python-demo-table", "t" * 62], {},
     "at most 61 characters: the connection id is appended (up to _c1)"),
    (["--python-demo-table", "t" * 61, "--connections", "12"], {},
     "at most 60 characters: the connection id is appended (up to _c12)"),
    (["--python-demo-table", "t\x1bx"], {},
     "invalid value 't\\x1bx': holds a control character (\\x1b): remove it"),
    (["--demo-rows", "5"], {}, "unrecognized arguments: --demo-rows"),
])
def test_bad_values_are_usage_errors(rig_runner: RigRunner, args: list[str],
                                     env: dict[str, str], message: str) -> None:
    run = rig_runner.run_on_server("--plugin", "python_demo", *args, env=env)
    assert run.exit_code == 4
    assert message in run.stderr
    assert "Traceback" not in run.stderr
