"""The checker on small histories, one per anomaly (Elle's own cases among them), in both
file formats, with the expected anomaly types and the weakest models they rule out."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rig_consistency.checker import MODELS, check
from rig_consistency.formats import parse_history, read_history, write_edn, write_jsonl
from rig_consistency.history import pair

from notation import history

HISTORIES = Path(__file__).parent / "histories"

# name -> (expected anomaly_types, expected not) when checked against serializable
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "valid": ([], []),
    "g0": (["G0"], ["read-uncommitted"]),
    "g1a": (["G1a"], ["read-committed"]),
    "g1b": (["G-single-item", "G1b"], ["read-committed"]),
    "g1b-aborted": (["G1a", "G1b"], ["read-committed"]),  # read an aborted intermediate
    "g1c": (["G1c"], ["read-committed"]),
    "g-single": (["G-single-item"], ["repeatable-read", "snapshot-isolation"]),
    "g-nonadjacent": (["G-nonadjacent-item"], ["repeatable-read", "snapshot-isolation"]),
    "lost-update": (["G2-item", "lost-update"], ["repeatable-read"]),
    "internal": (["internal"], ["snapshot-isolation"]),
    "future-read": (["future-read"], ["read-committed"]),
    "duplicates": (["G-single-item", "duplicate-elements"], ["read-uncommitted"]),
    "incompatible-order": (["incompatible-order"], ["read-committed"]),
    "dirty-update": (["G1a", "dirty-update"], ["read-committed"]),
    "realtime-stale": ([], []),  # stale, but serializable has no realtime order
    "info-valid": ([], []),  # an info append that was read: it happened
    "info-unseen": ([], []),  # an info append nobody read: it may not have
    "fail-unseen": ([], []),
    "jepsen-style": (["G2-item"], ["repeatable-read"]),
    "rw-valid": ([], []),
    "rw-g1a": (["G1a"], ["read-committed"]),
    "rw-g1b": (["G1b"], ["read-committed"]),
    "rw-internal": (["internal"], ["snapshot-isolation"]),
    "rw-lost-update": (["G2-item", "lost-update"], ["repeatable-read"]),
    "rw-g2-item": (["G2-item"], ["repeatable-read"]),
    "rw-cyclic-versions": (["G1c", "cyclic-versions"], ["read-uncommitted"]),
}


def workload(name: str) -> str:
    return "rw-register" if name.startswith("rw-") else "list-append"


FILES = sorted(p.name for p in HISTORIES.iterdir() if p.stem in EXPECTED)


def test_every_history_is_in_both_formats_but_the_hand_written_one() -> None:
    assert len(FILES) == 2 * len(EXPECTED) - 1


@pytest.mark.parametrize("file", FILES)
def test_each_history_has_its_anomalies_in_both_formats(file: str) -> None:
    path = HISTORIES / file
    name = path.stem
    result = check(pair(read_history(path)), workload=workload(name))
    types, weakest = EXPECTED[name]
    assert (result.anomaly_types, result.not_) == (types, weakest)
    assert result.valid is (not types)


def test_both_formats_hold_the_same_operations() -> None:
    for edn in HISTORIES.glob("*.edn"):
        jsonl = edn.with_suffix(".jsonl")
        if jsonl.exists():
            assert read_history(edn) == read_history(jsonl), edn.name


@pytest.mark.parametrize("name", ["g1c", "rw-g2-item", "jepsen-style", "lost-update"])
def test_a_saved_history_round_trips_and_checks_the_same(name: str) -> None:
    ops = read_history(HISTORIES / f"{name}.edn")
    for write in (write_edn, write_jsonl):
        buffer = io.StringIO()
        write(ops, buffer)
        again = parse_history(buffer.getvalue())
        assert again == ops
        assert check(pair(again), workload=workload(name)).to_json() == \
            check(pair(ops), workload=workload(name)).to_json()


def test_realtime_only_cycles_break_strict_serializability() -> None:
    txns = pair(read_history(HISTORIES / "realtime-stale.edn"))
    result = check(txns, models=["strict-serializable"])
    assert (result.valid, result.anomaly_types, result.not_) == (
        False, ["G-single-item-realtime"], ["strict-serializable"])
    steps = result.anomalies["G-single-item-realtime"][0].steps
    assert sorted(s.kind for s in steps) == ["realtime", "rw"]
    assert check(txns, models=["serializable"]).valid is True


def test_process_edges_find_a_process_cycle_when_asked() -> None:
    # one process appends 1 to x, then reads x as empty: its own write vanished
    ops = history("ax1", "rx")
    ops = [op.__class__(op.index, op.type, 0, op.time, op.value) for op in ops]
    result = check(pair(ops), models=["strict-serializable"], realtime=False, process=True)
    assert result.anomaly_types == ["G-single-item-process"]


def test_models_decide_what_is_prohibited() -> None:
    txns = pair(read_history(HISTORIES / "lost-update.edn"))
    verdicts = {model: check(txns, models=[model]).valid for model in MODELS}
    assert verdicts == {"strict-serializable": False, "serializable": False,
                        "snapshot-isolation": True, "repeatable-read": False,
                        "read-committed": True, "read-uncommitted": True}


def test_an_unknown_model_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown consistency model 'linearizable': known "
                                         "models are read-committed, read-uncommitted"):
        check([], models=["linearizable"])


def test_an_element_appended_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="appended already: every appended element must "
                                         "be unique per key"):
        check(pair(history("ax1", "ax1")))


def test_nothing_committed_is_undecided() -> None:
    result = check(pair(history(("ax1", "fail"))))
    assert (result.valid, result.anomaly_types) == ("unknown", ["empty-transaction-graph"])


def test_a_search_out_of_budget_reports_a_timeout_and_a_fallback_cycle() -> None:
    txns = pair(read_history(HISTORIES / "rw-g2-item.edn"))
    # snapshot isolation allows the fallback cycle (G2-item): only the timeout is left
    undecided = check(txns, workload="rw-register", models=["snapshot-isolation"],
                      cycle_budget=0)
    assert (undecided.valid, undecided.anomaly_types) == ("unknown", ["cycle-search-timeout"])
    timeout = undecided.anomalies["cycle-search-timeout"][0]
    # G0 and G1c need no search step: no ww or wr edge closes a cycle
    assert timeout.data == {"anomaly-spec-type": "G-single-item",
                            "does-not-contain": ["G0", "G1c"], "scc-size": 2}
    # serializable prohibits it: the fallback cycle makes the history invalid
    invalid = check(txns, workload="rw-register", cycle_budget=0)
    assert (invalid.valid, invalid.anomaly_types) == (False, ["G2-item",
                                                              "cycle-search-timeout"])


def test_a_cycle_is_explained_step_by_step() -> None:
    result = check(pair(read_history(HISTORIES / "g-single.edn")))
    anomaly = result.anomalies["G-single-item"][0]
    assert anomaly.txns == (3, 1)
    assert anomaly.explanation == (
        "G-single-item: let T3 = [append :x 2] [r :y []] (process 1, ok); "
        "T1 = [append :x 1] [append :y 1] (process 0, ok). Then:\n"
        "  - T3 < T1 (rw), because T3 read key :y as [], which does not include T1's append "
        "of 1\n"
        "  - however, T1 < T3 (ww), because T3 appended 2 to key :x after T1 appended 1\n"
        "  a contradiction: the transactions form a cycle, so no order of them explains "
        "what they saw.")
    assert anomaly.to_json()["steps"] == [
        {"from": "T3", "to": "T1", "type": "rw", "key": "y", "value": None, "value'": 1,
         "explanation": "T3 read key :y as [], which does not include T1's append of 1"},
        {"from": "T1", "to": "T3", "type": "ww", "key": "x", "value": 1, "value'": 2,
         "explanation": "T3 appended 2 to key :x after T1 appended 1"}]
    assert 'T3 -> T1 [label="rw y"' in anomaly.dot()
    svg = anomaly.svg()
    assert svg.startswith("<svg xmlns=") and svg.count("<circle") == 2 and ">rw y<" in svg


@pytest.mark.parametrize(("file", "workload", "wrote"), [
    ("lost-update.edn", "list-append", "appended to it (T4 1; T5 2)"),
    ("rw-lost-update.edn", "rw-register", "wrote it ("),
])
def test_a_lost_update_names_both_transactions_and_what_each_wrote(
        file: str, workload: str, wrote: str) -> None:
    result = check(pair(read_history(HISTORIES / file)), workload=workload)
    [anomaly, *_] = result.anomalies["lost-update"]
    names = " and ".join(f"T{index}" for index in anomaly.txns)
    assert anomaly.explanation.startswith(f"{names} both read key :x as ")
    assert wrote in anomaly.explanation and "both committed" in anomaly.explanation


def test_the_result_is_json_and_keeps_a_few_examples_of_many() -> None:
    # nine pairs of transactions, each a lost update of its own key
    txns = [t for k in "abcdefghi" for t in (f"a{k}0", f"r{k}0a{k}1", f"r{k}0a{k}2")]
    result = check(pair(history(*txns, overlap=True)), models=["repeatable-read"])
    data = result.to_json()
    assert data["anomaly-counts"]["lost-update"] == 9
    assert len(data["anomalies"]["lost-update"]) == 8
    assert (data["valid"], data["not"], data["txn-count"]) == (False, ["repeatable-read"], 27)
