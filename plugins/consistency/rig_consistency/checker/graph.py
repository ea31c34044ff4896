"""The dependency graph: transactions are nodes ``0..n-1`` (their position in the checked
list), edges are a bit mask of kinds per (source, target). Process and realtime edges, and
Tarjan's strongly connected components (iterative, so no recursion limit)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rig_consistency.history import Txn

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}

Graph = list[dict[int, int]]
"""``graph[a][b]`` is the mask of the edges from ``a`` to ``b``."""


def empty_graph(size: int) -> Graph:
    """A graph of ``size`` nodes and no edges."""
    return [{} for _ in range(size)]


def link(graph: Graph, source: int, target: int, kind: int) -> None:
    """Add an edge of ``kind`` (never a self edge)."""
    if source != target:
        out = graph[source]
        out[target] = out.get(target, 0) | kind


def add_process_edges(graph: Graph, txns: Sequence[Txn]) -> None:
    """Link each committed transaction to the next transaction of its process."""
    last: dict[int, int] = {}
    for node in sorted(range(len(txns)), key=lambda n: txns[n].invoke_index):
        txn = txns[node]
        if txn.outcome == "fail":
            continue
        previous = last.get(txn.process)
        if previous is not None:
            link(graph, previous, node, PROCESS)
        if txn.outcome == "ok":
            last[txn.process] = node
        else:
            last.pop(txn.process, None)


def add_realtime_edges(graph: Graph, txns: Sequence[Txn]) -> None:
    """Link each committed transaction to every transaction invoked after it completed, in
    transitive reduction: a transaction invoked later than one of those is reached through
    it (Elle's buffer of recently completed transactions)."""
    events: list[tuple[int, int, int]] = []  # (time, history index, node or ~node)
    for node, txn in enumerate(txns):
        if txn.outcome == "fail":
            continue
        events.append((txn.invoke_time, txn.invoke_index, ~node))
        if txn.outcome == "ok" and txn.complete_time is not None:
            events.append((txn.complete_time, txn.index, node))
    events.sort()
    buffer: set[int] = set()
    before: dict[int, frozenset[int]] = {}
    for _, _, code in events:
        if code < 0:
            node = ~code
            preds = frozenset(buffer)
            before[node] = preds
            for pred in preds:
                link(graph, pred, node, REALTIME)
        else:
            buffer -= before.pop(code, frozenset())
            buffer.add(code)


def strongly_connected(graph: Graph, mask: int = -1,
                       nodes: Iterable[int] | None = None) -> list[list[int]]:
    """The strongly connected components with more than one node of ``graph`` restricted to
    edges in ``mask`` (and to ``nodes``, when given), by an iterative Tarjan."""
    allowed: set[int] | None = set(nodes) if nodes is not None else None
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    roots = allowed if allowed is not None else range(len(graph))
    for root in roots:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root].items()))]
        while work:
            node, successors = work[-1]
            pushed = False
            for succ, kinds in successors:
                if not kinds & mask or (allowed is not None and succ not in allowed):
                    continue
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ].items())))
                    pushed = True
                    break
                if succ in on_stack and index[succ] < low[node]:
                    low[node] = index[succ]
            if pushed:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return components
