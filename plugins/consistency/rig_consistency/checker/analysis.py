"""What a workload's analysis hands the cycle search: the anomalies that need no graph, the
dependency graph, and a way to explain each of its data edges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rig_consistency.checker.graph import Graph
from rig_consistency.checker.result import Anomaly, Step

EdgeExplainer = Callable[[int, int, int], Step]
"""(source node, target node, one data kind bit) -> the :class:`Step` saying why."""


@dataclass
class Analysis:
    """A workload's findings on one history: ``anomalies`` by type (all of them), ``graph``
    with the ww/wr/rw edges between the transactions' nodes, and ``explain`` for those
    edges."""

    anomalies: dict[str, list[Anomaly]]
    graph: Graph
    explain: EdgeExplainer
