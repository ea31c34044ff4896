"""The list-append workload (``[append k v]``, ``[r k [v ...]]``): the checks that need no
graph, the version order of every key (its longest read), and the ww, wr and rw edges,
following Elle's ``list_append.clj``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from rig_consistency.checker.analysis import Analysis
from rig_consistency.checker.graph import RW, WR, WW, empty_graph, link
from rig_consistency.checker.result import Anomaly, Step
from rig_consistency.checker.text import name, show, together, writes_of
from rig_consistency.checker.writes import index_writes, written
from rig_consistency.history import Element, Key, Txn

Read = tuple[Element, ...]


def analyse(txns: Sequence[Txn]) -> Analysis:
    """The list-append analysis of ``txns``. Raises :class:`ValueError` when an element is
    appended to a key twice (Elle needs every appended element unique per key)."""
    return _ListAppend(txns).run()


class _ListAppend:
    def __init__(self, txns: Sequence[Txn]) -> None:
        self.txns = txns
        self.found: dict[str, list[Anomaly]] = {}
        self.writer: dict[tuple[Key, Element], int] = {}
        self.failed: dict[tuple[Key, Element], int] = {}
        self.failed_by_key: dict[Key, set[Element]] = {}
        self.intermediate: set[tuple[Key, Element]] = set()
        self.read_index: dict[tuple[Key, Element | None], list[int]] = {}
        self.reads: dict[Key, dict[Read, int]] = {}
        self.orders: dict[Key, Read] = {}
        self.positions: dict[Key, dict[Element, int]] = {}

    def add(self, anomaly: Anomaly) -> None:
        self.found.setdefault(anomaly.type, []).append(anomaly)

    def run(self) -> Analysis:
        self.index_writes()
        lost: dict[tuple[Key, Read], list[int]] = {}
        for node, txn in enumerate(self.txns):
            if txn.outcome == "ok":
                self.check_txn(node, txn, lost)
        for (key, read), nodes in lost.items():
            if len(nodes) > 1:
                self.lost_update(key, read, nodes)
        self.version_orders()
        graph = empty_graph(len(self.txns))
        for node, txn in enumerate(self.txns):
            if txn.outcome == "fail":
                continue
            for mop in txn.mops:
                if mop.f == "r" and txn.outcome == "ok" and mop.value:
                    read = _as_read(mop.value)
                    writer = self.writer.get((mop.key, read[-1]))
                    if writer is not None:
                        link(graph, writer, node, WR)
                    self.check_read(node, mop.key, read)
                elif mop.f == "append":
                    prev = self.previous(mop.key, written(mop))
                    if prev is not None:
                        writer = self.writer.get((mop.key, prev))
                        if writer is not None:
                            link(graph, writer, node, WW)
                    for reader in self.read_index.get((mop.key, prev), ()):
                        link(graph, reader, node, RW)
        self.dirty_updates()
        return Analysis(self.found, graph, self.explain)

    # --- indexes ---------------------------------------------------------------------------

    def index_writes(self) -> None:
        writes = index_writes(self.txns, "append")
        self.writer, self.failed = writes.writer, writes.failed
        self.intermediate = writes.intermediate
        for key, element in writes.failed:
            self.failed_by_key.setdefault(key, set()).add(element)

    def version_orders(self) -> None:
        """Each key's order: its longest read; every read must be a prefix of the next
        longer one (else incompatible-order)."""
        for key, reads in self.reads.items():
            if not reads:
                continue
            ordered = sorted(reads, key=len)
            for shorter, longer in itertools.pairwise(ordered):
                if longer[:len(shorter)] != shorter:
                    self.incompatible(key, shorter, reads[shorter], longer, reads[longer])
            longest = ordered[-1]
            self.orders[key] = longest
            self.positions[key] = {element: i for i, element in enumerate(longest)}

    def previous(self, key: Key, element: Element) -> Element | None:
        """The element appended just before ``element`` (the last observed one when it was
        never observed), ``None`` for the initial state."""
        order = self.orders.get(key)
        if not order:
            return None
        position = self.positions[key].get(element)
        if position is None:
            return order[-1]
        return order[position - 1] if position else None

    # --- per transaction -------------------------------------------------------------------

    def check_txn(self, node: int, txn: Txn, lost: dict[tuple[Key, Read], list[int]]) -> None:
        state: dict[Key, tuple[bool, Read]] = {}  # key -> (exact?, known list or suffix)
        first_read: dict[Key, Read] = {}
        appended: set[Key] = set()
        appends_at = {(m.key, m.value): i for i, m in enumerate(txn.mops) if m.f == "append"}
        for position, mop in enumerate(txn.mops):
            key = mop.key
            if mop.f == "append":
                element = written(mop)
                exact, known = state.get(key, (False, ()))
                state[key] = (exact, (*known, element))
                if key not in appended:
                    appended.add(key)
                    if key in first_read:
                        lost.setdefault((key, first_read[key]), []).append(node)
                continue
            if mop.f != "r":
                continue
            read = _as_read(mop.value)
            self.read_index.setdefault((key, _last(read)), []).append(node)
            by_key = self.reads.setdefault(key, {})
            if read and read not in by_key:
                by_key[read] = node
                if len(set(read)) != len(read):
                    self.duplicates(node, key, read)
            if key not in state:
                first_read.setdefault(key, read)
            else:
                exact, known = state[key]
                if (read != known) if exact else (read[len(read) - len(known):] != known
                                                  or len(read) < len(known)):
                    self.internal(node, key, read, exact, known)
            state[key] = (True, read)
            later = [e for e in read if appends_at.get((key, e), -1) > position]
            if later:
                self.add(Anomaly("future-read", (txn.index,),
                                 f"{name(txn)} read key {show(key)} as {show(read)}, which "
                                 f"includes {show(later[0])}: an element {name(txn)} itself "
                                 f"appends only later",
                                 data={"key": key, "value": list(read), "element": later[0]}))

    def check_read(self, node: int, key: Key, read: Read) -> None:
        txn = self.txns[node]
        failed = self.failed_by_key.get(key)
        if failed and not failed.isdisjoint(read):
            element = next(e for e in read if e in failed)
            writer = self.txns[self.failed[(key, element)]]
            self.add(Anomaly("G1a", (txn.index, writer.index),
                             f"{name(txn)} read key {show(key)} as {show(read)}, which "
                             f"includes {show(element)}, appended by {name(writer)}, which "
                             f"failed (aborted): an aborted read",
                             data={"key": key, "value": list(read), "element": element,
                                   "writer": name(writer)}))
        last = read[-1]
        if (key, last) in self.intermediate:  # its writer committed, failed or is unknown
            writer_node = self.writer.get((key, last), self.failed.get((key, last)))
            assert writer_node is not None, "intermediate appends were indexed with writers"
            if writer_node != node:
                writer = self.txns[writer_node]
                self.add(Anomaly("G1b", (txn.index, writer.index),
                                 f"{name(txn)} read key {show(key)} as {show(read)}, ending "
                                 f"with {show(last)}, which {name(writer)} appended and then "
                                 f"appended to again in the same transaction: an "
                                 f"intermediate state",
                                 data={"key": key, "value": list(read), "element": last,
                                       "writer": name(writer)}))

    # --- anomalies -------------------------------------------------------------------------

    def duplicates(self, node: int, key: Key, read: Read) -> None:
        txn = self.txns[node]
        twice = next(e for i, e in enumerate(read) if e in read[:i])
        self.add(Anomaly("duplicate-elements", (txn.index,),
                         f"{name(txn)} read key {show(key)} as {show(read)}: {show(twice)} "
                         f"appears more than once, though every element is appended once",
                         data={"key": key, "value": list(read), "element": twice}))

    def internal(self, node: int, key: Key, read: Read, exact: bool, known: Read) -> None:
        txn = self.txns[node]
        expected = show(known) if exact else f"a list ending in {show(known)}"
        self.add(Anomaly("internal", (txn.index,),
                         f"{name(txn)} read key {show(key)} as {show(read)}, but its own "
                         f"earlier reads and appends of that key say it should be {expected}",
                         data={"key": key, "value": list(read),
                               "expected": list(known) if exact else None,
                               "expected-suffix": None if exact else list(known)}))

    def incompatible(self, key: Key, shorter: Read, reader_a: int, longer: Read,
                     reader_b: int) -> None:
        a, b = self.txns[reader_a], self.txns[reader_b]
        self.add(Anomaly("incompatible-order", (a.index, b.index),
                         f"key {show(key)} was read as {show(shorter)} by {name(a)} and as "
                         f"{show(longer)} by {name(b)}: neither is a prefix of the other, "
                         f"so no single order of appends explains both",
                         data={"key": key, "values": [list(shorter), list(longer)]}))

    def lost_update(self, key: Key, read: Read, nodes: list[int]) -> None:
        txns = [self.txns[n] for n in nodes]
        names, all_ = together(txns)
        self.add(Anomaly("lost-update", tuple(t.index for t in txns),
                         f"{names} {all_} read key {show(key)} as {show(read)}, then "
                         f"appended to it ({'; '.join(writes_of(t, key) for t in txns)}), and "
                         f"{all_} committed: in any serial order one would have read the "
                         f"other's append first, so an update was made on a state that no "
                         f"longer held",
                         data={"key": key, "value": list(read)}))

    def dirty_updates(self) -> None:
        """A failed transaction's append followed, in a key's order, by a committed one."""
        for key in self.failed_by_key:
            order = self.orders.get(key, ())
            state, since = "ok", 0
            for position, element in enumerate(order):
                if (key, element) in self.failed:
                    kind = "fail"
                else:
                    writer = self.writer.get((key, element))
                    kind = "info" if writer is None else self.txns[writer].outcome
                if kind == "ok" and state == "fail":
                    self.dirty(key, order[since:position + 1])
                if kind != "info":
                    if kind != state:
                        since = position
                    state = kind

    def dirty(self, key: Key, values: Read) -> None:
        failed = self.txns[self.failed[(key, values[0])]]
        committed = self.txns[self.writer[(key, values[-1])]]
        self.add(Anomaly("dirty-update", (failed.index, committed.index),
                         f"key {show(key)}'s order has {show(values)}: {show(values[0])} was "
                         f"appended by {name(failed)}, which failed, yet {name(committed)} "
                         f"appended {show(values[-1])} after it and committed",
                         data={"key": key, "values": list(values)}))

    # --- explanations ----------------------------------------------------------------------

    def explain(self, source: int, target: int, kind: int) -> Step:
        a, b = self.txns[source], self.txns[target]
        for mop in b.mops:
            if kind == WR and mop.f == "r" and isinstance(mop.value, tuple) and mop.value:
                read = mop.value
                if self.writer.get((mop.key, read[-1])) == source:
                    return Step(a.index, b.index, "wr",
                                f"{name(b)} read key {show(mop.key)} as {show(read)}, "
                                f"observing {name(a)}'s append of {show(read[-1])}",
                                key=mop.key, value=read[-1])
            if kind in (WW, RW) and mop.f == "append":
                element = written(mop)
                prev = self.previous(mop.key, element)
                if kind == WW and prev is not None and \
                        self.writer.get((mop.key, prev)) == source:
                    return Step(a.index, b.index, "ww",
                                f"{name(b)} appended {show(mop.value)} to key "
                                f"{show(mop.key)} after {name(a)} appended {show(prev)}",
                                key=mop.key, value=prev, value_after=element)
                if kind == RW and source in self.read_index.get((mop.key, prev), ()):
                    seen = next(_as_read(m.value) for m in a.mops if m.f == "r"
                                and m.key == mop.key and _last(_as_read(m.value)) == prev)
                    return Step(a.index, b.index, "rw",
                                f"{name(a)} read key {show(mop.key)} as {show(seen)}, "
                                f"which does not include {name(b)}'s append of "
                                f"{show(mop.value)}",
                                key=mop.key, value=prev, value_after=element)
        raise LookupError(f"no {kind} edge from {name(a)} to {name(b)}")


def _as_read(value: object) -> Read:
    """A list-append read's value: what was read (``nil`` reads as the empty list)."""
    return value if isinstance(value, tuple) else ()


def _last(read: Read) -> Element | None:
    return read[-1] if read else None
