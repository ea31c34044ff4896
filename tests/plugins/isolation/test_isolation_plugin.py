"""The isolation plugin on a real MariaDB: the whole matrix with evidence, profiles, options,
clean-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rig
import rig_isolation
from rig.testing import RigRunner
from rig_isolation import profile
from rig_isolation.catalog import ANOMALY_CODES, TEST_IDS

from isolation_helpers import eventually, server_state

State = Callable[[], tuple[set[str], set[int]]]


@pytest.fixture
def state(rig_server: Any) -> State:
    """The server's databases and client connections, now."""
    return lambda: server_state(rig_server)
OBSERVED = {"prevented", "anomaly"}


def _isolation(runner: RigRunner, *args: str, **kwargs: Any) -> Any:
    return runner.run("--plugin", "isolation", *args, **kwargs)


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
    databases = state()[0]
    assert "rig_isolation" not in databases and databases <= databases_before
    assert eventually(lambda: state()[1] <= sessions_before)


def test_a_second_run_right_after_the_first_works(rig_runner: RigRunner,
                                                  state: State) -> None:
    for _ in range(2):
        run = _isolation(rig_runner, "--levels", "read-committed", "--tests", "g0,p4")
        assert run.exit_code == 0, run.output
    assert "rig_isolation" not in state()[0]


def test_the_shipped_profile_matches_mariadb_10_11(rig_runner: RigRunner) -> None:
    probe = _isolation(rig_runner, "--levels", "read-committed", "--tests", "g0")
    server = probe.section("isolation")["server"]
    if server["flavor"] != "mariadb" or not server["version"].startswith("10.11"):
        pytest.skip(f"the shipped profile is MariaDB 10.11's; this is {server['version']}")
    run = _isolation(rig_runner, "--expect", "mariadb-10.11")
    assert run.exit_code == 0, run.output
    assert "matches" in run.stdout


