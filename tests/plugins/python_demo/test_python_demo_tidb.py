"""The TiDB lane, python_demo: the reference plugin's workflow on a real tidb-server."""

from __future__ import annotations

import pytest

from rig.testing import RigRunner, ServerDSN

pytestmark = pytest.mark.tidb


def test_runs_the_workflow_on_tidb_and_leaves_nothing_behind(tidb_runner: RigRunner,
                                                             tidb_server: ServerDSN) -> None:
    run = tidb_runner.run_on_server("--plugin", "python_demo", "--python-demo-rows", "50")
    assert run.exit_code == 0, run.output
    assert run.report is not None
    assert run.report["connections"][0]["server"]["flavor"] == "tidb"
    section = run.section("python_demo")["c1"]
    assert section["rows_inserted"] == 50
    assert section["totals"]["count"] == 50
    assert section["cleanup_ran"] is True
    scratch = run.report["scratch"]
    assert scratch["dropped"] == [f"database {section['database']} at {tidb_server.address}"]
    assert scratch["left"] == []
    with tidb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                       (section["database"],))
        assert cursor.fetchone()[0] == 0
