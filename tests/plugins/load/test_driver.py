"""``--load-driver``: the workers connect through MySQLdb (mysqlclient, a C driver), MariaDB's
connector or PyMySQL; their errors are classified alike, TLS modes map or are refused, a missing
driver says how to install it, and ``auto`` (driver and processes) decides as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, ServerDSN
from rig_load import drivers, options

needs_mysqlclient = pytest.mark.skipif(
    not drivers.mysqlclient_available(),
    reason="mysqlclient (MySQLdb) is not installed: " + drivers.INSTALL_MYSQLCLIENT)
needs_mariadb = pytest.mark.skipif(
    not drivers.available("mariadb"),
    reason="the mariadb connector is not installed: " + drivers.INSTALL_MARIADB)
C_DRIVERS = [pytest.param("mysqlclient", marks=needs_mysqlclient),
             pytest.param("mariadb", marks=needs_mariadb)]
DRIVERS = [pytest.param("pymysql"), *C_DRIVERS]
WORKLOADS = ["point-select", "read-only", "read-write", "insert", "update-index"]


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


@pytest.mark.parametrize("driver", C_DRIVERS)
def test_a_killed_connection_is_classified_and_reconnected(
        rig_runner: RigRunner, rig_database: str, kill_a_loader: Any, driver: str) -> None:
    killer = kill_a_loader()
    run = load(rig_runner, rig_database, "--load-driver", driver, "--load-duration", "2")
    killed = killer.stop()

    assert killed, "the load never showed up in the processlist"
    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["errors"]["by_class"] == {"needs-reconnect": 1}
    assert section["reconnects"] == 1 and section["gaps"][0]["reconnected"] is True


@pytest.mark.parametrize("name", C_DRIVERS)
def test_a_c_drivers_errors_carry_code_and_class(rig_server: ServerDSN, name: str) -> None:
    driver = drivers.load(name)
    raw = driver.connect(settings(rig_server, rig.SslMode.PREFERRED))
    try:
        with pytest.raises(driver.errors) as caught:
            raw.cursor().execute("SELECT * FROM rig_no_such_db.t")
    finally:
        raw.close()
    error = rig.DatabaseError(driver.normalize(caught.value), operation="select")
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
     "rig: error: argument --load-driver: invalid value 'odbc': choose from auto, pymysql, "
     "mysqlclient, mariadb (from command line)"),
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


@needs_mysqlclient
def test_auto_takes_mysqlclient_and_a_process_per_connection(
        rig_runner: RigRunner, rig_database: str) -> None:
    """The defaults, in this environment (MySQLdb installed by scripts/setup)."""
    run = rig_runner.run_on_server("--plugin", "load", "--database", rig_database,
                                   "--load-table-size", "200", "--connections", "2",
                                   "--load-duration", "0.5")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert (section["driver"], section["driver_reason"]) == ("mysqlclient",
                                                             "auto: MySQLdb imports")
    if options.usable_cores() > 1:
        assert section["processes"] == 2
        assert section["processes_reason"].startswith("auto: 2 connections on ")
    else:
        assert (section["processes"], section["processes_reason"]) == (1, "auto: 1 core")
    assert section["events"] > 0 and section["errors"]["total"] == 0
    assert section["client_cpu_s"] > 0 and section["client_cpu_us_per_query"] > 0
    header = "load: point-select · 2 connection(s) · driver mysqlclient (auto: MySQLdb imports)"
    assert header in run.output
    assert "    driver mysqlclient (auto: MySQLdb imports) · " in run.stdout


def test_auto_takes_pymysql_when_mysqldb_does_not_import(rig_runner: RigRunner,
                                                          rig_database: str) -> None:
    """A real rig process where ``import MySQLdb`` fails (as on a machine without it)."""
    code = ("import sys; sys.modules['MySQLdb'] = None; from rig.cli import main; "
            "sys.exit(main())")
    report = rig_runner.workdir / "auto-pymysql.json"
    server = rig_runner.server
    assert server is not None
    done = subprocess.run(
        [sys.executable, "-c", code, *server.rig_args(), "--plugin", "load", "--database",
         rig_database, "--load-table-size", "200", "--load-duration", "0.5",
         "--report-json", str(report)],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("RIG_")},
             **server.rig_env()}, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    section = json.loads(report.read_text())["sections"]["load"]
    assert section["driver"] == "pymysql"
    assert section["driver_reason"].startswith("auto: MySQLdb does not import (pip install")
    assert (section["processes"], section["processes_reason"]) == (1, "auto: one connection")
    assert section["events"] > 0


@pytest.mark.parametrize(("asked", "connections", "cores", "decided"), [
    ("auto", 1, 8, (1, "auto: one connection")),
    ("auto", 4, 1, (1, "auto: 1 core")),
    ("auto", 4, 2, (4, "auto: 4 connections on 2 cores, one process per connection")),
    ("auto", 100, 2, (64, "auto: 100 connections on 2 cores, one process per connection "
                          "(at most 64)")),
    (3, 8, 2, (3, "asked for")),
])
def test_what_auto_processes_decides(asked: int | str, connections: int, cores: int,
                                     decided: tuple[int, str]) -> None:
    assert options.choose_processes(asked, connections, cores) == decided


def test_auto_driver_keeps_pymysql_for_certificate_checks() -> None:
    choice = drivers.choose("auto", rig.SslMode.VERIFY_CA)
    assert (choice.name, choice.reason) == ("pymysql", "auto: --ssl-mode verify-ca needs pymysql")


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("driver", DRIVERS)
def test_every_driver_runs_every_workload(rig_runner: RigRunner, rig_database: str,
                                          driver: str, workload: str) -> None:
    run = rig_runner.run_on_server("--plugin", "load", "--database", rig_database,
                                   "--load-table-size", "200", "--load-driver", driver,
                                   "--load-workload", workload, "--connections", "2",
                                   "--load-processes", "1", "--load-duration", "0.3")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert (section["driver"], section["driver_reason"]) == (driver, "asked for")
    assert section["events"] > 0 and all(c["events"] > 0 for c in section["per_connection"])
    # every statement is valid for every driver; two read-write connections on 200 rows may
    # still deadlock now and then (1213, the server's answer, as in sysbench: CI saw one)
    assert set(section["errors"]["by_code"]) <= {"1213"}, section["errors"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_driver_runs_in_worker_processes(rig_runner: RigRunner, rig_database: str,
                                               driver: str) -> None:
    run = rig_runner.run_on_server("--plugin", "load", "--database", rig_database,
                                   "--load-table-size", "200", "--load-driver", driver,
                                   "--connections", "2", "--load-processes", "2",
                                   "--load-duration", "0.5")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["processes"] == 2 and section["events"] > 0
    assert section["errors"]["total"] == 0


def test_missing_mariadb_exits_4_with_the_install_command(
        rig_runner: RigRunner, rig_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mariadb", None)  # ``import mariadb`` now fails

    run = rig_runner.run_on_server("--plugin", "load", "--database", rig_database,
                                   "--load-driver", "mariadb")

    assert run.exit_code == 4, run.output
    assert "rig: error: --load-driver mariadb: mariadb is not installed: pip install " \
        "'mariadb>=1.1'" in run.stderr
    assert "Traceback" not in run.output
