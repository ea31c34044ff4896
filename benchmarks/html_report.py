"""How big and how fast the HTML report of a one-hour load run is: a generated one-hour series
(3600 interval records of one second, as the load plugin writes them, with a fault period every
ten minutes) drawn through the load plugin's section and the report_html page, written with
rig.reportfile. Prints the size and the time; docs/performance.md holds the figures.

Usage: .venv/bin/python benchmarks/html_report.py [SECONDS]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rig.builtin import report_html
from rig.engine.results import Check, PluginRecord, RunResult, Verdict
from rig.reportfile import write_atomically
from rig.timeline import EventKind, Timeline


def one_hour(seconds: int) -> dict[str, Any]:
    """A load section with one interval record per second."""
    rng = random.Random(1)
    intervals = []
    for t in range(1, seconds + 1):
        tps = 5000 + rng.uniform(-800, 800)
        p50 = 0.4 + rng.random() * 0.1
        intervals.append({"t_s": t, "at_s": t + 2.0, "seconds": 1.0, "threads": 16,
                          "events": int(tps), "tps": round(tps, 2), "qps": round(tps * 20, 2),
                          "p50_ms": round(p50, 3), "p95_ms": round(p50 * 3, 3),
                          "p99_ms": round(p50 * 5, 3), "max_ms": round(p50 * 20, 3),
                          "errors": rng.randrange(3), "reconnects": 0, "ramp_up": False})
    return {"workload": "oltp-read-write", "connections": 16, "tables": 4, "table_size": 10000,
            "driver": "pymysql", "tps": 5000, "qps": 100000, "measured_s": seconds,
            "latency_ms": {"count": 1, "min": 0.1, "p50": 0.4, "p95": 1.2, "p99": 2.0,
                           "max": 9.0, "mean": 0.5},
            "errors": {"total": 3600, "by_class": {"transient": 3600}, "by_code": {"1213": 3600}},
            "intervals": intervals,
            "per_connection": [{"id": f"c{i}", "started_at_s": 0.0, "events": 1000, "errors": 0,
                                "reconnects": 0, "gaps": []} for i in range(1, 17)]}


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 3600
    clock = iter(float(t) for t in range(0, seconds + 10, 300))
    timeline = Timeline(clock=lambda: next(clock))
    for _ in range(seconds // 600):
        timeline.add("fault.kill", source="chaos", kind=EventKind.START)
        timeline.add("fault.kill", source="chaos", kind=EventKind.END)
    result = RunResult(rig_version="bench", started_at=time.time(), duration_s=seconds + 3.0,
                       plugins=[PluginRecord("load", "rig-plugin-load", "0.2.0")])
    result.timeline = timeline.events
    result.sections["load"] = one_hour(seconds)
    for i in range(50):
        result.add_check(Check(f"check {i}", Verdict.PASS, "ok", "c1", "load"))
    from rig_load import html_section

    config = SimpleNamespace(selected_plugins=["load"], effective_settings=lambda: [])
    began = time.perf_counter()
    section = html_section.html_section(result)  # type: ignore[arg-type]
    assert section is not None
    # the page as report_html draws it, with the load plugin's section (no plugin host here)
    report_html.plugin_sections = lambda r, c: [("load", section)]  # type: ignore[assignment]
    text = report_html.render(result, config)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.html"
        write_atomically(path, text)
        elapsed = time.perf_counter() - began
        size = path.stat().st_size
    print(f"{seconds} one-second intervals: {size / 1e6:.2f} MB written in {elapsed:.3f} s "
          f"(the load section's data {len(str(section.data)) / 1e6:.2f} MB of it)")


if __name__ == "__main__":
    main()
