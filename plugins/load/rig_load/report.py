"""The ``load`` section of the JSON report and the lines of the console summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rig
from rig_load import availability
from rig_load.options import LoadOptions, describe_processes
from rig_load.run import LoadRun
from rig_load.states import RUN_KEY


def find_run(result: rig.RunResult) -> LoadRun | None:
    """The run the connections shared, if any got that far."""
    for conn in result.connections:
        run = conn.data.get(RUN_KEY) if conn.data is not None else None
        if run is not None:
            return run
    return None


def section(result: rig.RunResult, options: LoadOptions) -> dict[str, Any]:
    """The ``load`` section: settings, throughput, latency, errors, intervals, connections."""
    base: dict[str, Any] = {
        "workload": options.workload,
        "tables": options.tables,
        "table_size": options.table_size,
        "duration_s": options.duration,
        "ramp_up_s": options.ramp_up,
        "rate_target": options.rate or None,
        "think_time_s": options.think_time,
        "prepare_only": options.prepare_only,
        "executor": options.executor,
        "processes": options.processes,
        "processes_reason": options.processes_reason,
        "driver": options.driver,
        "driver_reason": options.driver_reason,
    }
    run = find_run(result)
    if run is None:
        return {**base, "connections": 0, "qps": None, "tps": None, "latency_ms": None,
                "errors": {"total": 0, "by_class": {}, "by_code": {}}, "intervals": []}
    run.close()
    workload = run.workload
    measured = run.measured_s
    events = run.total.count
    errors = run.errors()
    by_class: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for (error_class, code), count in errors.items():
        by_class[error_class] = by_class.get(error_class, 0) + count
        by_code[str(code)] = by_code.get(str(code), 0) + count
    workers = [run.workers[w].as_json() for w in run.plan.order if w in run.workers]
    cpu_s = run.client_cpu_s()
    # every query of the run (ramp-up included), as the CPU time covers the whole run
    queries = sum(w["events"] for w in workers) * workload.queries_per_event
    return {
        **base,
        "connections": len(run.plan.order),
        "measured_s": round(measured, 3),
        "client_cpu_s": None if cpu_s is None else round(cpu_s, 3),
        "client_cpu_us_per_query": None if cpu_s is None or not queries
        else round(cpu_s / queries * 1e6, 2),
        "events": events,
        "queries": {"total": events * workload.queries_per_event,
                    "read": events * workload.reads, "write": events * workload.writes,
                    "other": events * workload.other},
        "tps": round(events / measured, 2),
        "qps": round(events * workload.queries_per_event / measured, 2),
        "latency_ms": run.total.summary_ms(),
        "errors": {"total": sum(errors.values()), "by_class": by_class, "by_code": by_code},
        "reconnects": sum(w["reconnects"] for w in workers),
        "gaps": [{"connection": w["id"], **gap} for w in workers for gap in w["gaps"]],
        "availability": availability.of_run(run),
        "intervals": run.intervals,
        "per_connection": workers,
        "failures": run.failures,
        "placement": None if run.pool is None else run.pool.as_json(),
    }


def summary_lines(data: dict[str, Any], write: Callable[[str], None]) -> None:
    """sysbench-like closing lines."""
    if data["qps"] is None:
        if data["prepare_only"]:
            write(f"load: prepared {data['tables']} table(s) of {data['table_size']} rows, "
                  "kept for --load-skip-prepare")
        return
    latency = data["latency_ms"]
    write(f"load: {data['workload']} · {data['connections']} connection(s) · "
          f"{data['measured_s']:g}s measured")
    processes = describe_processes(data["processes"], data["executor"])
    write(f"    driver {data['driver']} ({data['driver_reason']}) · {processes} "
          f"({data['processes_reason']})")
    write(f"    transactions: {data['events']} ({data['tps']:.2f} per s) · queries: "
          f"{data['queries']['total']} ({data['qps']:.2f} per s)")
    if latency.get("count"):
        write(f"    latency (ms): min {latency['min']:.3f} · p50 {latency['p50']:.3f} · "
              f"p95 {latency['p95']:.3f} · p99 {latency['p99']:.3f} · max {latency['max']:.3f}")
    placement = data.get("placement") or {}
    if placement.get("name") == "ray":
        write(f"    ray: {len(placement['actors'])} actor(s) on {placement['nodes']} node(s) at "
              f"{placement['address']}")
        for actor in placement["actors"]:
            if actor["lost"]:
                write(f"    lost: the actor on node {actor['node_ip']} "
                      f"({actor['node_id'][:12]}) with {', '.join(actor['connections'])}: "
                      f"{actor['lost']}")
    errors = data["errors"]
    detail = ", ".join(f"{name} {count}" for name, count in errors["by_class"].items())
    write(f"    errors: {errors['total']}{f' ({detail})' if detail else ''} · reconnects: "
          f"{data['reconnects']}")
    for gap in data["gaps"]:
        back = "" if gap["reconnected"] else " (not back by the end)"
        write(f"    gap: {gap['connection']} lost its connection at {gap['at_s']:g}s for "
              f"{gap['duration_s']:g}s{back}")
    figures = data["availability"]
    for stall in figures["stalls"]:
        write(f"    stall: no event completed or failed from {stall['at_s']:g}s for "
              f"{stall['duration_s']:g}s (the server did not answer)")
    faults = figures["during_faults"]
    if figures["lost_s"] or figures["stalls"] or faults["lost_s"] or faults["stalled_s"]:
        verdict = "FAIL" if figures["verdict"] == "fail" else "ok"
        write(f"    availability {verdict}: {availability.describe(figures)}")
