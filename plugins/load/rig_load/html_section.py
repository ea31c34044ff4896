"""The load plugin's section of the HTML report (and its plots on the dashboard): throughput and
p50/p95/p99/max latency per interval over time, every timeline period shaded; errors by class
and code; the spread over connections; with Ray, where each actor ran."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import rig


def _x(record: dict[str, Any]) -> float:
    return float(record.get("at_s", record["t_s"]))


def charts(intervals: Sequence[dict[str, Any]], periods: Iterable[rig.TimelinePeriod] = (),
           x_range: tuple[float, float] | None = None) -> rig.html.Markup:
    """The throughput plot and the latency plot of ``intervals`` (the load section's records),
    on the run's time axis."""
    spans = list(periods)
    throughput = rig.html.line_chart(
        {"tps": [(_x(r), r["tps"]) for r in intervals],
         "qps": [(_x(r), r["qps"]) for r in intervals],
         "errors/s": [(_x(r), r["errors"] / max(r["seconds"], 1e-9)) for r in intervals]},
        title="Throughput per interval", y_label="per second", periods=spans, x_range=x_range)
    latency = rig.html.line_chart(
        {f"{name}": [(_x(r), r.get(f"{name}_ms")) for r in intervals]
         for name in ("p50", "p95", "p99", "max")},
        title="Latency per interval", y_label="ms", periods=spans, x_range=x_range)
    return throughput + latency


def _ray_actors(placement: dict[str, Any]) -> rig.html.Markup:
    """With ``--load-executor ray``: where each actor ran, its clock, and those lost."""
    if placement.get("name") != "ray":
        return rig.html.Markup("")
    actors = placement.get("actors") or []
    lost = sum(1 for actor in actors if actor.get("lost"))
    return rig.html.tag("h3", f"Ray actors: {len(actors)} on {placement.get('nodes')} node(s)"
                        + (f", {lost} lost" if lost else "")) + rig.html.table(
        ["actor", "node", "node id", "pid", "connections", "clock offset (ms)", "lost"],
        [[a["actor"], a["node_ip"], a["node_id"][:12], a["pid"], " ".join(a["connections"]),
          round(a["clock_offset_s"] * 1000, 3), a.get("lost") or ""] for a in actors])


def html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    """The section, or ``None`` when the plugin did not report."""
    data = result.sections.get("load")
    if not data:
        return None
    intervals = data.get("intervals") or []
    duration = max([result.duration_s, *(_x(r) for r in intervals)])
    body = rig.html.tag("p", (
        f"workload {data.get('workload')}, {data.get('connections')} connections, "
        f"{data.get('tables')} tables of {data.get('table_size')} rows, driver "
        f"{data.get('driver')}: {data.get('tps')} tps, {data.get('qps')} qps over "
        f"{data.get('measured_s', 0)} s measured. Shaded: the timeline's periods (faults, "
        "phases)."))
    body += charts(intervals, rig.html.periods(result.timeline), (0.0, duration))
    latency = data.get("latency_ms") or {}
    if latency.get("count"):
        keys = ("min", "p50", "p95", "p99", "max", "mean")
        body += rig.html.tag("h3", "Latency over the measured window (ms)") + rig.html.table(
            ["events", *keys], [[latency["count"], *(latency.get(k) for k in keys)]])
    errors = data.get("errors") or {}
    body += rig.html.tag("h3", f"Errors: {errors.get('total', 0)}")
    if errors.get("total"):
        body += rig.html.table(["class", "count"], sorted(
            (errors.get("by_class") or {}).items())) + rig.html.table(
            ["code", "count"], sorted((errors.get("by_code") or {}).items()))
    workers = data.get("per_connection") or []
    if workers:
        events = sorted(w["events"] for w in workers)
        spread = (f"events per connection: min {events[0]}, median {events[len(events) // 2]}, "
                  f"max {events[-1]}")
        body += rig.html.tag("h3", "Per connection") + rig.html.tag("p", spread) + \
            rig.html.table(["connection", "started at (s)", "events", "p99 (ms)", "errors",
                            "reconnects", "gaps"],
                           [[w["id"], w.get("started_at_s"), w["events"],
                             (w.get("latency_ms") or {}).get("p99"), w["errors"],
                             w["reconnects"], len(w.get("gaps") or [])] for w in workers])
    body += _ray_actors(data.get("placement") or {})
    keep = ("t_s", "at_s", "tps", "qps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors")
    return rig.HtmlSection("Load", body, data={
        "intervals": [{k: r.get(k) for k in keep} for r in intervals]})
