"""The run's timeline: events that happened while it ran — a fault started or ended, a DDL job
changed phase, a connection was lost and re-opened — for every reporter to show beside the
states and the measurements.

Handlers add events with ``ctx.event(...)``; code outside a connection (a plugin's own thread,
a hook) with ``config.timeline.add(...)``. Each event reaches the ``rig_timeline_event`` hook as
it is added, and ends up in ``RunResult.timeline`` and the JSON report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from rig.jsontypes import json_problem


class EventKind(StrEnum):
    """An instant, or the start or end of a period (a fault, a phase)."""

    INSTANT = "instant"
    START = "start"
    END = "end"


@dataclass(frozen=True)
class TimelineEvent:
    """One event of the run's timeline."""

    name: str
    """What happened, dotted by area: ``reconnect``, ``fault.kill``, ``ddl.phase``."""
    at_s: float
    """Seconds since the run began."""
    source: str
    """The plugin that added it (``rig`` for the core)."""
    connection: str | None = None
    """The connection it concerns (``c1``), if any."""
    kind: EventKind = EventKind.INSTANT
    detail: str = ""
    """One line for a person."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable details for reports."""

    def as_json(self) -> dict[str, Any]:
        """The event as the JSON report writes it."""
        return {"name": self.name, "at_s": round(self.at_s, 6), "source": self.source,
                "connection": self.connection, "kind": self.kind.value, "detail": self.detail,
                "data": dict(self.data)}


@dataclass(frozen=True)
class TimelinePeriod:
    """A period of the timeline: a ``start`` event and its ``end`` (the next ``end`` event of
    the same name, source and connection), or a period still open."""

    name: str
    source: str
    connection: str | None
    start_s: float
    """Seconds since the run began."""
    end_s: float | None
    """``None`` while the period is open."""
    detail: str
    """The ``start`` event's detail."""
    data: Mapping[str, Any]
    """The ``start`` event's data."""

    @property
    def fault(self) -> str | None:
        """The fault the period injected (its data's ``fault``, as the chaos plugin sets it),
        or ``None`` for another period (a phase, a workload)."""
        fault = self.data.get("fault")
        return None if fault is None else str(fault)

    def as_json(self) -> dict[str, Any]:
        """The period for a report."""
        return {"name": self.name, "source": self.source, "connection": self.connection,
                "start_s": round(self.start_s, 3),
                "end_s": None if self.end_s is None else round(self.end_s, 3),
                "detail": self.detail, "data": dict(self.data)}


def pair(events: Iterable[TimelineEvent]) -> list[TimelinePeriod]:
    """The periods among ``events``: each ``start`` paired with the next ``end`` of the same
    name, source and connection (one never ended has ``end_s=None``), in the order they
    began."""
    found: list[TimelinePeriod] = []
    opened: dict[tuple[str, str, str | None], list[int]] = {}
    for event in events:
        key = (event.name, event.source, event.connection)
        if event.kind is EventKind.START:
            opened.setdefault(key, []).append(len(found))
            found.append(TimelinePeriod(event.name, event.source, event.connection,
                                        event.at_s, None, event.detail, event.data))
        elif event.kind is EventKind.END and opened.get(key):
            index = opened[key].pop(0)
            found[index] = replace(found[index], end_s=event.at_s)
    return found


class Timeline:
    """The events of one run, in the order they were added; thread-safe.

    :param on_event: called with every new event (rig passes the ``rig_timeline_event`` hook);
        what it raises propagates to the code that added the event.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 on_event: Callable[[TimelineEvent], None] | None = None) -> None:
        self._clock = clock
        self._began = clock()
        self._events: list[TimelineEvent] = []
        self._lock = threading.Lock()
        self.on_event = on_event

    def add(self, name: str, *, source: str, connection: str | None = None,
            kind: EventKind | str = EventKind.INSTANT, detail: str = "",
            data: Mapping[str, Any] | None = None) -> TimelineEvent:
        """Record an event now and tell the ``rig_timeline_event`` observers. ``data`` must hold
        JSON types only (a ``TypeError`` says where it does not)."""
        problem = json_problem(dict(data or {}), f"the data of timeline event {name!r}")
        if problem:
            raise TypeError(problem)
        event = TimelineEvent(name, self._clock() - self._began, source, connection,
                              EventKind(kind), detail, dict(data or {}))
        with self._lock:
            self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    @contextmanager
    def span(self, name: str, *, source: str, connection: str | None = None,
             detail: str = "", data: Mapping[str, Any] | None = None) -> Iterator[None]:
        """Record the start of a period, run the ``with`` block, record its end (also when
        the block raises)."""
        self.add(name, source=source, connection=connection, kind=EventKind.START,
                 detail=detail, data=data)
        try:
            yield
        finally:
            self.add(name, source=source, connection=connection, kind=EventKind.END,
                     detail=detail, data=data)

    def now_s(self) -> float:
        """Seconds since the run began, on the clock of the events' ``at_s``."""
        return self._clock() - self._began

    def periods(self, start_s: float = 0.0, end_s: float | None = None) -> list[TimelinePeriod]:
        """The periods (``start`` events paired with their ``end``) that overlap
        ``[start_s, end_s]`` (``end_s``: now), open ones included, in the order they began."""
        until = self.now_s() if end_s is None else end_s
        return [period for period in pair(self.events) if period.start_s <= until
                and (period.end_s is None or period.end_s >= start_s)]

    def active(self) -> list[TimelinePeriod]:
        """The periods open now (started and not yet ended): the fault being injected, the
        phase a job is in."""
        return [period for period in self.periods() if period.end_s is None]

    @property
    def events(self) -> list[TimelineEvent]:
        """Every event so far (a copy)."""
        with self._lock:
            return list(self._events)
