"""Server flavour detection: a real MariaDB, and TiDB through the mysql-mimic stand-in (a
protocol-level stand-in answering as TiDB, not a real TiDB: no TiDB can be installed here)."""

from __future__ import annotations

import pytest

from rig.db.connection import Connection, Connector
from rig.db.flavor import (
    Flavor,
    classify_version_string,
    detect_server,
    parse_version,
    tidb_release,
)
from rig.db.settings import ConnectionSettings
from rig.testing import RigRunner, ServerDSN
from rig.testing.tidb_standin import TidbStandin


def test_mariadb_is_detected_with_its_version_and_features(rig_server: ServerDSN) -> None:
    settings = ConnectionSettings(rig_server.host, rig_server.port, rig_server.user)
    conn = Connection(Connector().open_raw(settings), settings, "c1")
    try:
        server = detect_server(conn)
        version_string = conn.scalar("SELECT VERSION()")
    finally:
        conn.close()
    assert server.flavor is Flavor.MARIADB
    assert server.version_string == version_string
    assert server.version_text == version_string.split("-")[0]
    assert server.default_isolation == "repeatable-read"
    assert not server.features.import_jobs
    assert server.features.snapshot_isolation_setting == server.at_least(10, 6, 18)


@pytest.mark.tidb_standin
def test_tidb_is_detected_through_tidb_version(rig_runner: RigRunner,
                                                tidb_standin: TidbStandin) -> None:
    """Against the mysql-mimic TiDB stand-in, labelled as such."""
    run = rig_runner.run("--host", tidb_standin.address, "--ssl-mode", "disabled")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    server = run.report["connections"][0]["server"]
    assert server["flavor"] == "tidb"
    assert server["version"] == "8.5.6"
    assert server["version_string"] == "8.0.11-TiDB-v8.5.6"
    assert server["tidb"]["Store"]
    basic = run.section("basic")["c1"]["server"]
    assert basic["release"] == "v8.5.6"
    assert basic["edition"]


@pytest.mark.parametrize(("version", "comment", "flavor"), [
    ("8.0.11-TiDB-v8.5.0", "", Flavor.TIDB),
    ("5.7.25-TiDB-v7.1.0", "", Flavor.TIDB),
    ("8.0.11-TiDB-v8.5.3-serverless", "", Flavor.TIDB),
    ("10.11.6-MariaDB-0+deb12u1", "", Flavor.MARIADB),
    ("11.4.2-MariaDB", "", Flavor.MARIADB),
    ("8.0.36", "MySQL Community Server - GPL", Flavor.MYSQL),
    ("8.0.36-28", "Percona Server (GPL), Release 28", Flavor.MYSQL),
    ("5.7.44-log", "", Flavor.MYSQL),
])
def test_version_strings_from_the_reference(version: str, comment: str, flavor: Flavor) -> None:
    assert classify_version_string(version, comment) is flavor


def test_tidb_release_is_its_own_not_the_mysql_it_mimics() -> None:
    assert tidb_release("8.0.11-TiDB-v8.5.0", {}) == (8, 5, 0)
    assert tidb_release("8.0.11-TiDB-v8.5.0", {"Release Version": "v8.5.3"}) == (8, 5, 3)
    assert parse_version("10.11.19-MariaDB-0+deb12u1") == (10, 11, 19)
