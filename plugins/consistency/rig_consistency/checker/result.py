"""What a check finds: :class:`Anomaly` (with the :class:`Step` s of a cycle) and the
:class:`CheckResult` of a whole history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rig_consistency.checker.render import cycle_dot, cycle_svg
from rig_consistency.history import Element, Key

EXAMPLES_KEPT = 8
"""How many anomalies of one type a result keeps (all are counted)."""

EdgeKind = Literal["ww", "wr", "rw", "process", "realtime"]


@dataclass(frozen=True, slots=True)
class Step:
    """One edge of a cycle: ``source`` must precede ``target`` (transaction indexes) because
    of ``kind``; for data edges the key and the values involved (``value`` is ``None`` for the
    initial state)."""

    source: int
    target: int
    kind: EdgeKind
    text: str
    """Why, in words: ``T5 observed T2's append of 3 to key 7``."""
    key: Key | None = None
    value: Element | tuple[Element, ...] | None = None
    value_after: Element | None = None

    def to_json(self) -> dict[str, Any]:
        """The step as JSON: ``{"from": "T2", "to": "T5", "type": "wr", "key": 7, …}``."""
        data: dict[str, Any] = {"from": f"T{self.source}", "to": f"T{self.target}",
                                "type": self.kind}
        if self.key is not None:
            data["key"] = self.key
            data["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
            if self.value_after is not None:
                data["value'"] = self.value_after
        data["explanation"] = self.text
        return data


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly: its type (Elle's name), the transactions involved (``T<index>``), the
    steps of its cycle (empty for the anomalies that need no graph), the type-specific facts
    (``data``: key, element, values…) and an explanation a person can follow."""

    type: str
    txns: tuple[int, ...]
    explanation: str
    steps: tuple[Step, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The anomaly as JSON: type, txns, the data, the cycle's steps, the explanation."""
        out: dict[str, Any] = {"type": self.type, "txns": [f"T{t}" for t in self.txns]}
        out.update(self.data)
        if self.steps:
            out["cycle"] = [f"T{s.source}" for s in self.steps] + [f"T{self.steps[0].source}"]
            out["steps"] = [s.to_json() for s in self.steps]
        out["explanation"] = self.explanation
        return out

    def dot(self) -> str:
        """The cycle as Graphviz text (``digraph``); an empty graph for other anomalies."""
        return cycle_dot(self.type, [(s.source, s.target, _label(s)) for s in self.steps])

    def svg(self) -> str:
        """The cycle as a small self-contained SVG: the transactions on a circle, labelled
        arrows; an empty string for anomalies without a cycle."""
        if not self.steps:
            return ""
        return cycle_svg(self.type, [(s.source, s.target, _label(s)) for s in self.steps])


def _label(step: Step) -> str:
    if step.key is None:
        return step.kind
    return f"{step.kind} {step.key}"


Validity = bool | Literal["unknown"]


@dataclass
class CheckResult:
    """The verdict on a history, as Elle gives it.

    ``valid`` is ``False`` when a prohibited anomaly was found, ``"unknown"`` when only
    undecided ones were (the cycle search ran out of time, or nothing was committed),
    ``True`` otherwise. ``not_`` are the weakest models the anomalies found rule out,
    ``also_not`` the stronger ones. ``anomalies`` keeps up to :data:`EXAMPLES_KEPT` of each
    reported type; ``counts`` counts them all.
    """

    valid: Validity
    anomaly_types: list[str]
    not_: list[str]
    also_not: list[str]
    anomalies: dict[str, list[Anomaly]]
    counts: dict[str, int]
    txn_count: int
    ok_count: int
    fail_count: int
    info_count: int
    models: list[str]

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "anomaly_types", "not", "also-not", "anomalies", "anomaly-counts",
        "txn-count", "ok-count", "fail-count", "info-count", "models"}``, JSON-serialisable."""
        return {"valid": self.valid,
                "anomaly_types": list(self.anomaly_types),
                "not": list(self.not_),
                "also-not": list(self.also_not),
                "anomalies": {kind: [a.to_json() for a in found]
                              for kind, found in self.anomalies.items()},
                "anomaly-counts": dict(self.counts),
                "txn-count": self.txn_count,
                "ok-count": self.ok_count,
                "fail-count": self.fail_count,
                "info-count": self.info_count,
                "models": list(self.models)}
