"""The consistency plugin on a real server: random transactions at an isolation level, their
history checked, the verdict against the level's model and the server's known weaknesses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fault_helpers import FaultRun, error_lines

import rig
from rig.testing import RigRun, RigRunner, ServerDSN

TXNS = ("--consistency-txns", "1500")


def consistency(rig_runner: RigRunner, database: str, *args: str) -> RigRun:
    return rig_runner.run_on_server("--plugin", "consistency", "--consistency-database",
                                    database, *args)


def innodb_without_snapshot_isolation(run: RigRun) -> bool:
    server = run.section("consistency")["server"]
    return server["flavor"] in ("mariadb", "mysql") and \
        server.get("innodb_snapshot_isolation", "OFF") == "OFF"


def test_serializable_histories_are_valid(rig_runner: RigRunner, rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--isolation-level", "serializable", *TXNS)

    assert run.exit_code == 0, run.output
    section = run.section("consistency")
    assert section["result"]["valid"] is True
    assert section["result"]["anomaly_types"] == []
    counts = section["transactions"]
    assert counts["invoked"] == 1500 == counts["ok"] + counts["fail"] + counts["info"]
    assert counts["ok"] > 500
    assert section["models"] == ["serializable"]
    [check] = [c for c in run.report["checks"] if c["name"] == "consistency serializable"]
    assert check["verdict"] == "pass"
    assert f"{counts['ok']} committed transaction(s) of 1500 checked against serializable: " \
           "valid" in check["detail"]


def test_repeatable_read_lost_updates_are_found_explained_and_known(
        rig_runner: RigRunner, rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--isolation-level", "repeatable-read", *TXNS)
    if not innodb_without_snapshot_isolation(run):
        pytest.skip("needs InnoDB's repeatable read without innodb_snapshot_isolation")

    assert run.exit_code == 0, run.output
    section = run.section("consistency")
    result = section["result"]
    assert result["valid"] is False
    assert "lost-update" in result["anomaly_types"]
    assert "lost-update" in section["known_found"] and section["unexpected"] == []
    assert section["expect"]["profile"].startswith("mariadb-")
    [example, *_] = result["anomalies"]["lost-update"]
    assert "appended" in example["explanation"]
    assert "lost-update:" in run.stdout and "known for mariadb-" in run.stdout


def test_without_the_profile_a_lost_update_fails_the_run(rig_runner: RigRunner,
                                                         rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--isolation-level", "repeatable-read",
                      "--consistency-expect", "none", *TXNS)
    if not innodb_without_snapshot_isolation(run):
        pytest.skip("needs InnoDB's repeatable read without innodb_snapshot_isolation")

    assert run.exit_code == 1, run.output
    assert "lost-update" in run.section("consistency")["unexpected"]
    assert "UNEXPECTED: " in run.stdout


def test_read_committed_is_not_serializable(rig_runner: RigRunner, rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--isolation-level", "read-committed",
                      "--consistency-model", "serializable", *TXNS)

    assert run.exit_code == 1, run.output
    found = set(run.section("consistency")["result"]["anomaly_types"])
    assert found & {"G-single-item", "G2-item", "G-nonadjacent-item"}, found


def test_a_saved_history_checks_the_same_offline(rig_runner: RigRunner, rig_database: str,
                                                tmp_path: Path) -> None:
    path = tmp_path / "history.edn"
    run = consistency(rig_runner, rig_database, "--isolation-level", "repeatable-read",
                      "--consistency-save-history", str(path), "--consistency-txns", "400",
                      "--consistency-model", "serializable")
    assert run.exit_code in (0, 1), run.output
    section = run.section("consistency")
    assert section["history_file"] == str(path)
    assert len(path.read_text().splitlines()) == 2 * 400

    offline = rig_runner.run("consistency", "check", str(path), "--model", "serializable",
                             "--json", report=False)

    verdict: dict[str, Any] = json.loads(offline.stdout)
    assert verdict["valid"] == section["result"]["valid"]
    assert verdict["anomaly_types"] == section["result"]["anomaly_types"]
    assert offline.exit_code == (0 if verdict["valid"] is True else 1)


def test_several_connections_share_one_history_checked_once(
        rig_runner: RigRunner, rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--connections", "2",
                      "--consistency-clients", "3", "--isolation-level", "serializable",
                      "--consistency-txns", "300")

    assert run.exit_code == 0, run.output
    section = run.section("consistency")
    assert section["clients"] == 6
    assert section["transactions"]["invoked"] == 300
    assert [c["name"] for c in run.report["checks"]].count("consistency serializable") == 1


def test_the_rw_register_workload_runs_and_checks(rig_runner: RigRunner,
                                                  rig_database: str) -> None:
    run = consistency(rig_runner, rig_database, "--consistency-workload", "rw-register",
                      "--isolation-level", "serializable", "--consistency-txns", "500")

    assert run.exit_code == 0, run.output
    assert run.section("consistency")["result"]["valid"] is True


def test_a_server_lost_mid_run_is_exit_5_and_the_history_is_saved_with_unknowns(
        alive: rig.Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    run = FaultRun(alive, tmp_path, "consistency", "--isolation-level", "serializable",
                   "--duration", "60", "--consistency-save-history", str(path),
                   "--retry-max-time", "1", "--consistency-database", "rig_consistency_lost")
    run.wait_log(" transactions, ")  # c1's progress line: transactions are running
    alive.kill()
    result = run.result()

    assert result.exit_code == 5, result.output
    [line] = error_lines(result)
    assert alive.address in line
    ops = [json.loads(text) for text in path.read_text().splitlines()]
    assert {op["type"] for op in ops} >= {"invoke", "ok"}
    invoked = sum(op["type"] == "invoke" for op in ops)
    completed = sum(op["type"] != "invoke" for op in ops)
    assert invoked == completed  # every transaction in flight got an outcome
    assert result.section("consistency")["transactions"]["invoked"] == invoked


def test_a_server_killed_and_restarted_mid_run_is_survived_and_the_history_stays_valid(
        alive: rig.Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    run = FaultRun(alive, tmp_path, "consistency", "--isolation-level", "serializable",
                   "--duration", "8", "--consistency-save-history", str(path),
                   "--consistency-database", "rig_consistency_restarted")
    run.wait_log(" transactions, ")  # c1's progress line: transactions are running
    alive.kill()
    alive.revive()
    result = run.result()

    assert result.exit_code == 0, result.output
    section = result.section("consistency")
    assert section["result"]["valid"] is True
    ops = [json.loads(text) for text in path.read_text().splitlines()]
    lost = next(op["index"] for op in ops if op.get("error") and
                op["error"].split()[0] in ("2006", "2013"))
    assert any(op["type"] == "ok" and op["index"] > lost for op in ops)  # went on after it
    unknown = sum(op["type"] == "info" for op in ops)
    assert section["transactions"]["info"] == unknown  # counted, and checked as unknown


@pytest.mark.parametrize(("args", "message"), [
    (["--consistency-save-history", "h.txt"],
     "--consistency-save-history: invalid value 'h.txt': name a .edn (Jepsen's EDN) or "
     ".jsonl (JSON lines) file (from command line)"),
    (["--consistency-expect", "nosuch"], "--consistency-expect: invalid value 'nosuch'"),
    (["--txn-mode", "optimistic"], "--txn-mode optimistic needs TiDB, but the server is "),
    (["--isolation-level", "snapshot"], "--isolation-level: invalid value 'snapshot'"),
    (["--consistency-clients", "0"], "--consistency-clients: invalid value '0'"),
    (["--consistency-model", "linearizable"], "--consistency-model: invalid value"),
])
def test_bad_options_exit_4_with_one_line(rig_runner: RigRunner, rig_database: str,
                                          args: list[str], message: str,
                                          rig_server: ServerDSN) -> None:
    run = consistency(rig_runner, rig_database, *args, "--consistency-txns", "10")

    assert run.exit_code == 4, run.output
    [line] = [x for x in run.stderr.splitlines() if x.startswith("rig: error:")]
    assert message in line, line
    assert "Traceback" not in run.stderr


def test_several_levels_run_in_turn_each_with_its_keys_history_and_verdict(
        rig_runner: RigRunner, rig_database: str, tmp_path: Path) -> None:
    run = consistency(rig_runner, rig_database, "--isolation-level",
                      "serializable,read-committed", "--consistency-txns", "200",
                      "--consistency-save-history", str(tmp_path / "h.jsonl"))

    assert run.exit_code == 0, run.output
    runs = run.section("consistency")["runs"]
    assert [r["isolation_level"] for r in runs] == ["serializable", "read-committed"]
    assert [r["models"] for r in runs] == [["serializable"], ["read-committed"]]
    assert all(r["transactions"]["invoked"] == 200 for r in runs)
    names = [c["name"] for c in run.report["checks"] if c["name"].startswith("consistency")]
    assert names == ["consistency serializable", "consistency read-committed"]
    keys = []
    for level in ("serializable", "read-committed"):
        path = tmp_path / f"h.{level}.jsonl"
        assert [r["history_file"] for r in runs if r["isolation_level"] == level] == [str(path)]
        ops = [json.loads(line) for line in path.read_text().splitlines()]
        keys.append({mop[1] for op in ops for mop in op["value"]})
    assert keys[0] and keys[1] and not keys[0] & keys[1]
