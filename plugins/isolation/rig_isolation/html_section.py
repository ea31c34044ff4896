"""The isolation plugin's section of the HTML report: the matrix as a colour grid (levels by
anomalies), each cell's evidence (the tests behind it, what they read, what blocked) one click
away."""

from __future__ import annotations

import json
from typing import Any

import rig
from rig_isolation.catalog import ANOMALY_CODES, BY_ID

_CSS = {"prevented": "prevented", "prevented-read-only": "prevented", "anomaly": "anomaly",
        "unsupported": "undecided", "error": "error"}


def _evidence(tests: dict[str, Any], anomaly: str) -> rig.html.Markup:
    parts = []
    for test_id, run in tests.items():
        test = BY_ID.get(test_id)
        if test is None or test.code != anomaly:
            continue
        evidence = run.get("evidence") or {}
        parts.append(rig.html.tag("p", rig.html.tag("b", f"{test_id}: {run.get('result')}")
                                  + f" — {evidence.get('why', '')}"))
        rest = {k: v for k, v in evidence.items() if k != "why" and v}
        if rest:
            parts.append(rig.html.tag("pre", json.dumps(rest, indent=1, ensure_ascii=False)))
    return rig.html.join(parts) if parts else rig.html.tag("p", "no test probes it here")


def grid(section: dict[str, Any]) -> rig.html.Markup:
    """The levels-by-anomalies grid of one run's section."""
    anomalies: dict[str, dict[str, str]] = section.get("anomalies") or {}
    tests: dict[str, dict[str, Any]] = section.get("tests") or {}
    deviations = {(d["level"], d["anomaly"]) for d in section.get("deviations") or []}
    levels = list(anomalies)
    columns = [code for code in ANOMALY_CODES if any(code in row for row in anomalies.values())]
    cells = {}
    for level, row in anomalies.items():
        for code, outcome in row.items():
            shown = outcome + (" !" if (level, code) in deviations else "")
            cells[(level, code)] = (_CSS.get(outcome, "undecided"), shown,
                                    _evidence(tests.get(level, {}), code))
    return rig.html.bar_grid(levels, columns, cells)


def html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    """The section, or ``None`` when the plugin did not report."""
    section = result.sections.get("isolation")
    if not section:
        return None
    server = section.get("server") or {}
    intro = rig.html.tag("p", (
        f"{server.get('flavor', '')} {server.get('version_string', '')}, default isolation "
        f"{server.get('default_isolation', '?')}. Green: prevented; red: anomaly; "
        "! marks a result weaker than the SQL standard promises. Click a cell for its "
        "evidence."))
    body = intro + grid(section)
    for conn_id, run in (section.get("connections") or {}).items():
        body += rig.html.tag("h3", f"connection {conn_id}") + grid(run)
    deviations = section.get("deviations") or []
    if deviations:
        body += rig.html.tag("h3", "Weaker than the standard promises") + rig.html.table(
            ["level", "anomaly", "observed", "promised"],
            [[d["level"], d["anomaly"], d["observed"], d["promised"]] for d in deviations])
    return rig.HtmlSection("Isolation matrix", body)
