"""``--load-executor ray``: the workers run as Ray actors on the nodes of a real Ray cluster
(Ray's own multi-node test cluster, every node a real raylet on this machine), their
histograms shipped as histoblobs and merged exactly in rig's process; a node that dies is
reported with its share of the load while the others run on."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from ray.cluster_utils import Cluster  # type: ignore[import-untyped]

from rig.testing import RigRunner

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    """A head node that runs no actor (no CPU) and two worker nodes of one CPU each."""
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def worker_nodes(cluster: Cluster) -> set[str]:
    return {node.node_id for node in cluster.worker_nodes}


def run_load(rig_runner: RigRunner, database: str, *args: str) -> Any:
    return rig_runner.run_on_server(
        "--plugin", "load", "--database", database, "--load-table-size", "200",
        "--load-executor", "ray", *args)


def merged(blobs: list[str]) -> Any:
    """The connections' histoblobs merged here, with HdrHistogram itself."""
    total = HdrHistogram(1, 3_600_000_000, 3)
    for blob in blobs:
        total.add(HdrHistogram.decode(blob.encode("ascii")))
    return total


def test_the_total_is_the_workers_histograms_merged(rig_runner: RigRunner, rig_database: str,
                                                   ray_cluster: Cluster,
                                                   tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    run = run_load(rig_runner, rig_database, "--load-ray-address", ray_cluster.address,
                   "--connections", "4", "--load-duration", "2",
                   "--load-report-interval", "0.5", "--report-html", str(page))

    assert run.exit_code == 0, run.output
    section = run.section("load")
    placement = section["placement"]
    assert (placement["name"], placement["nodes"]) == ("ray", 2)
    assert {a["node_id"] for a in placement["actors"]} == worker_nodes(ray_cluster)
    connections = section["per_connection"]
    assert [c["id"] for c in connections] == ["c1", "c2", "c3", "c4"]
    assert all(c["events"] > 0 for c in connections)
    on = {actor["connections"][0]: actor["node_id"] for actor in placement["actors"]}
    assert {c["id"]: c["where"]["node_id"] for c in connections} == on

    # nothing lost or counted twice on the way: every event is in one interval and the total
    events = sum(c["events"] for c in connections)
    assert section["events"] == section["latency_ms"]["count"] == events
    assert sum(i["events"] for i in section["intervals"]) == events
    # merged exactly: the percentiles of all the workers' samples together, not an average
    everything = merged([c["histogram"] for c in connections])
    assert everything.get_total_count() == events
    latency = section["latency_ms"]
    for name, percent in (("p50", 50), ("p95", 95), ("p99", 99)):
        assert latency[name] == round(everything.get_value_at_percentile(percent) / 1000, 3)
    assert latency["max"] == round(everything.get_max_value() / 1000, 3)
    assert "ray: 4 actor(s) on 2 node(s)" in run.stdout
    html = page.read_text()
    assert "Ray actors: 4 on 2 node(s)" in html
    assert all(node_id[:12] in html for node_id in worker_nodes(ray_cluster))


def test_the_target_rate_is_shared_out_among_the_actors(rig_runner: RigRunner,
                                                       rig_database: str,
                                                       ray_cluster: Cluster) -> None:
    run = run_load(rig_runner, rig_database, "--load-ray-address", ray_cluster.address,
                   "--connections", "4", "--load-duration", "2", "--load-rate", "200")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    # open loop: each connection runs 50 events a second on its own schedule, so the measured
    # window holds the scheduled events, whatever their latency (one more per connection at
    # most, where a schedule's offset puts one on the window's edge)
    assert 400 <= section["events"] <= 404
    assert all(100 <= c["events"] <= 101 for c in section["per_connection"])


def test_a_node_that_dies_is_reported_with_its_share(
        rig_runner: RigRunner, rig_database: str, ray_cluster: Cluster, processlist: Any,
        wait_for: Callable[..., Any]) -> None:
    # a third one-CPU node: three actors of one CPU each, one per node
    victim = ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    seen: set[int] = set()
    stop = threading.Event()
    removed: list[bool] = []

    def every_actor_runs_queries() -> bool:
        seen.update(processlist.ids("SELECT c FROM%", rig_database))
        return len(seen) >= 3

    def kill_the_node() -> None:
        if wait_for(every_actor_runs_queries, "the actors' queries", stop=stop):
            ray_cluster.remove_node(victim)
            removed.append(True)

    killer = threading.Thread(target=kill_the_node)
    killer.start()
    try:
        run = run_load(rig_runner, rig_database, "--load-ray-address", ray_cluster.address,
                       "--connections", "3", "--load-duration", "4")
    finally:
        stop.set()
        killer.join()
        if not removed:
            ray_cluster.remove_node(victim)

    assert removed, "the actors never showed up in the processlist"
    assert run.exit_code == 3, run.output
    placement = run.section("load")["placement"]
    [lost] = [a for a in placement["actors"] if a["lost"]]
    assert lost["node_id"] == victim.node_id
    assert "its node has died" in lost["lost"]
    [gone] = lost["connections"]
    states = {c["id"]: c["final_state"] for c in run.report["connections"]}
    assert states == {c: "error" if c == gone else "completed" for c in ("c1", "c2", "c3")}
    [failure] = run.section("load")["failures"].values()
    assert f"the Ray load actor on node {lost['node_ip']} ({victim.node_id[:12]}) died" \
        in failure
    assert f"it ran {gone} (1 of 3 connections, 33 % of the load)" in failure
    assert f"rig: error: {failure}" in run.stderr
    # the run went on: the other two actors' connections ran to the end
    others = [c for c in run.section("load")["per_connection"] if c["id"] != gone]
    assert all(c["events"] > 0 for c in others)
    assert run.section("load")["intervals"][-1]["events"] > 0
    assert "lost: the actor on node" in run.stdout


def test_executor_ray_starts_a_local_ray_instance_by_default(rig_runner: RigRunner,
                                                            rig_database: str) -> None:
    run = rig_runner.run_on_server(
        "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--executor", "ray", "--connections", "2", "--load-duration", "1")

    assert run.exit_code == 0, run.output
    section = run.section("load")
    assert (section["executor"], section["placement"]["address"]) == ("ray", "local")
    assert section["processes_reason"] == "auto: one Ray actor per connection"
    assert "2 Ray actors (auto: one Ray actor per connection)" in run.stdout


def test_without_ray_the_error_says_how_to_install_it(rig_runner: RigRunner,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what a failed import of ray looks like
    run = rig_runner.run_on_server("--plugin", "load", "--load-executor", "ray")

    assert run.exit_code == 4, run.output
    assert run.stderr.strip().splitlines()[-1].startswith(
        "rig: error: --load-executor ray: Ray is not installed")
    assert run.stderr.strip().endswith(": pip install 'rig-plugin-load[ray]'")


def test_a_ray_address_without_the_ray_executor_is_refused(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "load", "--load-ray-address", "10.0.0.1:6379")

    assert run.exit_code == 4, run.output
    assert "--load-ray-address applies only with --load-executor ray" in run.stderr


def test_a_ray_address_where_nothing_listens_is_one_line(rig_runner: RigRunner,
                                                         rig_database: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    run = run_load(rig_runner, rig_database, "--load-ray-address", f"127.0.0.1:{port}")

    assert run.exit_code == 5, run.output
    assert f"rig: error: cannot join the Ray cluster at 127.0.0.1:{port}: Connection " \
        "refused: start it with 'ray start --head'" in run.stderr
    assert "Traceback" not in run.stderr
