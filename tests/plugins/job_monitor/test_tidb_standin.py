"""The TiDB **stand-in** itself (mysql-mimic, not TiDB): what rig's core and other plugins'
tests rely on."""

from __future__ import annotations

import pymysql
import pytest

from rig.testing import RigRunner
from rig.testing.tidb_standin import IMPORT_COLUMNS_13, IMPORT_COLUMNS_21, TidbStandin

pytestmark = pytest.mark.tidb_standin


def connect(standin: TidbStandin) -> pymysql.connections.Connection:
    return pymysql.connect(host=standin.host, port=standin.port, user="root",
                           ssl_disabled=True, autocommit=True)


def test_basic_plugin_detects_tidb(rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    run = rig_runner.run("--host", tidb_standin.address, "--ssl-mode", "disabled")
    assert run.exit_code == 0, run.output
    server = run.report["connections"][0]["server"]  # type: ignore[index]
    assert (server["flavor"], server["version"]) == ("tidb", "8.5.6")
    assert server["tidb"]["Store"] == "unistore"  # as the real standalone tidb-server says
    assert server["default_isolation"] == "repeatable-read"
    assert run.section("basic")["c1"]["session"]["current_user"] == "root@%"


def test_layouts_errors_and_drops(tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(1)
    connection = connect(tidb_standin)
    cursor = connection.cursor()
    cursor.execute("SHOW IMPORT JOBS")
    assert tuple(d[0] for d in cursor.description) == IMPORT_COLUMNS_13
    tidb_standin.import_layout = 21
    cursor.execute("SHOW IMPORT JOB 1")
    assert tuple(d[0] for d in cursor.description) == IMPORT_COLUMNS_21
    with pytest.raises(pymysql.err.OperationalError) as missing:
        cursor.execute("SHOW IMPORT JOB 2")
    assert missing.value.args == (8170, "Job ID 2 doesn't exist")
    tidb_standin.fail_next(9007, "Write conflict [try again later]", match="^SELECT 1$")
    with pytest.raises(pymysql.err.OperationalError) as conflict:
        cursor.execute("SELECT 1")
    assert conflict.value.args[0] == 9007
    cursor.execute("SELECT 1")
    tidb_standin.drop_connections()
    with pytest.raises(pymysql.err.OperationalError) as lost:
        cursor.execute("SELECT 1")
    assert lost.value.args[0] == 2013


def test_bad_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="13 or 21"):
        TidbStandin(import_layout=14)
