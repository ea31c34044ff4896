"""The load plugin on a real server: workloads, figures, ramp-up, rate, prepare modes, scratch
data, errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rig
from rig.testing import RigRun, RigRunner, ServerDSN
from rig_load import Tables, Workload

SMALL = ("--load-table-size", "200")


def load(rig_runner: RigRunner, database: str, *args: str, **kwargs: Any) -> RigRun:
    return rig_runner.run_on_server("--plugin", "load", "--database", database, *SMALL, *args,
                                    **kwargs)


def test_point_select_reports_qps_percentiles_and_drops_its_tables(
        rig_runner: RigRunner, rig_database: str, rig_server: ServerDSN,
        table_names: Callable[[str], list[str]]) -> None:
    run = load(rig_runner, rig_database, "--connections", "3", "--load-duration", "1",
               "--load-report-interval", "0.5")

    assert run.exit_code == 0, run.output
    assert run.report is not None
    assert [c["final_state"] for c in run.report["connections"]] == ["completed"] * 3
    section = run.section("load")
    assert section["connections"] == 3
    assert section["qps"] > 0 and section["tps"] == section["qps"]
    assert section["events"] == sum(c["events"] for c in section["per_connection"])
    latency = section["latency_ms"]
    assert latency["count"] == section["events"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"] \
        <= latency["max"]
    assert section["errors"] == {"total": 0, "by_class": {}, "by_code": {}}
    assert [i["t_s"] for i in section["intervals"]] == [0.5, 1.0]
    assert sum(i["events"] for i in section["intervals"]) == section["events"]
    assert "thds: 3 tps:" in run.stderr  # the sysbench-like interval lines
    assert "load: point-select · 3 connection(s)" in run.stdout
    assert table_names(rig_database) == []  # the core dropped the table the run created
    created = [f"table {rig_database}.sbtest1 at {rig_server.address}"]
    assert run.report["scratch"] == {"created": created, "dropped": created, "left": []}


@pytest.mark.parametrize("workload", ["read-only", "read-write", "insert", "update-index"])
def test_every_workload_runs(rig_runner: RigRunner, rig_database: str, workload: str) -> None:
    run = load(rig_runner, rig_database, "--load-workload", workload, "--connections", "2",
               "--load-duration", "0.5", "--load-tables", "2")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["events"] > 0
    assert section["queries"]["total"] == section["events"] * {
        "read-only": 16, "read-write": 20, "insert": 1, "update-index": 1}[workload]


def test_rate_holds_the_target_well_under_capacity(rig_runner: RigRunner,
                                                   rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--load-rate", "200", "--connections", "2",
               "--load-duration", "3")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["rate_target"] == 200
    assert section["tps"] == pytest.approx(200, rel=0.10)


def test_ramp_up_starts_connections_in_order_over_the_ramp(rig_runner: RigRunner,
                                                           rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--connections", "4", "--load-ramp-up", "1",
               "--load-duration", "0.5", "--load-think-time", "0.005",
               "--load-report-interval", "0.25")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    started = [c["started_at_s"] for c in section["per_connection"]]
    assert [c["id"] for c in section["per_connection"]] == ["c1", "c2", "c3", "c4"]
    assert started == sorted(started)
    assert started[0] < 0.2 and 0.7 <= started[3] < 1.0  # c4's slot is at 3/4 of the ramp
    ramp = [i for i in section["intervals"] if i["ramp_up"]]
    assert [i["threads"] for i in ramp] == [1, 2, 3, 4]
    assert section["latency_ms"]["count"] == sum(
        i["events"] for i in section["intervals"] if not i["ramp_up"])


def test_prepare_only_with_keep_tables_then_skip_prepare_keeps_the_tables(
        rig_runner: RigRunner, rig_database: str, rig_server: ServerDSN,
        table_names: Callable[[str], list[str]]) -> None:
    prepared = load(rig_runner, rig_database, "--load-prepare-only", "--keep-tables",
                    "--load-tables", "2", "--connections", "2")
    assert prepared.exit_code == 0, prepared.output
    assert prepared.section("load")["qps"] is None
    assert "load: prepared 2 table(s) of 200 rows, kept for --load-skip-prepare" \
        in prepared.stdout
    assert table_names(rig_database) == ["sbtest1", "sbtest2"]
    connection = rig_server.connect()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(LENGTH(c)), MAX(LENGTH(pad)) "
                       f"FROM `{rig_database}`.sbtest2")
        assert cursor.fetchone() == (200, 119, 59)  # sysbench's layout
    connection.close()

    reused = load(rig_runner, rig_database, "--load-skip-prepare", "--load-tables", "2",
                  "--load-duration", "0.3")  # no --keep-tables: it created nothing to drop
    assert reused.exit_code == 0, reused.output
    assert reused.section("load")["events"] > 0
    assert table_names(rig_database) == ["sbtest1", "sbtest2"]
    assert reused.report is not None
    assert reused.report["scratch"] == {"created": [], "dropped": [], "left": []}


def test_prepare_only_without_keep_tables_exits_4_with_the_fix(
        rig_runner: RigRunner, rig_database: str,
        table_names: Callable[[str], list[str]]) -> None:
    run = load(rig_runner, rig_database, "--load-prepare-only")

    assert run.exit_code == 4, run.output
    assert "rig: error: --load-prepare-only without --keep-tables: the prepared tables would " \
        "be dropped at the end of the run: add --keep-tables to keep them for a later " \
        "--load-skip-prepare run" in run.stderr
    assert table_names(rig_database) == []


def test_keep_tables_keeps_what_the_run_created(
        rig_runner: RigRunner, rig_database: str, rig_server: ServerDSN,
        table_names: Callable[[str], list[str]]) -> None:
    run = load(rig_runner, rig_database, "--keep-tables", "--load-duration", "0.3")

    assert run.exit_code == 0, run.output
    assert table_names(rig_database) == ["sbtest1"]
    assert run.report is not None
    assert run.report["scratch"]["left"] == [
        f"table {rig_database}.sbtest1 at {rig_server.address}"]


def test_an_existing_table_exits_4_and_is_left_untouched(
        rig_runner: RigRunner, rig_database: str, rig_server: ServerDSN,
        table_names: Callable[[str], list[str]]) -> None:
    connection = rig_server.connect(database=rig_database)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE sbtest1 (id INT PRIMARY KEY, note VARCHAR(20))")
        cursor.execute("INSERT INTO sbtest1 VALUES (1, 'mine')")

    run = load(rig_runner, rig_database, "--load-tables", "2", "--connections", "2",
               "--load-workload", "update-index", "--load-duration", "0.3")

    assert run.exit_code == 4, run.output
    assert f"table {rig_database}.sbtest1 at {rig_server.address} already exists; rig never " \
        "changes what it did not create: use the tables as they are with " \
        "--load-skip-prepare, choose another --database, or drop them" in run.stderr
    assert "Traceback" not in run.output
    assert run.section("load")["qps"] is None  # no connection ran the load
    assert table_names(rig_database) == ["sbtest1"]  # sbtest2 (the run's) is dropped
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM sbtest1")
        assert cursor.fetchall() == ((1, "mine"),)
        cursor.execute("SHOW CREATE TABLE sbtest1")
        assert "`note` varchar(20)" in cursor.fetchone()[1]
    connection.close()


@pytest.fixture
def default_database(rig_server: ServerDSN) -> Iterator[str]:
    """The load plugin's default database ``rig_load``: absent before the test, dropped after
    it if a test made it."""
    connection = rig_server.connect()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA "
                       "WHERE SCHEMA_NAME = 'rig_load'")
        if cursor.fetchone()[0]:
            pytest.skip("the test server already has a database rig_load")
    try:
        yield "rig_load"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS rig_load")
        connection.close()


def schemata(server: ServerDSN, name: str) -> int:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA "
                           "WHERE SCHEMA_NAME = %s", (name,))
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def test_without_database_the_run_creates_rig_load_and_the_core_drops_it(
        rig_runner: RigRunner, rig_server: ServerDSN, default_database: str) -> None:
    run = rig_runner.run_on_server("--plugin", "load", *SMALL, "--connections", "2",
                                   "--load-tables", "2", "--load-duration", "0.3")

    assert run.exit_code == 0, run.output
    assert run.section("load")["events"] > 0
    assert run.report is not None
    database = f"database {default_database} at {rig_server.address}"
    tables = [f"table {default_database}.sbtest{n} at {rig_server.address}" for n in (1, 2)]
    assert sorted(run.report["scratch"]["created"]) == [database, *tables]
    assert run.report["scratch"]["dropped"] == [database]  # its tables went with it
    assert schemata(rig_server, default_database) == 0


def test_without_database_an_existing_rig_load_that_holds_tables_exits_4_untouched(
        rig_runner: RigRunner, rig_server: ServerDSN, default_database: str,
        table_names: Callable[[str], list[str]]) -> None:
    connection = rig_server.connect()
    with connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE rig_load")
        cursor.execute("CREATE TABLE rig_load.keep_me (id INT)")
    connection.close()

    run = rig_runner.run_on_server("--plugin", "load", *SMALL, "--load-duration", "0.3")

    assert run.exit_code == 4, run.output
    assert "database 'rig_load' at" in run.stderr and "choose another --database" in run.stderr
    assert table_names(default_database) == ["keep_me"]


def test_skip_prepare_without_tables_names_the_table_and_the_fix(
        rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--load-skip-prepare", "--load-duration", "0.3")

    assert run.exit_code == 4
    assert f"--load-skip-prepare: table {rig_database}.sbtest1 does not exist" in run.stderr
    assert "--load-prepare-only --keep-tables" in run.stderr
    assert "Traceback" not in run.output


@pytest.mark.parametrize(("args", "message"), [
    (["--load-workload", "nope"],
     "argument --load-workload: invalid value 'nope': unknown workload 'nope'; choose from "
     "point-select, read-only, read-write, insert, update-index"),
    (["--load-prepare-only", "--keep-tables", "--load-skip-prepare"],
     "--load-prepare-only and --load-skip-prepare exclude"),
    (["--load-rate", "10", "--load-think-time", "0.1"], "give only one of them"),
    (["--load-duration", "0"], "--load-duration"),
    (["--load-tables", "0"], "--load-tables"),
    (["--load-rate", "fast"], "--load-rate"),
    (["--duration", "0"], "--duration"),
    (["--keep-tables", "--load-keep-tables"], "--load-keep-tables"),
])
def test_bad_options_exit_4_with_one_line(rig_runner: RigRunner, rig_database: str,
                                          args: list[str], message: str) -> None:
    run = load(rig_runner, rig_database, *args)

    assert run.exit_code == 4, run.output
    assert message in run.stderr
    assert "Traceback" not in run.output
    assert len([line for line in run.stderr.splitlines() if "rig: error:" in line]) == 1


def test_a_connection_killed_from_outside_reconnects_and_the_gap_is_reported(
        rig_runner: RigRunner, rig_database: str, kill_a_loader: Any) -> None:
    killer = kill_a_loader()
    run = load(rig_runner, rig_database, "--connections", "2", "--load-duration", "2")
    killed = killer.stop()

    assert killed, "the load never showed up in the processlist"
    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["reconnects"] == 1
    assert section["errors"]["by_class"] == {"needs-reconnect": 1}
    [gap] = section["gaps"]
    assert gap["reconnected"] is True and gap["connection"] in ("c1", "c2")
    assert run.report is not None
    assert all(c["final_state"] == "completed" for c in run.report["connections"])


def _count_event(cursor: Any, tables: Tables) -> Callable[[], None]:
    sql = f"SELECT COUNT(*) FROM {tables.names[0]}"

    def event() -> None:
        cursor.execute(sql)
        cursor.fetchall()

    return event


class CountWorkloadPlugin:
    """A plugin that adds a workload through the load plugin's hook."""

    @staticmethod
    @rig.hookimpl
    def load_workloads() -> list[Workload]:
        return [Workload("count", "SELECT COUNT(*) per event", _count_event, reads=1)]


def test_another_plugin_adds_a_workload(rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--plugin", "counting", "--load-workload", "count",
               "--load-duration", "0.3", plugins=[("counting", CountWorkloadPlugin())])

    assert run.exit_code == 0, run.output
    assert run.section("load")["workload"] == "count"
    assert run.section("load")["events"] > 0


def test_two_plugins_adding_the_same_workload_exit_3_naming_it(
        rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--plugin", "counting,counting2",
               "--load-workload", "count", "--load-duration", "0.3",
               plugins=[("counting", CountWorkloadPlugin()),
                        ("counting2", CountWorkloadPlugin())])

    assert run.exit_code == 3, run.output
    assert "two plugins add the load workload 'count': rename one of them" in run.stderr


@pytest.mark.parametrize(("args", "measured"), [
    (("--duration", "0.5"), 0.5),
    (("--duration", "5", "--load-duration", "0.5"), 0.5),
])
def test_the_cores_duration_sets_the_measured_time_unless_load_duration_does(
        rig_runner: RigRunner, rig_database: str, args: tuple[str, ...],
        measured: float) -> None:
    run = load(rig_runner, rig_database, "--load-report-interval", "0.25", *args)

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["duration_s"] == measured
    assert section["intervals"][-1]["t_s"] == measured
