"""The rw-register workload (``[w k v]``, ``[r k v]``, ``nil`` for the initial state): the
checks that need no graph, each key's version graph (the initial state before every version;
a version a transaction read before it wrote the key before the version it wrote), and the
ww, wr and rw edges, following Elle's ``rw_register.clj``."""

from __future__ import annotations

from collections.abc import Sequence

from rig_consistency.checker.analysis import Analysis
from rig_consistency.checker.graph import RW, WR, WW, empty_graph, link, strongly_connected
from rig_consistency.checker.result import Anomaly, Step
from rig_consistency.checker.text import name, show, together, writes_of
from rig_consistency.checker.writes import index_writes
from rig_consistency.history import Element, Key, Txn

Version = Element | None
"""A value of a key; ``None`` is the initial state."""


def analyse(txns: Sequence[Txn]) -> Analysis:
    """The rw-register analysis of ``txns``. Raises :class:`ValueError` when a value is
    written to a key twice (versions must be unique per key)."""
    return _Register(txns).run()


class _Register:
    def __init__(self, txns: Sequence[Txn]) -> None:
        self.txns = txns
        self.found: dict[str, list[Anomaly]] = {}
        self.writer: dict[tuple[Key, Element], int] = {}
        self.failed: dict[tuple[Key, Element], int] = {}
        self.intermediate: set[tuple[Key, Element]] = set()
        self.ext_readers: dict[tuple[Key, Version], list[int]] = {}
        self.versions: dict[Key, dict[Version, set[Version]]] = {}

    def add(self, anomaly: Anomaly) -> None:
        self.found.setdefault(anomaly.type, []).append(anomaly)

    def run(self) -> Analysis:
        self.index_writes()
        lost: dict[tuple[Key, Version], list[int]] = {}
        graph = empty_graph(len(self.txns))
        for node, txn in enumerate(self.txns):
            if txn.outcome == "ok":
                self.check_txn(node, txn, lost, graph)
        for (key, value), nodes in lost.items():
            if len(nodes) > 1:
                txns = [self.txns[n] for n in nodes]
                names, all_ = together(txns)
                self.add(Anomaly("lost-update", tuple(t.index for t in txns),
                                 f"{names} {all_} read key {show(key)} as {show(value)}, "
                                 f"then wrote it ({'; '.join(writes_of(t, key) for t in txns)})"
                                 f", and {all_} committed: the later write overwrote one it "
                                 f"never saw, so an update was lost",
                                 data={"key": key, "value": value}))
        for key, edges in self.versions.items():
            self.order_key(graph, key, edges)
        return Analysis(self.found, graph, self.explain)

    def index_writes(self) -> None:
        writes = index_writes(self.txns, "w")
        self.writer, self.failed = writes.writer, writes.failed
        self.intermediate = writes.intermediate
        for txn, final in zip(self.txns, writes.final, strict=True):
            if txn.outcome != "fail":
                for key, value in final.items():
                    self.versions.setdefault(key, {}).setdefault(value, set())

    def check_txn(self, node: int, txn: Txn, lost: dict[tuple[Key, Version], list[int]],
                  graph: list[dict[int, int]]) -> None:
        known: dict[Key, Version] = {}
        wrote: set[Key] = set()
        ext_read: dict[Key, Version] = {}
        for mop in txn.mops:
            key = mop.key
            value = mop.value
            assert not isinstance(value, tuple)
            if mop.f == "w":
                if key not in wrote:
                    wrote.add(key)
                    if key in ext_read:
                        lost.setdefault((key, ext_read[key]), []).append(node)
                        assert value is not None
                        self.versions.setdefault(key, {}).setdefault(ext_read[key],
                                                                     set()).add(value)
                known[key] = value
                continue
            if key in known and known[key] != value:
                self.add(Anomaly("internal", (txn.index,),
                                 f"{name(txn)} read key {show(key)} as {show(value)}, but its "
                                 f"own earlier {'write' if key in wrote else 'read'} of that "
                                 f"key says it should be {show(known[key])}",
                                 data={"key": key, "value": value, "expected": known[key]}))
            if key not in known:
                ext_read[key] = value
                self.ext_readers.setdefault((key, value), []).append(node)
                if value is not None:
                    writer = self.writer.get((key, value))
                    if writer is not None:
                        link(graph, writer, node, WR)
            known[key] = value
            if value is not None:
                self.check_read(node, key, value)

    def check_read(self, node: int, key: Key, value: Element) -> None:
        txn = self.txns[node]
        failed = self.failed.get((key, value))
        if failed is not None:
            writer = self.txns[failed]
            self.add(Anomaly("G1a", (txn.index, writer.index),
                             f"{name(txn)} read key {show(key)} as {show(value)}, written by "
                             f"{name(writer)}, which failed (aborted): an aborted read",
                             data={"key": key, "value": value, "writer": name(writer)}))
        writer_node = self.writer.get((key, value))
        if (key, value) in self.intermediate and writer_node is not None \
                and writer_node != node:
            writer = self.txns[writer_node]
            self.add(Anomaly("G1b", (txn.index, writer.index),
                             f"{name(txn)} read key {show(key)} as {show(value)}, which "
                             f"{name(writer)} wrote and then overwrote in the same "
                             f"transaction: an intermediate state",
                             data={"key": key, "value": value, "writer": name(writer)}))

    def order_key(self, graph: list[dict[int, int]], key: Key,
                  edges: dict[Version, set[Version]]) -> None:
        """The key's version graph: cyclic (an anomaly), or its ww and rw edges."""
        values = list(edges)
        later = {v for targets in edges.values() for v in targets}
        for value in values:
            if value is not None and value not in later:
                edges.setdefault(None, set()).add(value)
        nodes = list(edges)
        number = {v: i for i, v in enumerate(nodes)}
        small = [{number.setdefault(t, len(number)): 1 for t in edges[v]} for v in nodes]
        small += [{} for _ in range(len(number) - len(small))]
        cycles = strongly_connected(small)
        if cycles:
            names = list(number)
            cycle = [names[i] for i in cycles[0]]
            self.add(Anomaly("cyclic-versions", (),
                             f"key {show(key)}'s versions {' '.join(show(v) for v in cycle)} "
                             f"each follow another: transactions read one and then wrote the "
                             f"next, around a cycle, so no order of versions exists",
                             data={"key": key, "values": cycle}))
            return
        for before, afters in edges.items():
            for after in afters:
                target = self.writer.get((key, after))  # type: ignore[arg-type]
                if target is None:
                    continue
                if before is not None:
                    source = self.writer.get((key, before))
                    if source is not None:
                        link(graph, source, target, WW)
                for reader in self.ext_readers.get((key, before), ()):
                    link(graph, reader, target, RW)

    def explain(self, source: int, target: int, kind: int) -> Step:
        a, b = self.txns[source], self.txns[target]
        if kind == WR:
            for mop in b.mops:
                if mop.f == "r" and mop.value is not None and \
                        self.writer.get((mop.key, mop.value)) == source:  # type: ignore[arg-type]
                    return Step(a.index, b.index, "wr",
                                f"{name(b)} read key {show(mop.key)} as {show(mop.value)}, "
                                f"which {name(a)} wrote", key=mop.key, value=mop.value)
        for mop in b.mops:
            if mop.f != "w":
                continue
            for before, afters in self.versions.get(mop.key, {}).items():
                if mop.value not in afters:
                    continue
                if kind == WW and before is not None and \
                        self.writer.get((mop.key, before)) == source:
                    return Step(a.index, b.index, "ww",
                                f"{name(b)} wrote key {show(mop.key)} = {show(mop.value)} "
                                f"over {name(a)}'s {show(before)}",
                                key=mop.key, value=before,
                                value_after=mop.value)
                if kind == RW and source in self.ext_readers.get((mop.key, before), ()):
                    return Step(a.index, b.index, "rw",
                                f"{name(a)} read key {show(mop.key)} as {show(before)}, "
                                f"which {name(b)} overwrote with {show(mop.value)}",
                                key=mop.key, value=before,
                                value_after=mop.value)
        raise LookupError(f"no {kind} edge from {name(a)} to {name(b)}")
