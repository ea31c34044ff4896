"""The TiDB lane, core paths: a real tidb-server (unistore) in the sandbox, recognised as TiDB with
its own release, over TLS, and the sandbox it ran in removed without a trace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rig.db.flavor import parse_tidb_version
from rig.db.sandbox import Sandbox
from rig.testing import RigRunner, ServerDSN

pytestmark = pytest.mark.tidb


def _server_says(server: ServerDSN) -> tuple[str, dict[str, str]]:
    """``VERSION()`` and the lines of ``tidb_version()``, asked directly."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), tidb_version()")
        version, text = cursor.fetchone()
    return str(version), parse_tidb_version(str(text))


def test_the_server_is_tidb_with_its_real_release(tidb_runner: RigRunner,
                                                  tidb_server: ServerDSN) -> None:
    version, lines = _server_says(tidb_server)
    release = lines["Release Version"]
    assert release.startswith("v8.5."), lines  # the pinned release, not a placeholder
    assert len(lines["Git Commit Hash"]) == 40, lines
    assert version == f"8.0.11-TiDB-{release}"
    run = tidb_runner.run_on_server("--ssl-mode", "disabled")
    assert run.exit_code == 0, run.output
    assert run.report is not None
    server = run.report["connections"][0]["server"]
    assert server["flavor"] == "tidb"
    assert server["version"] == release.removeprefix("v")
    assert server["version_string"] == version
    assert server["tidb"]["Store"] == "unistore"
    assert server["tidb"]["Git Commit Hash"] == lines["Git Commit Hash"]
    basic = run.section("basic")["c1"]
    assert (basic["server"]["release"], basic["server"]["store"]) == (release, "unistore")
    assert basic["session"]["current_user"] == "root@%"
    assert basic["session"]["tls_cipher"] is None


def test_tls_is_verified_against_the_sandbox_ca(tidb_runner: RigRunner,
                                                tidb_server: ServerDSN) -> None:
    assert tidb_server.tls_ca is not None
    run = tidb_runner.run_on_server("--ssl-mode", "verify-identity", "--ssl-ca",
                                    tidb_server.tls_ca)
    assert run.exit_code == 0, run.output
    assert run.report is not None
    tls = run.report["connections"][0]["tls"]
    assert tls["version"].startswith("TLSv1."), tls
    session = run.section("basic")["c1"]["session"]
    assert (session["tls_version"], session["tls_cipher"]) == (tls["version"], tls["cipher"])
    with tidb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
        assert cursor.fetchone()[1] == "YES"


def test_rig_sandbox_runs_tidb_server_and_leaves_nothing(tidb_server_binary: str,
                                                         tmp_path: Path) -> None:
    """``--sandbox --sandbox-binary tidb-server``: unistore, socket, temporary storage and logs
    all live in the sandbox directory, which is gone afterwards with the process."""
    runner = RigRunner(tmp_path)
    before = set(Path("/tmp").iterdir())
    run = runner.run("--sandbox", "--sandbox-binary", tidb_server_binary, "-v")
    assert run.exit_code == 0, run.output
    assert run.report is not None
    assert run.report["connections"][0]["server"]["flavor"] == "tidb"
    line = next(line for line in run.stderr.splitlines() if "sandbox tidb (" in line)
    directory = Path(line.split(") in ", 1)[1].split(" listening on ", 1)[0])
    assert not directory.exists()
    left = {path.name for path in set(Path("/tmp").iterdir()) - before}
    assert not {name for name in left if name.startswith(("tidb", "0_tidb", f"{os.getuid()}_tidb"))}


def test_sandbox_restart_keeps_the_data_of_unistore(tidb_server_binary: str) -> None:
    """The fault-injection API works on tidb-server: a kill -9 restart on the same port and
    unistore directory keeps committed rows."""
    with Sandbox(server_binary=tidb_server_binary) as box:
        server = ServerDSN(box.host, box.port)
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE test.kept (id INT PRIMARY KEY)")
            cursor.execute("INSERT INTO test.kept VALUES (1), (2)")
        port = box.port
        box.restart(crash=True)
        assert box.port == port
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM test.kept")
            assert cursor.fetchone()[0] == 2
