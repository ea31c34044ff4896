"""rig consistency check FILE: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import rig_consistency
from rig.testing import RigRunner

HISTORIES = Path(__file__).parent / "histories"
PLUGINS = [("consistency", rig_consistency)]


def run(rig_runner: RigRunner, *args: str) -> tuple[int, str, str]:
    for name in ("g1c.edn", "valid.jsonl", "rw-g2-item.edn"):
        shutil.copy(HISTORIES / name, rig_runner.workdir / name)
    result = rig_runner.run("consistency", *args, plugins=PLUGINS, report=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_valid_history_exits_0(rig_runner: RigRunner) -> None:
    code, out, _ = run(rig_runner, "check", "valid.jsonl")
    assert (code, out) == (0, "valid.jsonl: valid for serializable (2 transactions: 2 ok, "
                              "0 failed, 0 unknown)\n")


def test_an_invalid_history_exits_1_with_its_explanation(rig_runner: RigRunner) -> None:
    code, out, _ = run(rig_runner, "check", "g1c.edn", "--model", "read-committed")
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == ["g1c.edn: invalid for read-committed (3 transactions: 3 ok, 0 failed, "
                         "0 unknown)", "anomalies: G1c",
                         "not: read-committed (also not: repeatable-read, serializable, "
                         "snapshot-isolation, strict-serializable)"]
    assert "    - however, T1 < T3 (ww), because T3 appended 2 to key :x after T1 appended 1" \
        in lines


def test_json_prints_the_result_object(rig_runner: RigRunner) -> None:
    code, out, _ = run(rig_runner, "check", "rw-g2-item.edn", "--workload", "rw-register",
                       "--json")
    data = json.loads(out)
    assert code == 1
    assert (data["valid"], data["anomaly_types"], data["not"], data["txn-count"]) == (
        False, ["G2-item"], ["repeatable-read"], 2)


def test_an_undecided_check_exits_6(rig_runner: RigRunner) -> None:
    # snapshot isolation allows the write skew
    code, _, _ = run(rig_runner, "check", "rw-g2-item.edn", "--workload", "rw-register",
                     "--model", "snapshot-isolation")
    assert code == 0
    (rig_runner.workdir / "none.edn").write_text(
        "{:index 0, :type :invoke, :process 0, :value [[:append 1 1]]}\n"
        "{:index 1, :type :fail, :process 0, :value [[:append 1 1]]}\n")
    code, out, _ = run(rig_runner, "check", "none.edn")
    assert code == 6 and out.startswith("none.edn: unknown for serializable")


def test_a_missing_file_is_one_error_line(rig_runner: RigRunner) -> None:
    assert run(rig_runner, "check", "gone.edn") == (
        4, "", "rig: error: rig consistency: no history file gone.edn: check the path\n")


def test_a_malformed_file_names_its_line(rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "bad.edn").write_text(
        "{:index 0, :type :invoke, :process 0, :value [[:append 1 1]]}\n"
        "{:index 1, :type :done, :process 0, :value [[:append 1 1]]}\n")
    assert run(rig_runner, "check", "bad.edn") == (
        4, "", "rig: error: rig consistency: bad.edn is not a history: line 2: type is "
               "'done': expected invoke, ok, fail or info: fix that line, or save the "
               "history again\n")


def test_an_unpaired_history_is_one_error_line(rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "twice.jsonl").write_text(
        '{"index": 0, "type": "ok", "process": 3, "value": []}\n')
    code, _, err = run(rig_runner, "check", "twice.jsonl")
    assert (code, err) == (4, "rig: error: rig consistency: twice.jsonl cannot be checked as "
                              "list-append: operation 0: process 3 completes a transaction "
                              "it never invoked: check --workload and the history\n")


def test_a_bad_option_is_one_error_line(rig_runner: RigRunner) -> None:
    code, _, err = run(rig_runner, "check", "g1c.edn", "--cycle-timeout", "0")
    assert (code, err) == (4, "rig: error: rig consistency: argument --cycle-timeout: invalid "
                              "value '0': must be a number of seconds above 0: see rig "
                              "consistency --help\n")
    code, _, err = run(rig_runner, "check", "g1c.edn", "--model", "linearizable")
    assert code == 4 and err.startswith("rig: error: rig consistency: argument --model: "
                                        "invalid choice: 'linearizable'")
