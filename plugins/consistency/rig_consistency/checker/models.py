"""Consistency models and the anomalies each prohibits, after Elle's ``consistency_model.clj``
(restricted to the models rig names; Elle knows more intermediate ones, such as
cursor-stability or read-atomic, so its ``:not`` can name models this one does not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

IMPLIED_ANOMALIES: Mapping[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime",
                              "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process",
                                   "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
}
"""Anomaly -> the anomalies it implies (an internal read of an aborted write is also G1a…)."""

WEAKER_MODELS: Mapping[str, tuple[str, ...]] = {
    "strict-serializable": ("serializable", "snapshot-isolation"),
    "serializable": ("repeatable-read", "snapshot-isolation"),
    "snapshot-isolation": ("read-committed",),
    "repeatable-read": ("read-committed",),
    "read-committed": ("read-uncommitted",),
    "read-uncommitted": (),
}
"""Model -> the models a history satisfying it also satisfies."""

PROHIBITED: Mapping[str, tuple[str, ...]] = {
    "read-uncommitted": ("G0", "duplicate-elements", "cyclic-versions"),
    "read-committed": ("G1",),
    "repeatable-read": ("G1", "G2-item", "lost-update"),
    "snapshot-isolation": ("internal", "G1", "G-single", "G-nonadjacent"),
    "serializable": ("internal", "G1", "G2"),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime"),
}
"""Model -> the anomalies it prohibits directly (stronger models add the weaker ones')."""

MODELS = tuple(WEAKER_MODELS)
"""The models rig knows, strongest first."""

UNKNOWN_TYPES = frozenset({"cycle-search-timeout", "empty-transaction-graph"})
"""Anomalies that make a result undecided rather than invalid."""


def _closure(start: Iterable[str], edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _reverse(edges: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    reverse: dict[str, list[str]] = {}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, []).append(source)
    return {target: tuple(sources) for target, sources in reverse.items()}


_IMPLYING = _reverse(IMPLIED_ANOMALIES)
_STRONGER_MODELS = _reverse(WEAKER_MODELS)


def validate_models(models: Iterable[str]) -> list[str]:
    """``models`` as a list; raises :class:`ValueError` listing the known models when one is
    unknown."""
    names = list(models)
    unknown = [m for m in names if m not in WEAKER_MODELS]
    if unknown:
        raise ValueError(f"unknown consistency model {unknown[0]!r}: known models are "
                         f"{', '.join(sorted(MODELS))}")
    return names


def implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    """``anomalies`` and every anomaly they imply."""
    return _closure(anomalies, IMPLIED_ANOMALIES)


def prohibited_anomalies(models: Iterable[str]) -> set[str]:
    """Every anomaly that cannot occur if all of ``models`` hold: what they and the models
    they imply prohibit, and every anomaly implying one of those."""
    implied = _closure(validate_models(models), WEAKER_MODELS)
    direct = {a for model in implied for a in PROHIBITED[model]}
    return _closure(direct, _IMPLYING)


def boundary(anomalies: Iterable[str]) -> tuple[list[str], list[str]]:
    """(``not``, ``also-not``): the weakest models ``anomalies`` rule out, and the other
    (stronger) models they rule out, each sorted."""
    found = implied_anomalies(anomalies)
    direct = {model for model, prohibited in PROHIBITED.items()
              if found.intersection(prohibited)}
    impossible = _closure(direct, _STRONGER_MODELS)
    weakest = {m for m in impossible
               if not (_closure([m], WEAKER_MODELS) - {m}) & impossible}
    return sorted(weakest), sorted(impossible - weakest)
