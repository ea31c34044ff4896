"""``--load-driver mysqlclient``: the workers connect through MySQLdb (a C driver); its errors are
classified like PyMySQL's, TLS modes map or are refused, and a missing driver says how to
install it."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, ServerDSN
from rig_load import drivers

needs_mysqlclient = pytest.mark.skipif(
    not drivers.mysqlclient_available(),
    reason="mysqlclient (MySQLdb) is not installed: " + drivers.INSTALL_MYSQLCLIENT)


def load(rig_runner: RigRunner, database: str, *args: str, **kwargs: Any) -> Any:
    return rig_runner.run_on_server("--plugin", "load", "--database", database,
                                    "--load-table-size", "200", "--load-driver", "mysqlclient",
                                    *args, **kwargs)


def settings(server: ServerDSN, mode: rig.SslMode) -> rig.ConnectionSettings:
    return rig.ConnectionSettings(host=server.host, port=server.port, user=server.user,
                                  password=rig.Secret(server.password) if server.password
                                  else None, ssl_mode=mode)


@needs_mysqlclient
@pytest.mark.parametrize("processes", ["1", "2"])
def test_point_select_with_mysqlclient(rig_runner: RigRunner, rig_database: str,
                                       processes: str) -> None:
    run = load(rig_runner, rig_database, "--connections", "2", "--load-duration", "0.5",
               "--load-processes", processes)

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["driver"] == "mysqlclient"
    assert section["events"] > 0 and all(c["events"] > 0 for c in section["per_connection"])
    assert section["errors"]["total"] == 0


@needs_mysqlclient
def test_read_write_with_mysqlclient(rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--load-workload", "read-write", "--connections", "2",
               "--load-duration", "0.5", "--load-tables", "2")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["events"] > 0
    assert section["queries"]["total"] == section["events"] * 20
    assert section["errors"]["total"] == 0


@needs_mysqlclient
def test_a_killed_mysqlclient_connection_is_classified_and_reconnected(
        rig_runner: RigRunner, rig_database: str, kill_a_loader: Any) -> None:
    killer = kill_a_loader()
    run = load(rig_runner, rig_database, "--load-duration", "2")
    killed = killer.stop()

    assert killed, "the load never showed up in the processlist"
    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["errors"]["by_class"] == {"needs-reconnect": 1}
    assert section["reconnects"] == 1 and section["gaps"][0]["reconnected"] is True


@needs_mysqlclient
def test_mysqlclient_errors_carry_code_and_class(rig_server: ServerDSN) -> None:
    driver = drivers.load("mysqlclient")
    raw = driver.connect(settings(rig_server, rig.SslMode.PREFERRED))
    try:
        with pytest.raises(driver.errors) as caught:
            raw.cursor().execute("SELECT * FROM rig_no_such_db.t")
    finally:
        raw.close()
    error = rig.DatabaseError(caught.value, operation="select")
    assert (error.code, error.error_class) == (1146, rig.ErrorClass.PERMANENT)
    assert "rig_no_such_db" in error.server_message


@needs_mysqlclient
def test_ssl_mode_required_refuses_a_server_without_tls(rig_server: ServerDSN) -> None:
    """The sandbox has no TLS; the MariaDB client library would fall back to plain text."""
    driver = drivers.load("mysqlclient")
    with pytest.raises(driver.errors) as caught:
        driver.connect(settings(rig_server, rig.SslMode.REQUIRED))
    assert caught.value.args[0] == 2026
    assert "--ssl-mode required" in caught.value.args[1]


@needs_mysqlclient
def test_ssl_mode_required_and_preferred_encrypt_when_the_server_has_tls() -> None:
    driver = drivers.load("mysqlclient")
    with rig.Sandbox(tls=True) as box:
        server = ServerDSN(box.host, box.port, box.user)
        for mode in (rig.SslMode.REQUIRED, rig.SslMode.PREFERRED):
            raw = driver.connect(settings(server, mode))
            cursor = raw.cursor()
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cursor.fetchall()[0][1], mode
            raw.close()


def test_missing_mysqlclient_exits_4_with_the_install_command(
        rig_runner: RigRunner, rig_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # ``import MySQLdb`` now fails

    run = load(rig_runner, rig_database)

    assert run.exit_code == 4, run.output
    assert "rig: error: --load-driver mysqlclient: MySQLdb is not installed: pip install " \
        "'mysqlclient>=2.2'" in run.stderr
    assert "apt-get install libmariadb-dev pkg-config" in run.stderr
    assert "Traceback" not in run.output


@pytest.mark.parametrize(("args", "message"), [
    (["--load-driver", "odbc"],
     "rig: error: argument --load-driver: invalid value 'odbc': choose from pymysql, "
     "mysqlclient (from command line)"),
    pytest.param(["--load-driver", "mysqlclient", "--ssl-mode", "verify-ca"],
                 "rig: error: --ssl-mode verify-ca is not supported with --load-driver "
                 "mysqlclient (disabled, preferred, required are): use --load-driver pymysql",
                 marks=needs_mysqlclient),
])
def test_bad_driver_options_exit_4(rig_runner: RigRunner, rig_database: str,
                                   args: list[str], message: str) -> None:
    run = rig_runner.run_on_server("--plugin", "load", "--database", rig_database, *args)

    assert run.exit_code == 4, run.output
    assert message in run.stderr
    assert "Traceback" not in run.output
