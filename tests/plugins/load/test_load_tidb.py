"""The TiDB lane, load plugin: every workload on a real tidb-server (unistore), with the
sysbench tables it creates dropped afterwards."""

from __future__ import annotations

import pytest

from rig.testing import RigRunner, ServerDSN

pytestmark = pytest.mark.tidb

QUERIES_PER_EVENT = {"point-select": 1, "read-only": 16, "read-write": 20, "insert": 1,
                     "update-index": 1}


@pytest.mark.parametrize("workload", sorted(QUERIES_PER_EVENT))
def test_every_workload_runs_on_tidb(tidb_runner: RigRunner, tidb_server: ServerDSN,
                                     tidb_database: str, workload: str) -> None:
    run = tidb_runner.run_on_server("--plugin", "load", "--database", tidb_database,
                                    "--load-table-size", "200", "--load-workload", workload,
                                    "--connections", "2", "--load-duration", "0.5",
                                    "--load-tables", "2")
    assert run.exit_code == 0, run.output
    assert run.report is not None
    assert run.report["connections"][0]["server"]["flavor"] == "tidb"
    section = run.section("load")
    assert section["events"] > 0
    assert section["queries"]["total"] == section["events"] * QUERIES_PER_EVENT[workload]
    assert section["errors"]["total"] == 0, section["errors"]
    with tidb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                       (tidb_database,))
        assert cursor.fetchone()[0] == 0  # the core dropped what the run created
