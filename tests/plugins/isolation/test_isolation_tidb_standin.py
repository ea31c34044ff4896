"""TiDB's refusal of an isolation level (8048) is reported as ``unsupported``.

These tests run against rig's **TiDB stand-in** (``rig.testing.tidb_standin``, built on
mysql-mimic), not a real TiDB: it identifies itself as TiDB v8.5 and refuses READ UNCOMMITTED
and SERIALIZABLE with 8048 as TiDB does unless ``tidb_skip_isolation_level_check`` is on. It has
no storage and no locks, so only levels it refuses are run through the plugin against it.
"""

from __future__ import annotations

import pymysql
import pytest

from rig.testing import RigRunner
from rig.testing.tidb_standin import TidbStandin

pytestmark = pytest.mark.tidb_standin


def _connect(standin: TidbStandin) -> pymysql.connections.Connection:
    return pymysql.connect(host=standin.host, port=standin.port, user="root",
                           ssl_disabled=True, autocommit=True)


def test_levels_tidb_refuses_are_unsupported(rig_runner: RigRunner,
                                             tidb_standin: TidbStandin) -> None:
    """Runs against the TiDB stand-in (``rig.testing.tidb_standin``), not a real TiDB."""
    run = rig_runner.run("--host", tidb_standin.address, "--user", "root",
                         "--ssl-mode", "disabled", "--plugin", "isolation",
                         "--isolation-levels", "read-uncommitted,serializable",
                         "--isolation-tests", "g0,p4", "--isolation-txn-mode", "optimistic",
                         "--isolation-expect", "none")
    assert run.exit_code == 0, run.output
    section = run.section("isolation")
    for level in ("read-uncommitted", "serializable"):
        for test in ("g0", "p4"):
            cell = section["tests"][level][test]
            assert cell["result"] == "unsupported"
            assert cell["evidence"]["errors"][0]["code"] == 8048
            assert "8048" in cell["evidence"]["why"]
        assert section["anomalies"][level] == {"G0": "unsupported", "P4": "unsupported"}
    assert section["server"]["flavor"] == "tidb"
    assert section["server"]["tidb_txn_mode"] == "pessimistic"
    assert section["server"]["txn_mode"] == "optimistic"
    assert run.report is not None
    assert {c["verdict"] for c in run.report["checks"] if "/" in c["name"]} == {"skip"}
    assert "unsupported" in run.stdout
    # Every session began as --isolation-txn-mode says; no test's body ran after the refusal.
    assert tidb_standin.count(r"\*/ begin optimistic$") == 8
    assert tidb_standin.count(r"update|insert into `test`|from `test`") == 0
    # The database the run created, and only it, is dropped by rig at the end.
    assert tidb_standin.count(r"^CREATE DATABASE `rig_isolation`$") == 1
    assert tidb_standin.count(r"^DROP DATABASE IF EXISTS `rig_isolation`$") == 1
    assert tidb_standin.count(r"^DROP TABLE") == 0


def test_the_standin_refuses_levels_as_tidb_does(tidb_standin: TidbStandin) -> None:
    """The stand-in's behaviour the test above relies on."""
    cursor = _connect(tidb_standin).cursor()
    for sql in ("set session transaction isolation level serializable",
                "SET transaction_isolation = 'READ-UNCOMMITTED'"):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            cursor.execute(sql)
        assert refused.value.args[0] == 8048
        assert "Set tidb_skip_isolation_level_check=1 to skip this error" in \
            refused.value.args[1]
    cursor.execute("set session transaction isolation level read committed")
    cursor.execute("select @@transaction_isolation")
    assert cursor.fetchone() == ("READ-COMMITTED",)


def test_the_standin_honours_tidb_skip_isolation_level_check(
        tidb_standin: TidbStandin) -> None:
    first = _connect(tidb_standin).cursor()
    first.execute("SET SESSION tidb_skip_isolation_level_check = 1")
    first.execute("set session transaction isolation level serializable")
    first.execute("select @@transaction_isolation")
    assert first.fetchone() == ("SERIALIZABLE",)
    other = _connect(tidb_standin).cursor()  # the session setting is the first session's only
    with pytest.raises(pymysql.err.OperationalError, match="8048"):
        other.execute("set session transaction isolation level serializable")
    other.execute("SET GLOBAL tidb_skip_isolation_level_check = ON")  # new sessions' default
    assert tidb_standin.skip_isolation_level_check
    later = _connect(tidb_standin).cursor()
    later.execute("set session transaction isolation level read uncommitted")


def test_refused_levels_are_an_attribute_of_the_standin(tidb_standin: TidbStandin) -> None:
    assert tidb_standin.refused_isolation_levels == {"READ-UNCOMMITTED", "SERIALIZABLE"}
    tidb_standin.refused_isolation_levels = {"REPEATABLE-READ"}
    cursor = _connect(tidb_standin).cursor()
    cursor.execute("set session transaction isolation level serializable")
    with pytest.raises(pymysql.err.OperationalError, match="8048"):
        cursor.execute("set session transaction isolation level repeatable read")
