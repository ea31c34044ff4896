"""Runs one state machine per connection, concurrently, with shared state, events and barriers.

Connections run in threads: PyMySQL releases the GIL while it waits on the network. One
connection's failure is recorded in its result and never stops the others; Ctrl-C sets a flag
every machine checks between states and shuts down sockets blocked in a query.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from rig.config import Config
from rig.connection import ConnectionSettings
from rig.context import Context
from rig.machine import StateMachine
from rig.resilience import BreakerBoard, RetryPolicy
from rig.results import Check, ConnectionResult, RunResult
from rig.states import Workflow

_JOIN_POLL_S = 0.2
_ABORT_GRACE_S = 5.0


@dataclass(frozen=True)
class Event:
    """A message one connection publishes for the others: a name, the sender and data."""

    name: str
    sender: str
    data: dict[str, Any] = field(default_factory=dict)


class Shared:
    """What every connection of a run shares: a dict behind a lock, an event queue and
    barriers that wait for the connections still running (a failed one never blocks them)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self._alive = parties
        self._values: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._arrived: dict[str, int] = {}
        self.events: queue.Queue[Event] = queue.Queue()

    @contextmanager
    def lock(self) -> Iterator[dict[str, Any]]:
        """Hold the shared lock and get the shared dict, to read-modify-write it."""
        with self._lock:
            yield self._values

    def get(self, key: str, default: Any = None) -> Any:
        """A shared value."""
        with self._lock:
            return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Set a shared value."""
        with self._lock:
            self._values[key] = value

    def update(self, key: str, fn: Callable[[Any], Any], default: Any = None) -> Any:
        """Atomically replace the value of ``key`` with ``fn(old)``; returns the new value."""
        with self._lock:
            self._values[key] = fn(self._values.get(key, default))
            return self._values[key]

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


class Coordinator:
    """Runs the workflow on every connection of the run and collects their results."""

    def __init__(
        self,
        *,
        workflow: Workflow,
        hooks: Any,
        config: Config,
        targets: list[ConnectionSettings],
        result: RunResult,
        retry_policy: RetryPolicy,
        breakers: BreakerBoard,
        max_transitions: int,
    ) -> None:
        self.machine = StateMachine(workflow, hooks, max_transitions=max_transitions)
        self.config = config
        self.targets = targets
        self.result = result
        self.retry_policy = retry_policy
        self.breakers = breakers
        self.shared = Shared(len(targets))
        self.cancelled = threading.Event()
        self.contexts: list[Context] = []
        self._done: list[threading.Event] = []

    def run(self) -> None:
        """Run every connection to its end; on Ctrl-C mark the run interrupted and stop them."""
        threads = []
        for number, settings in enumerate(self.targets, start=1):
            connection_id = f"c{number}"
            conn_result = ConnectionResult(connection_id, settings.host, settings.port,
                                           settings.user)
            self.result.connections.append(conn_result)
            ctx = Context(
                config=self.config, connection_id=connection_id, settings=settings,
                result=conn_result, shared=self.shared, retry_policy=self.retry_policy,
                breakers=self.breakers, cancelled=self.cancelled, on_check=self._record_check,
            )
            self.contexts.append(ctx)
            done = threading.Event()
            self._done.append(done)
            threads.append(threading.Thread(target=self._run_one, args=(ctx, done),
                                            name=f"rig-{connection_id}", daemon=True))
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(_JOIN_POLL_S)
        except KeyboardInterrupt:
            self.interrupt()
            # Events, not join(): on Python 3.11 a join() interrupted by Ctrl-C leaves the
            # thread marked as stopped, so a second join() returns at once.
            for done in self._done:
                done.wait(_ABORT_GRACE_S)

    def interrupt(self) -> None:
        """Stop every connection: set the flag and unblock sockets waiting on the server."""
        logger.warning("interrupted: stopping {} connection(s)", len(self.contexts))
        self.result.interrupted = True
        self.cancelled.set()
        for ctx in self.contexts:
            if ctx.connection is not None:
                ctx.connection.abort()

    def _run_one(self, ctx: Context, done: threading.Event) -> None:
        try:
            self.machine.run(ctx)
            ctx.result.metrics = ctx.metrics.snapshot()
        finally:
            self.shared.leave()
            done.set()

    def _record_check(self, check: Check) -> None:
        self.result.add_check(check)


def connection_targets(config: Config) -> list[ConnectionSettings]:
    """One :class:`ConnectionSettings` per connection: ``--connections`` to each ``--host``."""
    from rig.connection import DEFAULT_PORT

    hosts = [host for group in (config.getoption("host") or []) for host in group]
    port = config.getoption("port")
    targets = []
    for host in hosts:
        settings = ConnectionSettings(
            host=host.host,
            port=host.port or port or DEFAULT_PORT,
            user=config.getoption("user"),
            password=config.getoption("password"),
            database=config.getoption("database"),
            connect_timeout=config.getoption("connect_timeout"),
            ssl_mode=config.getoption("ssl_mode"),
            ssl_ca=config.getoption("ssl_ca"),
        )
        targets.extend([settings] * config.getoption("connections", 1))
    return targets
