"""The chaos plugin's section of the HTML report: the recovery table — each fault, when it
ran, what it did and its verdict. The faults themselves are shaded on every time plot by the
report (they are timeline periods naming a ``fault``)."""

from __future__ import annotations

from typing import Any

import rig


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def _row(fault: dict[str, Any]) -> list[object]:
    effect = fault.get("effect") or {}
    dip = effect.get("dip") or {}
    when = "not run" if fault["start_s"] is None else \
        f"{fault['start_s']:g} s → {_seconds(fault['end_s'])}"
    drop = f"{dip['baseline_tps']:g} → {dip['lowest_tps']:g} tps ({dip['drop']:.0%})" \
        if dip else "-"
    verdict = rig.html.tag("span", fault["verdict"], class_=f"verdict-{fault['verdict']}")
    return [f"{fault['label']} #{fault['index']}", when, effect.get("errors", "-"), drop,
            _seconds(effect.get("first_success_after_s")), _seconds(effect.get("recovery_s")),
            verdict]


def html_section(section: dict[str, Any] | None) -> rig.HtmlSection | None:
    """The section, from the chaos plugin's report section (``None`` when chaos did not
    run)."""
    if not section:
        return None
    faults = section.get("faults") or []
    about = (f"{len(faults)} fault(s), {section['mode']} schedule"
             + (f", seed {section['seed']}" if section.get("seed") is not None else "")
             + f"; a fault fails when recovery takes over {section['max_recovery_s']:g} s "
             "(shaded on the time plots)")
    body = rig.html.tag("p", about) + rig.html.table(
        ["fault", "when (s since the run began)", "errors", "throughput", "first success after",
         "recovered after", "verdict"], [_row(fault) for fault in faults])
    return rig.HtmlSection("Faults", body, data={"faults": faults})
