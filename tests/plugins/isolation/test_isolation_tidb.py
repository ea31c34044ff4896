"""The TiDB lane, isolation: the whole Hermitage matrix on a real tidb-server (unistore) in both
transaction modes, checked against the shipped profiles (tidb-8.5-pessimistic,
tidb-8.5-optimistic), with blocked steps detected by the server (TIDB_TRX, PROCESSLIST), not by
waiting."""

from __future__ import annotations

import pytest

from rig.testing import RigRunner

pytestmark = pytest.mark.tidb

ACCEPTED = ("read-committed", "repeatable-read")
"""The levels TiDB accepts without tidb_skip_isolation_level_check."""


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
def test_the_matrix_matches_the_shipped_profile(tidb_runner: RigRunner, mode: str) -> None:
    """The issue's command: ``rig --plugin isolation --txn-mode MODE``: the levels TiDB
    accepts, every cell decided with evidence, compared with the shipped profile."""
    run = tidb_runner.run_on_server("--plugin", "isolation", "--txn-mode", mode)
    assert run.exit_code == 0, run.output
    section = run.section("isolation")
    assert section["complete"] is True
    assert section["expect"]["profile"].endswith(f"tidb-8.5-{mode}.toml")
    assert section["expect"]["differences"] == []
    assert section["server"]["flavor"] == "tidb"
    assert section["server"]["txn_mode"] == mode
    assert list(section["tests"]) == list(ACCEPTED)
    assert f"isolation matrix on tidb 8.5.6 ({mode} transactions)" in run.stdout
    for level, row in section["tests"].items():
        assert len(row) == 13
        for test, cell in row.items():
            assert cell["result"] in ("prevented", "anomaly"), (level, test, cell)
            assert cell["evidence"]["why"], (level, test, cell)
    detection = set(section["server"]["block_detection"].split("+"))
    if mode == "pessimistic":  # writes lock as they go: steps wait, and TiDB says so
        assert detection and detection <= {"tidb_trx", "processlist"}, detection


def test_levels_tidb_refuses_run_when_named_and_are_unsupported(tidb_runner: RigRunner) -> None:
    run = tidb_runner.run_on_server("--plugin", "isolation", "--isolation-levels",
                                    "read-uncommitted,serializable", "--isolation-tests", "g0")
    assert run.exit_code == 0, run.output
    for level in ("read-uncommitted", "serializable"):
        cell = run.section("isolation")["tests"][level]["g0"]
        assert cell["result"] == "unsupported"
        assert cell["evidence"]["errors"][0]["code"] == 8048
