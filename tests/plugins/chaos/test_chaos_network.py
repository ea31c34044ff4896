"""Network faults through the chaos proxy on a real sandbox server, under load: each kind has an
observable effect on the load's intervals (measured on intervals wholly inside the fault: lower
bounds on time only, no wall-clock windows) and is undone (throughput comes back), the report's
chaos section holds each fault with what it did, and a partition under the consistency plugin
leaves no false anomaly."""

from __future__ import annotations

from typing import Any

import rig_chaos
from rig.testing import RigRunner

PLUGINS = [("chaos", rig_chaos)]
INTERVAL = "0.5"


def faults_by_kind(run: Any) -> dict[str, dict[str, Any]]:
    faults = run.section("chaos")["faults"]
    assert all(f["verdict"] == "pass" for f in faults), faults
    return {f["kind"]: f for f in faults}


def inside(run: Any, fault: dict[str, Any]) -> list[dict[str, Any]]:
    """load's intervals wholly inside the fault (at least one)."""
    found = [r for r in run.section("load")["intervals"]
             if r["start_s"] >= fault["start_s"] and r["end_s"] <= fault["end_s"]]
    assert found, f"no interval wholly inside {fault['label']}"
    assert all(fault["label"] in {f["detail"] for f in r["faults"]} for r in found)
    return found


def after(run: Any, fault: dict[str, Any]) -> list[dict[str, Any]]:
    """load's intervals that began after the fault ended, without another fault."""
    return [r for r in run.section("load")["intervals"]
            if r["start_s"] >= fault["end_s"] and not r["faults"]]


def test_latency_bandwidth_reset_and_refuse_each_show_on_the_load_and_are_undone(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--plugin", "load,chaos", "--connections", "2", "--chaos",
                         "latency=100ms@1s+1.5s, bandwidth=2kB@3.5s+1.5s, reset@6s, "
                         "refuse@7s+1.5s", "--duration", "12", "--load-report-interval",
                         INTERVAL, plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.report is not None
    faults = faults_by_kind(run)
    # the connections went through the proxy, but the report names the sandbox server
    chaos = run.section("chaos")
    assert chaos["proxy"]["accepted"] >= 3 and chaos["proxy"]["open"] == 0
    ports = {c["port"] for c in run.report["connections"]}
    assert str(chaos["proxy"]["port"]) not in run.output and chaos["proxy"]["port"] not in ports

    latency = faults["latency"]
    assert all(r["p95_ms"] >= 100.0 for r in inside(run, latency)), inside(run, latency)
    assert any(r["p95_ms"] is not None and r["p95_ms"] < 100.0 for r in after(run, latency))

    bandwidth = faults["bandwidth"]
    # a point select's reply is over 100 bytes: 2 kB/s per connection and direction lets
    # at most 2 * 2000 / 100 transactions a second through
    assert all(r["tps"] <= 40 for r in inside(run, bandwidth)), inside(run, bandwidth)
    assert any(r["tps"] > 40 for r in after(run, bandwidth))

    reset = faults["reset"]
    assert reset["injected"]["reset_connections"] >= 2  # the two workers at least
    assert run.section("load")["reconnects"] >= 2
    assert reset["effect"]["first_success_after_s"] is not None
    assert reset["effect"]["first_success_after_s"] is not None

    refuse = faults["refuse"]
    assert refuse["injected"]["reset_connections"] >= 2
    assert all(r["tps"] == 0 for r in inside(run, refuse))
    assert any(r["tps"] > 0 for r in after(run, refuse))
    assert refuse["effect"]["probe_errors_during"] >= 1  # connects refused
    assert refuse["effect"]["first_success_after_s"] is not None
    for kind in ("latency", "bandwidth", "refuse"):
        assert [e["kind"] for e in run.report["timeline"]
                if e["name"] == f"chaos.{kind}"] == ["start", "end"]
    assert "[chaos: latency=100ms]" in run.output


def test_a_partition_stops_everything_and_a_partial_one_only_some_connections(
        rig_runner: RigRunner) -> None:
    # the load on the coordinator's own connections (PyMySQL, threads): with the C driver or
    # worker processes, each worker opens a second connection and the coordinator's idle ones
    # count among those ``partial`` may cut, so it could cut every working one
    run = rig_runner.run("--sandbox", "--plugin", "load,chaos", "--connections", "4", "--chaos",
                         "partition@1s+1.5s, partial=0.5@3.5s+2s", "--duration", "7",
                         "--load-report-interval", INTERVAL, "--load-driver", "pymysql",
                         "--load-processes", "1", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    faults = faults_by_kind(run)

    partition = faults["partition"]
    assert partition["injected"]["cut_connections"] == partition["injected"]["open_connections"]
    assert all(r["tps"] == 0 for r in inside(run, partition))
    assert any(r["tps"] > 0 for r in after(run, partition))
    assert partition["effect"]["dip"]["drop"] == 1.0
    assert partition["effect"]["first_success_after_s"] is not None

    partial = faults["partial"]
    cut, open_ = partial["injected"]["cut_connections"], partial["injected"]["open_connections"]
    assert 1 <= cut < open_
    # cut: a transaction stuck from the cut to the heal; the others go on meanwhile
    assert run.section("load")["latency_ms"]["max"] >= 1000.0
    assert all(r["tps"] > 0 for r in inside(run, partial)), inside(run, partial)
    assert partial["effect"]["first_success_after_s"] is not None


def test_a_partition_under_consistency_leaves_no_false_anomaly(rig_runner: RigRunner) -> None:
    """A blackhole cuts every client off for 2 s; held, not dropped, their transactions
    complete after the heal (no client timeout is shorter), and the history stays valid."""
    run = rig_runner.run("--sandbox", "--plugin", "consistency,chaos", "--isolation-level",
                         "serializable", "--chaos", "partition@2s+2s", "--duration", "8",
                         plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    (fault,) = run.section("chaos")["faults"]
    assert fault["verdict"] == "pass", fault
    consistency = run.section("consistency")
    assert fault["injected"]["cut_connections"] >= consistency["clients"]
    assert consistency["result"]["valid"] is True, consistency["result"]
    transactions = consistency["transactions"]
    assert transactions["ok"] + transactions["fail"] + transactions["info"] \
        == transactions["invoked"]