def test_expect_with_a_mismatching_profile_exits_1_and_names_the_cell(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    expected = tmp_path / "wrong.json"
    expected.write_text(json.dumps({"repeatable-read": {"p4": "prevented", "g0": "prevented"}}))
    run = _isolation(rig_runner, "--levels", "repeatable-read", "--tests", "g0,p4",
                     "--expect", str(expected))
    assert run.exit_code == 1
    assert "repeatable-read/p4: expected prevented, observed anomaly" in run.stdout
    assert "repeatable-read/g0: expected" not in run.stdout
    differences = run.section("isolation")["expect"]["differences"]
    assert differences == [{"level": "repeatable-read", "test": "p4",
                            "expected": "prevented", "observed": "anomaly"}]
    verdicts = {c["name"]: c["verdict"] for c in run.report["checks"]}
    assert verdicts["repeatable-read/p4"] == "fail" and verdicts["repeatable-read/g0"] == "pass"


@pytest.mark.parametrize("name", ["observed.toml", "observed.json"])
def test_save_profile_round_trips(rig_runner: RigRunner, tmp_path: Path, name: str) -> None:
    saved = tmp_path / name
    first = _isolation(rig_runner, "--levels", "read-uncommitted,serializable",
                       "--tests", "g1a,g2", "--save-profile", str(saved))
    assert first.exit_code == 0, first.output
    observed = {level: {test: cell["result"] for test, cell in tests.items()}
                for level, tests in first.section("isolation")["tests"].items()}
    assert profile.load(str(saved)) == observed
    assert "mariadb" in saved.read_text()  # says which server produced it
    again = _isolation(rig_runner, "--levels", "read-uncommitted,serializable",
                       "--tests", "g1a,g2", "--expect", str(saved))
    assert again.exit_code == 0, again.output


def test_keep_tables_keeps_the_database_and_the_next_run_reuses_it(
        rig_runner: RigRunner, rig_server: Any, state: State) -> None:
    run = _isolation(rig_runner, "--levels", "read-committed", "--tests", "g0",
                     "--isolation-database", "rig_iso_kept", "--keep-tables")
    assert run.exit_code == 0, run.output
    assert "rig_iso_kept" in state()[0]
    run = _isolation(rig_runner, "--levels", "read-committed", "--tests", "g0",
                     "--isolation-database", "rig_iso_kept")
    assert run.exit_code == 0, run.output
    assert "rig_iso_kept" not in state()[0]


def test_a_database_holding_other_tables_is_refused_and_kept(
        rig_runner: RigRunner, rig_database: str, rig_server: Any, state: State) -> None:
    connection = rig_server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE `{rig_database}`.orders (id INT PRIMARY KEY)")
    finally:
        connection.close()
    run = _isolation(rig_runner, "--isolation-database", rig_database)
    assert run.exit_code == 4
    assert f"database '{rig_database}' exists and holds other tables (orders)" in run.stderr
    assert "choose another --isolation-database" in run.stderr
    assert rig_database in state()[0]


def test_clean_up_runs_after_a_failure(rig_runner: RigRunner, state: State) -> None:
    class Breaks:
        @rig.hookimpl
        def rig_state_enter(self, state: str) -> None:
            if state == "isolation_judging":
                raise RuntimeError("boom")

    sessions_before = state()[1]
    run = _isolation(rig_runner, "--plugin", "breaks", "--levels", "serializable",
                     "--tests", "g0,g2", plugins=[("breaks", Breaks())])
    assert run.exit_code == 3
    assert "rig_isolation" not in state()[0]
    assert eventually(lambda: state()[1] <= sessions_before)
    states = [s["name"] for s in run.report["connections"][0]["states"]]
    assert "isolation_cleaning_up" in states


def test_snapshot_isolation_both_runs_the_matrix_twice(rig_runner: RigRunner) -> None:
    run = _isolation(rig_runner, "--levels", "repeatable-read", "--tests", "p4",
                     "--snapshot-isolation", "both")
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
    run = _isolation(rig_runner, "--connections", "2", "--levels", "read-committed",
                     "--tests", "g0")
    assert run.exit_code == 0, run.output
    connections = run.section("isolation")["connections"]
    assert {c["server"]["database"] for c in connections.values()} == {
        "rig_isolation_c1", "rig_isolation_c2"}
    assert not {"rig_isolation_c1", "rig_isolation_c2"} & state()[0]


@pytest.mark.parametrize(("args", "message"), [
    (["--levels", "read-sometimes"], "argument --levels: invalid value 'read-sometimes': "
     "unknown read-sometimes; choose from read-uncommitted"),
    (["--levels", ","], "argument --levels: invalid value []: name at least one isolation"),
    (["--tests", "g9"], "argument --tests: invalid value 'g9': unknown g9"),
    (["--block-timeout", "0"], "argument --block-timeout: invalid value '0': must be a number "
     "greater than 0"),
    (["--block-detection", "guess"], "argument --block-detection: invalid value 'guess': choose "
     "one of server, timeout"),
    (["--txn-mode", "lazy"], "argument --txn-mode: invalid value 'lazy'"),
    (["--snapshot-isolation", "maybe"], "argument --snapshot-isolation: invalid value 'maybe'"),
    (["--isolation-database", ""], "argument --isolation-database: invalid value ''"),
    (["--expect", "/no/such/profile.toml"], "argument --expect: invalid value "
     "'/no/such/profile.toml': no such file (shipped profiles: mariadb-10.11)"),
])
def test_bad_options_exit_4_with_one_clear_line(rig_runner: RigRunner, args: list[str],
                                                message: str) -> None:
    run = _isolation(rig_runner, *args)
    assert run.exit_code == 4, run.output
    assert message in run.stderr
    assert "Traceback" not in run.output


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
    run = _isolation(rig_runner, "--expect", str(path))
    assert run.exit_code == 4, run.output
    assert "argument --expect" in run.stderr and message in run.stderr


def test_txn_mode_needs_tidb(rig_runner: RigRunner, state: State) -> None:
    run = _isolation(rig_runner, "--txn-mode", "optimistic")
    assert run.exit_code == 4
    assert "--txn-mode optimistic needs TiDB, but the server is mariadb" in run.stderr
    assert "drop --txn-mode" in run.stderr
    assert "rig_isolation" not in state()[0]


def test_the_plugin_is_found_through_its_entry_point() -> None:
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="rig.plugins") if ep.name == "isolation"]
    assert found and found[0].load() is rig_isolation


def test_ctrl_c_stops_the_run_and_cleans_up(rig_server: Any, state: State) -> None:
    """A real ``rig`` process, interrupted with SIGINT while tests run (``--block-detection
    timeout`` makes the run last long enough to be caught in the middle)."""
    database = "rig_iso_interrupted"
    sessions_before = state()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    environ.update(rig_server.rig_env())
    process = subprocess.Popen(
        [sys.executable, "-m", "rig", *rig_server.rig_args(), "--plugin", "isolation",
         "--block-detection", "timeout", "--isolation-database", database],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert eventually(lambda: database in state()[0], timeout=30)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, err
    assert "interrupted" in err
    assert database not in state()[0]
    assert eventually(lambda: state()[1] <= sessions_before)
