"""The cycle search: per strongly connected component, the shortest cycle of each anomaly type
by a breadth-first search whose state carries a small automaton over edge kinds (Elle's
``bfs.clj``), weakest type first, skipping types a found one implies; bounded in time and
steps per component, with a fallback cycle and a ``cycle-search-timeout`` when the bound is
hit."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from rig_consistency.checker.graph import PROCESS, REALTIME, RW, WR, WW, Graph, strongly_connected
from rig_consistency.checker.models import implied_anomalies

Cycle = list[tuple[int, int, int]]
"""A cycle as its edges: (source node, target node, the one kind bit the step uses)."""

# automaton state bits
_SAW_WR, _RW_ONE, _RW_MANY, _LAST_RW, _FIRST_RW, _ADJACENT, _SAW_EXTRA, _STARTED = (
    1, 2, 4, 8, 16, 32, 64, 128)
_DATA = WW | WR | RW


@dataclass(frozen=True)
class _Spec:
    name: str
    base: str
    allowed: int
    extra: int  # 0, PROCESS or REALTIME: at least one such edge is required


_BASES = (("G0", WW), ("G1c", WW | WR), ("G-single-item", _DATA),
          ("G-nonadjacent-item", _DATA), ("G2-item", _DATA))
SPECS = tuple(_Spec(base + suffix, base, allowed | extra, extra)
              for suffix, extra in (("", 0), ("-process", PROCESS), ("-realtime", REALTIME))
              for base, allowed in _BASES)
CYCLE_TYPES = frozenset(spec.name for spec in SPECS)
"""Every cycle anomaly the search can find."""


def _step(spec: _Spec, state: int, kind: int) -> int:
    """The automaton's state after an edge of ``kind``, or -1 when the path is invalid."""
    first = not state & _STARTED
    state |= _STARTED
    if kind == spec.extra:
        state |= _SAW_EXTRA
    if spec.base == "G1c" and kind == WR:
        state |= _SAW_WR
    if kind != RW:
        return state & ~_LAST_RW
    if spec.base == "G-single-item":
        return -1 if state & _RW_ONE else state | _RW_ONE
    if spec.base == "G-nonadjacent-item" and state & _LAST_RW:
        return -1
    if state & _LAST_RW:
        state |= _ADJACENT
    state = state | _RW_MANY if state & _RW_ONE else state | _RW_ONE
    if first:
        state |= _FIRST_RW
    return state | _LAST_RW


def _accepts(spec: _Spec, state: int) -> bool:
    if spec.extra and not state & _SAW_EXTRA:
        return False
    if spec.base == "G0":
        return True
    if spec.base == "G1c":
        return bool(state & _SAW_WR)
    if spec.base == "G-single-item":
        return bool(state & _RW_ONE)
    wrapped = bool(state & _FIRST_RW and state & _LAST_RW)
    if not state & _RW_MANY:
        return False
    if spec.base == "G-nonadjacent-item":
        return not wrapped
    return bool(state & _ADJACENT) or wrapped


class SearchExhausted(Exception):
    """The search of one component ran out of time or steps."""


class _Clock:
    """The bound of one component's search: a deadline and an optional step budget."""

    def __init__(self, timeout_s: float, budget: int | None) -> None:
        self.deadline = time.monotonic() + timeout_s
        self.left = budget
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.left is not None:
            self.left -= 1
            if self.left < 0:
                raise SearchExhausted
        if not self.steps & 1023 and time.monotonic() > self.deadline:
            raise SearchExhausted


def _bfs(graph: Graph, spec: _Spec, start: int, members: set[int],
         clock: _Clock) -> Cycle | None:
    """The shortest cycle of ``spec`` through ``start`` inside ``members``, if any."""
    parent: dict[tuple[int, int], tuple[int, int, int]] = {}
    frontier = [(start, 0)]
    seen = {(start, 0)}
    allowed = spec.allowed
    while frontier:
        following: list[tuple[int, int]] = []
        for node, state in frontier:
            for succ, kinds in graph[node].items():
                usable = kinds & allowed
                if not usable or succ not in members:
                    continue
                while usable:
                    kind = usable & -usable
                    usable ^= kind
                    clock.tick()
                    nxt = _step(spec, state, kind)
                    if nxt < 0:
                        continue
                    if succ == start:
                        if _accepts(spec, nxt):
                            return _path(parent, node, state, start, kind)
                        continue
                    if (succ, nxt) not in seen:
                        seen.add((succ, nxt))
                        parent[(succ, nxt)] = (node, state, kind)
                        following.append((succ, nxt))
        frontier = following
    return None


