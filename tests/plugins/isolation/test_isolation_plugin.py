"""The isolation plugin on a real MariaDB: the whole matrix with evidence, profiles, options,
scratch data and clean-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import rig
import rig_isolation
from rig.testing import RigRun, RigRunner
from rig_isolation import profile
from rig_isolation.catalog import ANOMALY_CODES, TEST_IDS
from rig_isolation.lockstep import parse_innodb_status
from rig_isolation.workflow import ENVIRONMENT

from isolation_helpers import eventually, objects_in, query, server_state

State = Callable[[], tuple[set[str], set[int]]]
OBSERVED = {"prevented", "anomaly"}


@pytest.fixture
def state(rig_server: Any) -> State:
    """The server's databases and client connections, now."""
    return lambda: server_state(rig_server)


@pytest.fixture
def scratch_name(rig_server: Any) -> Iterator[str]:
    """A database name no other test uses; whatever a test leaves under it is dropped."""
    name = f"rig_iso_{uuid.uuid4().hex[:10]}"
    yield name
    query(rig_server, f"DROP DATABASE IF EXISTS `{name}`")


def _isolation(runner: RigRunner, *args: str, **kwargs: Any) -> RigRun:
    return runner.run_on_server("--plugin", "isolation", *args, **kwargs)


def _one_line_error(run: RigRun) -> str:
    """The ``rig: error: ...`` line of a failed run."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("rig: error: ")]
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_the_whole_matrix_runs_with_evidence_and_leaves_nothing_behind(
        rig_runner: RigRunner, state: State, tmp_path: Path) -> None:
    databases_before, sessions_before = state()
    junit = tmp_path / "junit.xml"
    run = _isolation(rig_runner, "--junit-xml", str(junit))
    assert run.exit_code == 0, run.output
    section = run.section("isolation")
    assert list(section["tests"]) == list(rig.ISOLATION_LEVELS)
    for level, tests in section["tests"].items():
        assert list(tests) == list(TEST_IDS), level
        for test, cell in tests.items():
            assert cell["result"] in OBSERVED, (level, test, cell)
            evidence = cell["evidence"]
            assert evidence["why"] and evidence["detection"]
            assert evidence["reads"] or evidence["errors"] or evidence["final"]
    assert all(list(row) == list(ANOMALY_CODES) for row in section["anomalies"].values())
    server = section["server"]
    assert server["flavor"] == "mariadb" and server["version"] and server["default_isolation"]
    assert server["database"] == "rig_isolation" and server["database_created"] is True
    assert section["complete"] is True
    # Observations every InnoDB shows: dirty reads at read uncommitted, write locks at every
    # level, lost updates at repeatable read, locking reads at serializable.
    assert section["tests"]["read-uncommitted"]["g1a"]["result"] == "anomaly"
    assert section["tests"]["read-committed"]["g1a"]["result"] == "prevented"
    assert section["anomalies"]["repeatable-read"]["P4"] == "anomaly"
    assert set(section["anomalies"]["serializable"].values()) == {"prevented"}
    g0 = section["tests"]["repeatable-read"]["g0"]["evidence"]
    assert g0["blocked"][0]["session"] == "T2" and g0["final"] == [[1, 12], [2, 22]]
    p4 = section["tests"]["serializable"]["p4"]["evidence"]
    assert p4["errors"][0]["code"] == 1213 and p4["errors"][0]["aborted_transaction"]
    assert {"level": "repeatable-read", "anomaly": "P4", "observed": "anomaly",
            "promised": "prevented"} in section["deviations"]
    assert "level             G0" in run.stdout and "anomaly !" in run.stdout
    xml = junit.read_text()
    assert xml.count('name="serializable/g2"') == 1 and xml.count("<testcase") >= 52
    states = [s["name"] for s in run.report["connections"][0]["states"]]  # type: ignore[index]
    assert [s for s in states if s.startswith("isolation_")] == [
        "isolation_preparing", "isolation_testing", "isolation_judging", "isolation_cleaning_up"]
    databases = state()[0]
    assert "rig_isolation" not in databases and databases <= databases_before
    assert eventually(lambda: state()[1] <= sessions_before)


def test_the_database_the_run_created_is_dropped_by_rig(rig_runner: RigRunner,
                                                        rig_server: Any,
                                                        scratch_name: str) -> None:
    run = _isolation(rig_runner, "--isolation-levels", "read-committed",
                     "--isolation-tests", "g0,p4", "--isolation-database", scratch_name)
    assert run.exit_code == 0, run.output
    assert run.section("isolation")["server"]["database_created"] is True
    scratch = run.report["scratch"]  # type: ignore[index]
    created = f"database {scratch_name} at {rig_server.address}"
    assert created in scratch["created"] and created in scratch["dropped"]
    assert scratch["left"] == []
    assert scratch_name not in server_state(rig_server)[0]


def test_a_second_run_right_after_the_first_works(rig_runner: RigRunner,
                                                  state: State) -> None:
    for _ in range(2):
        run = _isolation(rig_runner, "--isolation-levels", "read-committed",
                         "--isolation-tests", "g0,p4")
        assert run.exit_code == 0, run.output
    assert "rig_isolation" not in state()[0]


def test_keep_tables_keeps_the_database_and_the_next_run_refuses_it(
        rig_runner: RigRunner, rig_server: Any, scratch_name: str) -> None:
    run = _isolation(rig_runner, "--isolation-levels", "read-committed",
                     "--isolation-tests", "g0", "--isolation-database", scratch_name,
                     "--keep-tables")
    assert run.exit_code == 0, run.output
    kept = f"database {scratch_name} at {rig_server.address}"
    scratch = run.report["scratch"]  # type: ignore[index]
    assert kept in scratch["created"] and kept in scratch["left"]
    assert scratch["dropped"] == []
    assert objects_in(rig_server, scratch_name) == {"table test"}
    assert query(rig_server, f"SELECT id, value FROM `{scratch_name}`.test ORDER BY id") \
        == [(1, 12), (2, 22)]  # what g0 left at read committed
    # The kept database now holds a table the next run did not create: it is refused, and
    # left as it is.
    again = _isolation(rig_runner, "--isolation-levels", "read-committed",
                       "--isolation-tests", "g0", "--isolation-database", scratch_name)
    assert again.exit_code == 4, again.output
    assert "holds 1 object(s) (base table test)" in _one_line_error(again)
    assert objects_in(rig_server, scratch_name) == {"table test"}


def test_an_empty_existing_database_is_used_and_kept(rig_runner: RigRunner, rig_server: Any,
                                                     rig_database: str) -> None:
    run = _isolation(rig_runner, "--isolation-levels", "read-committed",
                     "--isolation-tests", "g0,g1a", "--isolation-database", rig_database)
    assert run.exit_code == 0, run.output
    assert run.section("isolation")["server"]["database_created"] is False
    scratch = run.report["scratch"]  # type: ignore[index]
    table = f"table {rig_database}.test at {rig_server.address}"
    assert scratch == {"created": [table], "dropped": [table], "left": []}
    assert rig_database in server_state(rig_server)[0]  # the database is not the run's
    assert objects_in(rig_server, rig_database) == set()  # the table it created is gone


@pytest.mark.parametrize(("create", "held"), [
    ("CREATE TABLE `{db}`.orders (id INT PRIMARY KEY)", "base table orders"),
    ("CREATE PROCEDURE `{db}`.tally() SELECT 1", "procedure tally"),
    ("CREATE EVENT `{db}`.nightly ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY "
     "DO SELECT 1", "event nightly"),
], ids=["table", "procedure", "event"])
def test_an_existing_database_holding_anything_is_refused_and_left_alone(
        rig_runner: RigRunner, rig_server: Any, scratch_name: str, create: str,
        held: str) -> None:
    query(rig_server, f"CREATE DATABASE `{scratch_name}`")
    query(rig_server, create.format(db=scratch_name))
    before = objects_in(rig_server, scratch_name)
    run = _isolation(rig_runner, "--isolation-database", scratch_name)
    assert run.exit_code == 4, run.output
    line = _one_line_error(run)
    assert f"database '{scratch_name}' at {rig_server.address} already exists and holds 1 " \
        f"object(s) ({held})" in line
    assert "choose another --isolation-database" in run.stderr
    assert "Traceback" not in run.output
    assert scratch_name in server_state(rig_server)[0]
    assert objects_in(rig_server, scratch_name) == before and len(before) == 1
    assert run.report["scratch"]["created"] == []  # type: ignore[index]


def test_options_come_from_the_environment_under_the_plugins_prefix(
        rig_runner: RigRunner) -> None:
    run = _isolation(rig_runner, env={"RIG_ISOLATION_LEVELS": "serializable",
                                      "RIG_ISOLATION_TESTS": "g1a"})
    assert run.exit_code == 0, run.output
    assert {level: list(row) for level, row in run.section("isolation")["tests"].items()} == {
        "serializable": ["g1a"]}


def test_the_shipped_profile_matches_mariadb_10_11(rig_runner: RigRunner) -> None:
    probe = _isolation(rig_runner, "--isolation-levels", "read-committed",
                       "--isolation-tests", "g0")
    server = probe.section("isolation")["server"]
    if server["flavor"] != "mariadb" or not server["version"].startswith("10.11"):
        pytest.skip(f"the shipped profile is MariaDB 10.11's; this is {server['version']}")
    run = _isolation(rig_runner, "--isolation-expect", "mariadb-10.11")
    assert run.exit_code == 0, run.output
    assert "matches" in run.stdout


def test_expect_with_a_mismatching_profile_exits_1_and_names_the_cell(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    expected = tmp_path / "wrong.json"
    expected.write_text(json.dumps({"repeatable-read": {"p4": "prevented", "g0": "prevented"}}))
    run = _isolation(rig_runner, "--isolation-levels", "repeatable-read",
                     "--isolation-tests", "g0,p4", "--isolation-expect", str(expected))
    assert run.exit_code == 1
    assert "repeatable-read/p4: expected prevented, observed anomaly" in run.stdout
    assert "repeatable-read/g0: expected" not in run.stdout
    differences = run.section("isolation")["expect"]["differences"]
    assert differences == [{"level": "repeatable-read", "test": "p4",
                            "expected": "prevented", "observed": "anomaly"}]
    verdicts = {c["name"]: c["verdict"] for c in run.report["checks"]}  # type: ignore[index]
    assert verdicts["repeatable-read/p4"] == "fail" and verdicts["repeatable-read/g0"] == "pass"


@pytest.mark.parametrize("name", ["observed.toml", "observed.json"])
def test_save_profile_round_trips(rig_runner: RigRunner, tmp_path: Path, name: str) -> None:
    saved = tmp_path / name
    first = _isolation(rig_runner, "--isolation-levels", "read-uncommitted,serializable",
                       "--isolation-tests", "g1a,g2", "--isolation-save-profile", str(saved))
    assert first.exit_code == 0, first.output
    observed = {level: {test: cell["result"] for test, cell in tests.items()}
                for level, tests in first.section("isolation")["tests"].items()}
    assert profile.load(str(saved)) == observed
    assert "mariadb" in saved.read_text()  # says which server produced it
    again = _isolation(rig_runner, "--isolation-levels", "read-uncommitted,serializable",
                       "--isolation-tests", "g1a,g2", "--isolation-expect", str(saved))
    assert again.exit_code == 0, again.output


def test_an_unwritable_save_profile_is_refused_before_the_run(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    target = blocker / "observed.toml"
    run = _isolation(rig_runner, "--isolation-save-profile", str(target), report=False)
    assert run.exit_code == 4
    assert run.stderr == (f"rig: error: argument --isolation-save-profile: invalid value "
                          f"'{target}': {blocker} is not a directory: choose a path in a "
                          "directory (from command line)\n")
    assert run.stdout == ""  # the run never began: no summary
    assert blocker.read_text() == "keep me"


def test_a_save_profile_that_fails_when_written_is_one_line(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    """The path was fine when the run began; it became a directory meanwhile."""
    target = tmp_path / "observed.toml"

    class Taker:
        @rig.hookimpl
        def rig_state_enter(self, state: str) -> None:
            if state == "isolation_judging":
                target.mkdir()

    run = _isolation(rig_runner, "--isolation-levels", "serializable", "--isolation-tests",
                     "g0", "--isolation-save-profile", str(target), "--plugin", "taker",
                     plugins=[("taker", Taker())])
    assert run.exit_code == 4, run.output
    assert _one_line_error(run) == (f"rig: error: cannot write --isolation-save-profile "
                                    f"{target}: is a directory: check the path")


def test_clean_up_runs_after_a_failure(rig_runner: RigRunner, state: State) -> None:
    class Breaks:
        @rig.hookimpl
        def rig_state_enter(self, state: str) -> None:
            if state == "isolation_judging":
                raise RuntimeError("boom")

    sessions_before = state()[1]
    run = _isolation(rig_runner, "--plugin", "breaks", "--isolation-levels", "serializable",
                     "--isolation-tests", "g0,g2", plugins=[("breaks", Breaks())])
    assert run.exit_code == 3
    assert "rig_isolation" not in state()[0]
    assert eventually(lambda: state()[1] <= sessions_before)
    states = [s["name"] for s in run.report["connections"][0]["states"]]  # type: ignore[index]
    assert "isolation_cleaning_up" in states


def _kills(server: Any) -> int:
    return int(query(server, "SHOW GLOBAL STATUS LIKE 'Com_kill'")[0][1])


def test_clean_up_kills_a_session_the_run_left_on_the_server(rig_runner: RigRunner,
                                                             rig_server: Any,
                                                             state: State) -> None:
    """A session of the run's still on the server when the clean-up starts (as after Ctrl-C
    in a blocked step), holding a row lock in the test table: the clean-up kills it."""
    left: list[int] = []

    class LeavesASession:
        @rig.hookimpl
        def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
            if state == "isolation_cleaning_up":
                env = ctx.data[ENVIRONMENT]
                session = ctx.open_connection(database=env.database)
                session.execute("BEGIN")
                session.execute("UPDATE test SET value = 0 WHERE id = 1")
                env.session_ids.add(session.server_thread_id)
                left.append(session.server_thread_id)

    kills_before = _kills(rig_server)
    run = _isolation(rig_runner, "--plugin", "leaves", "--isolation-levels", "read-committed",
                     "--isolation-tests", "g0", plugins=[("leaves", LeavesASession())])
    assert run.exit_code == 0, run.output
    assert len(left) == 1 and left[0] not in state()[1]
    assert _kills(rig_server) >= kills_before + 1
    assert "rig_isolation" not in state()[0]


def test_snapshot_isolation_both_runs_the_matrix_twice(rig_runner: RigRunner) -> None:
    run = _isolation(rig_runner, "--isolation-levels", "repeatable-read",
                     "--isolation-tests", "p4", "--isolation-snapshot", "both")
    if run.exit_code == 4 and "innodb_snapshot_isolation" in run.stderr:
        pytest.skip("this server has no innodb_snapshot_isolation")
    assert run.exit_code == 0, run.output
    tests = run.section("isolation")["tests"]
    assert tests["repeatable-read"]["p4"]["result"] == "anomaly"
    on = tests["repeatable-read+snapshot-isolation"]["p4"]
    assert on["result"] == "prevented"
    assert on["evidence"]["errors"][0]["code"] == 1020
    assert run.section("isolation")["server"]["snapshot_isolation_runs"] == ["OFF", "ON"]


def test_several_connections_use_one_database_each(rig_runner: RigRunner,
                                                   state: State) -> None:
    run = _isolation(rig_runner, "--connections", "2", "--isolation-levels", "read-committed",
                     "--isolation-tests", "g0")
    assert run.exit_code == 0, run.output
    connections = run.section("isolation")["connections"]
    assert {c["server"]["database"] for c in connections.values()} == {
        "rig_isolation_c1", "rig_isolation_c2"}
    assert not {"rig_isolation_c1", "rig_isolation_c2"} & state()[0]


@pytest.mark.parametrize(("args", "message"), [
    (["--isolation-levels", "read-sometimes"], "argument --isolation-levels: invalid value "
     "'read-sometimes': unknown read-sometimes; choose from read-uncommitted"),
    (["--isolation-levels", ","], "argument --isolation-levels: invalid value []: name at "
     "least one isolation level"),
    (["--isolation-tests", "g9"], "argument --isolation-tests: invalid value 'g9': unknown g9"),
    (["--isolation-tests", ","], "argument --isolation-tests: invalid value []: name at least "
     "one test"),
    (["--isolation-block-timeout", "0"], "argument --isolation-block-timeout: invalid value "
     "'0': must be a number greater than 0"),
    (["--isolation-block-detection", "guess"], "argument --isolation-block-detection: invalid "
     "value 'guess': choose from server, timeout"),
    (["--isolation-txn-mode", "lazy"], "argument --isolation-txn-mode: invalid value 'lazy': "
     "choose from optimistic, pessimistic"),
    (["--isolation-snapshot", "maybe"], "argument --isolation-snapshot: invalid value 'maybe': "
     "choose from on, off, both"),
    (["--isolation-database", ""], "argument --isolation-database: invalid value '': give a "
     "database name"),
    (["--isolation-database", "d" * 65], "argument --isolation-database: invalid value "
     f"'{'d' * 65}': a database name has at most 64 characters"),
    (["--isolation-expect", "/no/such/profile.toml"], "argument --isolation-expect: invalid "
     "value '/no/such/profile.toml': no such file (shipped profiles: mariadb-10.11, "
     "tidb-8.5-optimistic, tidb-8.5-pessimistic)"),
])
def test_bad_options_exit_4_with_one_clear_line(rig_runner: RigRunner, args: list[str],
                                                message: str) -> None:
    run = _isolation(rig_runner, *args)
    assert run.exit_code == 4, run.output
    assert message in _one_line_error(run)
    assert "Traceback" not in run.output


@pytest.mark.parametrize("old", ["--levels", "--tests", "--block-timeout", "--block-detection",
                                 "--snapshot-isolation", "--expect",
                                 "--save-profile"])
def test_the_options_names_before_0_2_are_gone(rig_runner: RigRunner, old: str) -> None:
    run = _isolation(rig_runner, old, "x")
    assert run.exit_code == 4, run.output
    assert f"unrecognized arguments: {old} x" in _one_line_error(run)


@pytest.mark.parametrize(("content", "message"), [
    ('["repeatable-read"]\np4 = "sometimes"\n', "repeatable-read.p4 = 'sometimes'; results are "
     "prevented, anomaly, unsupported, error"),
    ('["repeatable-read"]\np5 = "anomaly"\n', "unknown test 'p5' under repeatable-read"),
    ('["snapshot"]\np4 = "anomaly"\n', "unknown level 'snapshot'"),
    ('["repeatable-read"\n', "not valid TOML"),
    ('[about]\nserver = "x"\n', "it holds no level"),
])
def test_a_bad_profile_exits_4_naming_the_problem(rig_runner: RigRunner, tmp_path: Path,
                                                  content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    run = _isolation(rig_runner, "--isolation-expect", str(path))
    assert run.exit_code == 4, run.output
    line = _one_line_error(run)
    assert "argument --isolation-expect" in line and message in line


@pytest.mark.parametrize("flag", ["--isolation-txn-mode", "--txn-mode"])
def test_txn_mode_needs_tidb(rig_runner: RigRunner, state: State, flag: str) -> None:
    run = _isolation(rig_runner, flag, "optimistic")
    assert run.exit_code == 4
    line = _one_line_error(run)
    assert f"{flag} optimistic needs TiDB, but the server is mariadb" in line
    assert f"drop {flag}" in run.stderr
    assert "rig_isolation" not in state()[0]


def test_the_plugin_is_found_through_its_entry_point() -> None:
    from importlib.metadata import entry_points, version

    found = [ep for ep in entry_points(group="rig.plugins") if ep.name == "isolation"]
    assert found and found[0].load() is rig_isolation
    assert rig_isolation.__version__ == version("rig-plugin-isolation") == "0.2.0"


def test_ctrl_c_stops_the_run_and_cleans_up(rig_server: Any, state: State,
                                            tmp_path: Path) -> None:
    """A real ``rig`` process, interrupted with SIGINT while one of its steps waits on a lock
    (``--isolation-block-detection timeout`` keeps each blocked step waiting a second)."""
    database = "rig_iso_interrupted"
    report = tmp_path / "report.json"
    sessions_before = state()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    environ.update(rig_server.rig_env())
    process = subprocess.Popen(
        [sys.executable, "-m", "rig", *rig_server.rig_args(), "--plugin", "isolation",
         "--isolation-block-detection", "timeout", "--isolation-database", database,
         "--report-json", str(report)],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def blocked_step() -> bool:
        # SHOW ENGINE INNODB STATUS is live; INNODB_TRX is a cache that polling keeps stale.
        waits = parse_innodb_status(query(rig_server, "SHOW ENGINE INNODB STATUS"))
        return any("rig-lockstep" in text for _thread, text in waits)

    try:
        assert eventually(blocked_step, timeout=60)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, err
    assert "interrupted" in err
    assert database not in state()[0]
    assert eventually(lambda: state()[1] <= sessions_before)
    written = json.loads(report.read_text())
    assert "isolation_cleaning_up" in [s["name"] for s in written["connections"][0]["states"]]
    assert f"database {database} at {rig_server.address}" in written["scratch"]["dropped"]


def test_options_come_from_the_plugins_table_in_rig_toml(rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "rig.toml").write_text(
        '[isolation]\nlevels = "read-committed"\ntests = "g0,p4"\nblock-timeout = 2.5\n')
    run = _isolation(rig_runner)
    assert run.exit_code == 0, run.output
    section = run.section("isolation")
    assert {level: list(row) for level, row in section["tests"].items()} == {
        "read-committed": ["g0", "p4"]}
    assert section["server"]["block_timeout_s"] == 2.5


def test_a_database_name_too_long_for_the_per_connection_suffix_is_one_usage_line(
        rig_runner: RigRunner) -> None:
    """With several connections each gets ``NAME_cN``: a name the suffix pushes past 64
    characters is refused before connecting (it was two raw 1102 errors from the server)."""
    run = rig_runner.run_on_server("--plugin", "isolation", "--connections", "2",
                                   "--isolation-database", "d" * 62, report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: argument --isolation-database: invalid value " \
        f"'{'d' * 62}': at most 61 characters with 2 connections: each gets its own database, " \
        "named with _c1 … _c2 appended (from command line)\n"


def test_the_shipped_profile_of_the_server_is_used_unless_none(rig_runner: RigRunner) -> None:
    auto = _isolation(rig_runner, "--isolation-tests", "g0,p4")
    none = _isolation(rig_runner, "--isolation-tests", "g0,p4", "--isolation-expect", "none")

    assert auto.exit_code == none.exit_code == 0, auto.output + none.output
    server = auto.section("isolation")["server"]
    if server["flavor"] != "mariadb" or not server["version"].startswith("10.11.") or \
            server.get("innodb_snapshot_isolation") != "OFF":
        pytest.skip("needs MariaDB 10.11 with innodb_snapshot_isolation=OFF")
    expect = auto.section("isolation")["expect"]
    assert expect["profile"].endswith("mariadb-10.11.toml") and expect["differences"] == []
    assert none.section("isolation")["expect"] is None
    [p4] = [c for c in auto.report["checks"] if c["name"] == "repeatable-read/p4"]
    assert p4["detail"].startswith("anomaly as expected: ")
