"""The load plugin on a real server: workloads, figures, ramp-up, rate, prepare modes, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, ServerDSN
from rig_load import Tables, Workload

SMALL = ("--table-size", "200")


def load(rig_runner: RigRunner, database: str, *args: str, **kwargs: Any) -> Any:
    return rig_runner.run("--plugin", "load", "--database", database, *SMALL, *args, **kwargs)


def test_point_select_reports_qps_percentiles_and_drops_its_tables(
        rig_runner: RigRunner, rig_database: str, table_names: Callable[[], list[str]]) -> None:
    run = load(rig_runner, rig_database, "--connections", "3", "--duration", "1",
               "--report-interval", "0.5")

    assert run.exit_code == 0, run.output
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
    assert table_names() == []


@pytest.mark.parametrize("workload", ["read-only", "read-write", "insert", "update-index"])
def test_every_workload_runs(rig_runner: RigRunner, rig_database: str, workload: str) -> None:
    run = load(rig_runner, rig_database, "--workload", workload, "--connections", "2",
               "--duration", "0.5", "--tables", "2")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["events"] > 0
    assert section["queries"]["total"] == section["events"] * {
        "read-only": 16, "read-write": 20, "insert": 1, "update-index": 1}[workload]


def test_rate_holds_the_target_well_under_capacity(rig_runner: RigRunner,
                                                   rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--rate", "200", "--connections", "2",
               "--duration", "3")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["rate_target"] == 200
    assert section["tps"] == pytest.approx(200, rel=0.10)


def test_ramp_up_starts_connections_in_order_over_the_ramp(rig_runner: RigRunner,
                                                           rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--connections", "4", "--ramp-up", "1",
               "--duration", "0.5", "--think-time", "0.005", "--report-interval", "0.25")

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


def test_prepare_only_then_skip_prepare_keeps_the_tables(
        rig_runner: RigRunner, rig_database: str, rig_server: ServerDSN,
        table_names: Callable[[], list[str]]) -> None:
    prepared = load(rig_runner, rig_database, "--prepare-only", "--tables", "2",
                    "--connections", "2")
    assert prepared.exit_code == 0, prepared.output
    assert prepared.section("load")["qps"] is None
    assert table_names() == ["sbtest1", "sbtest2"]
    connection = rig_server.connect()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(LENGTH(c)), MAX(LENGTH(pad)) "
                       f"FROM `{rig_database}`.sbtest2")
        assert cursor.fetchone() == (200, 119, 59)  # sysbench's layout
    connection.close()

    reused = load(rig_runner, rig_database, "--skip-prepare", "--tables", "2",
                  "--duration", "0.3")
    assert reused.exit_code == 0, reused.output
    assert reused.section("load")["events"] > 0
    assert table_names() == ["sbtest1", "sbtest2"]


def test_skip_prepare_without_tables_names_the_table_and_the_fix(
        rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--skip-prepare", "--duration", "0.3")

    assert run.exit_code == 4
    assert f"--skip-prepare: table {rig_database}.sbtest1 does not exist" in run.stderr
    assert "--prepare-only" in run.stderr
    assert "Traceback" not in run.output


@pytest.mark.parametrize(("args", "message"), [
    (["--workload", "nope"], "argument --workload: invalid value 'nope': unknown workload"),
    (["--prepare-only", "--skip-prepare"], "--prepare-only and --skip-prepare exclude"),
    (["--rate", "10", "--think-time", "0.1"], "give only one of them"),
    (["--duration", "0"], "--duration"),
    (["--tables", "0"], "--tables"),
    (["--rate", "fast"], "--rate"),
])
def test_bad_options_exit_4_with_one_line(rig_runner: RigRunner, rig_database: str,
                                          args: list[str], message: str) -> None:
    run = load(rig_runner, rig_database, *args)

    assert run.exit_code == 4, run.output
    assert message in run.stderr
    assert "Traceback" not in run.output


def test_a_connection_killed_from_outside_reconnects_and_the_gap_is_reported(
        rig_runner: RigRunner, rig_database: str, kill_a_loader: Any) -> None:
    killer, killed = kill_a_loader()
    run = load(rig_runner, rig_database, "--connections", "2", "--duration", "2")
    killer.join()

    assert killed, "the load never showed up in the processlist"
    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert section["reconnects"] == 1
    assert section["errors"]["by_class"] == {"needs-reconnect": 1}
    [gap] = section["gaps"]
    assert gap["reconnected"] is True and gap["connection"] in ("c1", "c2")
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
    def rig_load_workloads() -> list[Workload]:
        return [Workload("count", "SELECT COUNT(*) per event", _count_event, reads=1)]


def test_another_plugin_adds_a_workload(rig_runner: RigRunner, rig_database: str) -> None:
    run = load(rig_runner, rig_database, "--plugin", "counting", "--workload", "count",
               "--duration", "0.3", plugins=[("counting", CountWorkloadPlugin())])

    assert run.exit_code == 0, run.output
    assert run.section("load")["workload"] == "count"
    assert run.section("load")["events"] > 0
