"""The job_monitor plugin's section of the HTML report: progress and rows over time per job
(every timeline period shaded), with the ETA and status of each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import rig


def _at(text: str | None, began: float) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - began


def html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    """The section, or ``None`` when no job was seen."""
    data = result.sections.get("job_monitor")
    if not data:
        return None
    jobs: list[dict[str, Any]] = data.get("jobs") or []
    if not jobs:
        return rig.HtmlSection("Jobs", rig.html.tag("p", "No job was seen."))
    began = result.started_at
    spans = rig.html.periods(result.timeline)
    progress: dict[str, list[tuple[float, float | None]]] = {}
    rows: dict[str, list[tuple[float, float | None]]] = {}
    for job in jobs:
        name = f"{job['kind']} {job['id']}"
        points = [(_at(s["at"], began), s) for s in job.get("samples") or []]
        progress[name] = [(x, s["progress_pct"]) for x, s in points if x is not None]
        rows[name] = [(x, None if s["rows"] is None else float(s["rows"]))
                      for x, s in points if x is not None]
    x_range = (0.0, max(result.duration_s, 1.0))
    body = rig.html.line_chart(progress, title="Progress per job", y_label="%", periods=spans,
                               x_range=x_range)
    if any(y is not None for points in rows.values() for _x, y in points):
        body += rig.html.line_chart(rows, title="Rows per job", y_label="rows", periods=spans,
                                    x_range=x_range)
    body += rig.html.table(
        ["job", "kind", "target", "status", "progress %", "rows", "rows/s", "ETA", "elapsed s"],
        [[job["id"], job["kind"], job.get("target") or "", job["status"],
          job.get("progress_pct"), job.get("rows"), job.get("rows_per_s"), job.get("eta") or "",
          job.get("elapsed_s")] for job in jobs])
    return rig.HtmlSection("Jobs", body)
