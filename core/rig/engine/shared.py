"""What every connection of a run shares: typed values behind a lock, an event queue and
barriers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from rig.data import DataStore, Key

T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    """A message one connection publishes for the others: a name, the sender and data."""

    name: str
    sender: str
    data: dict[str, Any] = field(default_factory=dict)


class Shared:
    """What every connection of a run shares (``ctx.shared``): values under typed
    :class:`rig.Key` s behind one lock, an event queue, and barriers that wait for the
    connections still running (a failed one never blocks the others).

    ``parties`` is the number of connections of the run.
    """

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self._alive = parties
        self._values = DataStore()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._arrived: dict[str, int] = {}
        self.events: queue.Queue[Event] = queue.Queue()

    @contextmanager
    def lock(self) -> Iterator[DataStore]:
        """Hold the shared lock and get the shared store, to read-modify-write several
        values at once."""
        with self._lock:
            yield self._values

    @overload
    def get(self, key: Key[T]) -> T | None: ...
    @overload
    def get(self, key: Key[T], default: T) -> T: ...
    def get(self, key: Key[T], default: Any = None) -> Any:
        """A shared value, else ``default``."""
        with self._lock:
            return self._values.get(key, default)

    def set(self, key: Key[T], value: T) -> None:
        """Set a shared value."""
        with self._lock:
            self._values[key] = value

    def update(self, key: Key[T], fn: Callable[[T | None], T]) -> T:
        """Atomically replace the value of ``key`` with ``fn(old)`` (``old`` is ``None`` the
        first time); returns the new value."""
        with self._lock:
            new = fn(self._values.get(key))
            self._values[key] = new
            return new

    def publish(self, name: str, sender: str, **data: Any) -> None:
        """Put an :class:`Event` on the queue."""
        self.events.put(Event(name, sender, data))

    def wait_all_ready(self, name: str = "ready", timeout: float | None = None) -> bool:
        """Block until every connection still running has reached barrier ``name``.

        :returns: ``True`` when all arrived, ``False`` on timeout.
        """
        with self._cond:
            self._arrived[name] = self._arrived.get(name, 0) + 1
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._arrived[name] >= self._alive, timeout)

    def leave(self) -> None:
        """A connection has finished (or failed): barriers stop waiting for it."""
        with self._cond:
            self._alive -= 1
            self._cond.notify_all()