def _path(parent: dict[tuple[int, int], tuple[int, int, int]], node: int, state: int,
          start: int, kind: int) -> Cycle:
    edges: Cycle = [(node, start, kind)]
    while (node, state) in parent:
        prev, prev_state, prev_kind = parent[(node, state)]
        edges.append((prev, node, prev_kind))
        node, state = prev, prev_state
    edges.reverse()
    return edges


def _starts(graph: Graph, spec: _Spec, members: Collection[int]) -> list[int]:
    """Where to start: every cycle of ``spec`` has an edge of its rarest required kind, so
    the sources of those edges suffice."""
    required = spec.extra or (WR if spec.base == "G1c" else RW if spec.base != "G0" else 0)
    if not required:
        return sorted(members)
    return sorted(n for n in members
                  if any(kinds & required and succ in members
                         for succ, kinds in graph[n].items()))


def _search(graph: Graph, spec: _Spec, component: list[int], clock: _Clock) -> Cycle | None:
    for sub in strongly_connected(graph, spec.allowed, component):
        members = set(sub)
        for start in _starts(graph, spec, members):
            found = _bfs(graph, spec, start, members, clock)
            if found is not None:
                return found
    return None


def fallback_cycle(graph: Graph, component: list[int]) -> Cycle:
    """Some cycle in ``component`` (found in linear time), using the weakest edges that
    still close one: ww alone, then ww and wr, then all data edges, then any."""
    for mask in (WW, WW | WR, _DATA, -1):
        subs = strongly_connected(graph, mask, component)
        if subs:
            members = set(subs[0])
            break
    node = subs[0][0]
    order: dict[int, int] = {}
    walk: Cycle = []
    while node not in order:
        order[node] = len(walk)
        succ, kinds = next((s, k) for s, k in graph[node].items()
                           if k & mask and s in members)
        usable = kinds & mask
        walk.append((node, succ, usable & -usable))
        node = succ
    return walk[order[node]:]


@dataclass
class ComponentResult:
    """What the search of one component found: cycles by type, and when it was cut short,
    the type it was searching and the types it had ruled out."""

    size: int
    cycles: dict[str, Cycle] = field(default_factory=dict)
    exhausted_at: str | None = None
    ruled_out: list[str] = field(default_factory=list)
    fallback: Cycle | None = None


def search_components(graph: Graph, wanted: Collection[str], *, timeout_s: float,
                      budget: int | None,
                      on_component: Callable[[ComponentResult], None]) -> None:
    """Search every nontrivial strongly connected component of ``graph`` for the cycle types
    in ``wanted`` (weakest first), calling ``on_component`` with each component's result."""
    specs: Sequence[_Spec] = [s for s in SPECS if s.name in wanted]
    for component in strongly_connected(graph):
        result = ComponentResult(size=len(component))
        redundant: set[str] = set()
        clock = _Clock(timeout_s, budget)
        spec_name = ""
        try:
            for spec in specs:
                if spec.name in redundant:
                    continue
                spec_name = spec.name
                found = _search(graph, spec, component, clock)
                if found is None:
                    result.ruled_out.append(spec.name)
                    continue
                result.cycles[spec.name] = found
                redundant |= implied_anomalies([spec.name])
        except SearchExhausted:
            result.exhausted_at = spec_name
            result.fallback = fallback_cycle(graph, component)
        on_component(result)


def classify(cycle: Cycle) -> str:
    """Elle's name for a cycle, from its edges: one rw edge is G-single-item, several are
    G2-item when two are adjacent (counting the wrap-around) or G-nonadjacent-item, else a wr
    edge makes it G1c and ww alone G0; a realtime or process edge adds its suffix."""
    kinds = [kind for _, _, kind in cycle]
    rws = kinds.count(RW)
    adjacent = any(kinds[i] == RW and kinds[i - 1] == RW for i in range(len(kinds)))
    base = ("G-single-item" if rws == 1 else
            ("G2-item" if adjacent else "G-nonadjacent-item") if rws > 1 else
            "G1c" if WR in kinds else "G0")
    suffix = "-realtime" if REALTIME in kinds else "-process" if PROCESS in kinds else ""
    return base + suffix
