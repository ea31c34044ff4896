"""Elle's checker in Python: a transactional history in, anomalies and a verdict out.

``check(txns, workload=..., models=...)`` runs the workload's analysis (the checks that need
no graph, the version orders, the ww/wr/rw edges), adds process and realtime edges when
asked, searches each strongly connected component for the shortest cycle of every
prohibited type, and judges the anomalies against the models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rig_consistency.checker import list_append, rw_register
from rig_consistency.checker.analysis import Analysis
from rig_consistency.checker.cycles import (
    CYCLE_TYPES,
    ComponentResult,
    Cycle,
    classify,
    search_components,
)
from rig_consistency.checker.graph import (
    PROCESS,
    REALTIME,
    add_process_edges,
    add_realtime_edges,
)
from rig_consistency.checker.models import (
    MODELS,
    UNKNOWN_TYPES,
    boundary,
    prohibited_anomalies,
    validate_models,
)
from rig_consistency.checker.result import EXAMPLES_KEPT, Anomaly, CheckResult, Step
from rig_consistency.checker.text import cycle_explanation
from rig_consistency.gcpause import paused
from rig_consistency.history import Txn

__all__ = ["MODELS", "WORKLOADS", "Anomaly", "CheckResult", "Step", "check"]

WORKLOADS: dict[str, Callable[[Sequence[Txn]], Analysis]] = {
    "list-append": list_append.analyse,
    "rw-register": rw_register.analyse,
}
"""The workloads the checker reads, by name."""


@paused()
def check(txns: Sequence[Txn], *, workload: str = "list-append",
          models: Sequence[str] = ("serializable",), realtime: bool | None = None,
          process: bool = False, cycle_timeout_s: float = 1.0,
          cycle_budget: int | None = None) -> CheckResult:
    """Check the transactions ``txns`` (see :func:`rig_consistency.history.pair`) against
    ``models``.

    ``realtime`` adds realtime edges (default: when a model needs them, as
    strict-serializable does); ``process`` adds process edges. The cycle search spends at
    most ``cycle_timeout_s`` seconds (and ``cycle_budget`` search steps, when given) per
    strongly connected component; a component cut short yields a ``cycle-search-timeout``
    anomaly and a fallback cycle. Raises :class:`ValueError` for an unknown workload or
    model, or a history the workload cannot read (an element appended twice).
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: known workloads are "
                         f"{', '.join(WORKLOADS)}")
    names = validate_models(models)
    prohibited = prohibited_anomalies(names)
    wanted = prohibited & CYCLE_TYPES
    if realtime is None:
        realtime = any(t.endswith("-realtime") for t in wanted)
    analysis = WORKLOADS[workload](txns)
    graph = analysis.graph
    if realtime:
        add_realtime_edges(graph, txns)
    elif process:
        add_process_edges(graph, txns)
    if not realtime:
        wanted = {t for t in wanted if not t.endswith("-realtime")}
    if not (realtime or process):
        wanted = {t for t in wanted if not t.endswith("-process")}
    found: dict[str, list[Anomaly]] = dict(analysis.anomalies)

    def on_component(result: ComponentResult) -> None:
        for kind, cycle in result.cycles.items():
            found.setdefault(kind, []).append(_cycle_anomaly(kind, cycle, txns, analysis))
        if result.exhausted_at is not None and result.fallback is not None:
            found.setdefault("cycle-search-timeout", []).append(
                _timeout_anomaly(result, txns))
            kind = classify(result.fallback)
            found.setdefault(kind, []).append(
                _cycle_anomaly(kind, result.fallback, txns, analysis))

    search_components(graph, wanted, timeout_s=cycle_timeout_s, budget=cycle_budget,
                      on_component=on_component)
    outcomes: list[str] = [t.outcome for t in txns]
    if "ok" not in outcomes:
        found["empty-transaction-graph"] = [Anomaly(
            "empty-transaction-graph", (),
            "no transaction committed, so there is nothing to check")]
    return _result(found, prohibited, names, outcomes)


def _result(found: dict[str, list[Anomaly]], prohibited: set[str], models: list[str],
            outcomes: list[str]) -> CheckResult:
    reportable = {k: v for k, v in found.items() if k in prohibited or k in UNKNOWN_TYPES}
    bad = [k for k in reportable if k in prohibited]
    valid: bool | str = False if bad else "unknown" if reportable else True
    not_, also_not = boundary(found) if reportable else ([], [])
    return CheckResult(
        valid=valid,  # type: ignore[arg-type]
        anomaly_types=sorted(reportable),
        not_=not_, also_not=also_not,
        anomalies={k: v[:EXAMPLES_KEPT] for k, v in sorted(reportable.items())},
        counts={k: len(v) for k, v in sorted(reportable.items())},
        txn_count=len(outcomes), ok_count=outcomes.count("ok"),
        fail_count=outcomes.count("fail"), info_count=outcomes.count("info"),
        models=models)


def _cycle_anomaly(kind: str, cycle: Cycle, txns: Sequence[Txn],
                   analysis: Analysis) -> Anomaly:
    steps = tuple(_step(source, target, bit, txns, analysis) for source, target, bit in cycle)
    members = [txns[source] for source, _, _ in cycle]
    return Anomaly(kind, tuple(t.index for t in members),
                   cycle_explanation(kind, members, steps), steps=steps)


def _step(source: int, target: int, bit: int, txns: Sequence[Txn], analysis: Analysis) -> Step:
    a, b = txns[source], txns[target]
    if bit == PROCESS:
        return Step(a.index, b.index, "process",
                    f"T{a.index} completed before T{b.index} began, on the same process "
                    f"{a.process}")
    if bit == REALTIME:
        return Step(a.index, b.index, "realtime",
                    f"T{a.index} completed (at {a.complete_time}) before T{b.index} was "
                    f"invoked (at {b.invoke_time})")
    return analysis.explain(source, target, bit)


def _timeout_anomaly(result: ComponentResult, txns: Sequence[Txn]) -> Anomaly:
    ruled = ", ".join(result.ruled_out) or "nothing"
    return Anomaly("cycle-search-timeout", (),
                   f"the search for {result.exhausted_at} cycles in a strongly connected "
                   f"component of {result.size} transactions ran out of time; it had ruled "
                   f"out {ruled}. One cycle of the component is reported instead.",
                   data={"anomaly-spec-type": result.exhausted_at,
                         "does-not-contain": list(result.ruled_out),
                         "scc-size": result.size})
