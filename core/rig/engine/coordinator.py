"""Runs one state machine per connection, concurrently, with shared values, events and
barriers.

Connections run in threads: PyMySQL releases the GIL while it waits on the network. One
connection's failure is recorded in its result and never stops the others; Ctrl-C sets a flag
every machine checks between states and shuts down every session blocked in a query.
"""

from __future__ import annotations

import threading
import time

from loguru import logger

from rig import interrupts
from rig.config.config import Config
from rig.db.connection import Connector
from rig.db.scratch import Scratch
from rig.db.settings import DEFAULT_PORT, ConnectionSettings, HostPort
from rig.engine.context import Context
from rig.engine.machine import Observers, StateMachine
from rig.engine.results import Check, ConnectionResult, RunErrorInfo, RunResult
from rig.engine.shared import Shared
from rig.engine.states import ERROR, Workflow
from rig.errors import ExitCode, UsageError

_JOIN_POLL_S = 0.2
_ABORT_GRACE_S = 5.0


class Coordinator:
    """Runs the workflow on every connection of the run and collects their results."""

    def __init__(
        self,
        *,
        workflow: Workflow,
        observers: Observers,
        config: Config,
        targets: list[ConnectionSettings],
        result: RunResult,
        connector: Connector,
        scratch: Scratch,
        max_transitions: int,
    ) -> None:
        if not targets:
            raise UsageError("no server to test", hint="give --host HOST:PORT or --sandbox")
        self.machine = StateMachine(workflow, observers, max_transitions=max_transitions)
        self.config = config
        self.targets = targets
        self.result = result
        self.connector = connector
        self.scratch = scratch
        self.shared = Shared(len(targets))
        self.cancelled = threading.Event()
        self.contexts: list[Context] = []
        self.aborted: dict[str, list[int]] = {}
        """Server address → thread ids of the sessions Ctrl-C shut down (see :meth:`interrupt`)."""
        self._done: list[threading.Event] = []

    def run(self) -> None:
        """Run every connection to the end; Ctrl-C interrupts them all and waits (briefly) for
        their cleanup."""
        threads = []
        for number, settings in enumerate(self.targets, start=1):
            connection_id = f"c{number}"
            server = settings.target
            conn_result = ConnectionResult(connection_id, server.host, server.port or 0,
                                           settings.user)
            self.result.connections.append(conn_result)
            ctx = Context(
                config=self.config, connection_id=connection_id, settings=settings,
                result=conn_result, shared=self.shared, connector=self.connector,
                scratch=self.scratch, cancelled=self.cancelled, on_check=self._record_check,
            )
            self.contexts.append(ctx)
            done = threading.Event()
            self._done.append(done)
            threads.append(threading.Thread(target=self._run_one, args=(ctx, done),
                                            name=f"rig-{connection_id}", daemon=True))
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(_JOIN_POLL_S)
                    interrupts.check()  # one Python swallowed is not lost
        except KeyboardInterrupt:
            self.interrupt()
            # Events, not join(): on Python 3.11 a join() interrupted by Ctrl-C leaves the
            # thread marked as stopped, so a second join() returns at once. The grace is for
            # the whole run, not per connection.
            deadline = time.monotonic() + _ABORT_GRACE_S
            for done in self._done:
                done.wait(max(deadline - time.monotonic(), 0.0))

    def interrupt(self) -> None:
        """Stop every connection: set the flag and unblock sessions waiting on the server."""
        logger.warning("interrupted: stopping {} connection(s)", len(self.contexts))
        self.result.interrupted = True
        self.cancelled.set()
        for ctx in self.contexts:
            for address, thread_id in ctx.abort():
                self.aborted.setdefault(address, []).append(thread_id)

    def _run_one(self, ctx: Context, done: threading.Event) -> None:
        try:
            self.machine.run(ctx)
        except Exception as exc:  # a bug in rig: recorded, never a raw thread traceback
            logger.opt(exception=exc).debug("connection {} crashed",  # pragma: no mutate
                                            ctx.connection_id)
            ctx.result.error = ctx.result.error or RunErrorInfo(
                f"internal error in connection {ctx.connection_id}: {type(exc).__name__}: "
                f"{exc}", ctx.state or None, ExitCode.INTERNAL, type(exc).__name__)
            ctx.result.final_state = ERROR
            ctx.close()
        finally:
            ctx.result.metrics = ctx.metrics.snapshot()
            self.shared.leave()
            done.set()

    def _record_check(self, check: Check) -> None:
        self.result.add_check(check)


def connection_targets(config: Config) -> list[ConnectionSettings]:
    """One :class:`ConnectionSettings` per connection: ``--connections`` to each ``--host``."""
    hosts = config.getoption("host") or []
    port = config.getoption("port") or DEFAULT_PORT
    targets = []
    for host in hosts:
        dial_host, dial_port = config.route(host.host, host.port or port)
        settings = ConnectionSettings(
            host=dial_host,
            port=dial_port,
            server=None if (dial_host, dial_port) == (host.host, host.port or port)
            else HostPort(host.host, host.port or port),
            user=config.getoption("user"),
            password=config.getoption("password"),
            database=config.getoption("database"),
            connect_timeout=config.getoption("connect_timeout"),
            ssl_mode=config.getoption("ssl_mode"),
            ssl_ca=config.getoption("ssl_ca"),
        )
        targets.extend([settings] * config.getoption("connections"))
    return targets
