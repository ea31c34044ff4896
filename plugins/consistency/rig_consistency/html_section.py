"""The consistency plugin's section of the HTML report: per isolation level the verdict, and
each anomaly with its explanation and its cycle drawn (:meth:`Anomaly.svg`)."""

from __future__ import annotations

from collections.abc import Sequence

import rig
from rig_consistency.workflow import ConsistencyRun

EXAMPLES = 5
"""Anomalies drawn per type; the others are counted."""


def html_section(runs: Sequence[ConsistencyRun]) -> rig.HtmlSection | None:
    """The section, or ``None`` when nothing ran."""
    if not runs:
        return None
    body = rig.html.Markup("")
    for run in runs:
        result = run.result
        counts = run.recorder.counts()
        head = f"{run.options.workload} at {run.level}: {counts}"
        body += rig.html.tag("h3", head)
        if result is None:
            body += rig.html.tag("p", "not checked (the run ended before the check)",
                                 class_="muted")
            continue
        valid = str(result.valid).lower()
        body += rig.html.tag("p", rig.html.tag(
            "span", f"valid: {valid}", class_="ok" if result.valid is True else "bad")
            + f" · {result.txn_count} transactions checked against "
              f"{', '.join(result.models)}"
            + (f" · unexpected: {', '.join(run.unexpected)}" if run.unexpected else ""))
        for kind, anomalies in result.anomalies.items():
            parts = []
            for anomaly in anomalies[:EXAMPLES]:
                svg = anomaly.svg()
                parts.append(rig.html.tag("div", rig.html.tag("p", anomaly.explanation)
                                          + rig.html.Markup(svg), class_="anomaly"))
            more = len(anomalies) - EXAMPLES
            if more > 0:
                parts.append(rig.html.tag("p", f"and {more} more", class_="muted"))
            body += rig.html.details(f"{kind}: {len(anomalies)}", rig.html.join(parts),
                                     class_="anomaly-type")
    return rig.HtmlSection("Consistency", body)
