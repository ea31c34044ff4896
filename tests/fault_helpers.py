"""Running rig against a server the test hurts: kill -9, restart, pause (``rig.Sandbox``).

rig runs in-process in a thread (:class:`FaultRun`), the test's main thread injects the fault
(the sandbox's server dies with the thread that started it, so it must be revived from the
main thread) once rig reached an observable point: a state entered (seen by a tiny in-process
plugin, ``faultwatch``, added to ``--plugin``) or a log message (seen by a loguru sink the
test adds; rig leaves a caller's sinks alone).

A module the tests import, not a ``conftest.py``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from loguru import logger

import rig
from rig.testing import RigRun, RigRunner, ServerDSN

DEADLINE_S = 60.0
"""A backstop only: every wait ends as soon as its condition holds."""
WATCH = "faultwatch"


class _Watch:
    """The in-process plugin that reports the states connections enter."""

    def __init__(self) -> None:
        self.entered: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, state: str) -> threading.Event:
        with self._lock:
            return self.entered.setdefault(state, threading.Event())

    @rig.hookimpl
    def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
        self.event(state).set()


class FaultRun:
    """``rig --host BOX --user root --plugin PLUGINS,faultwatch ARGS`` in a thread."""

    def __init__(self, box: rig.Sandbox, workdir: Path, plugins: str, *args: str) -> None:
        self.box = box
        self.server = ServerDSN(box.host, box.port, box.user)
        self.runner = RigRunner(workdir, self.server)
        self.watch = _Watch()
        self.messages: list[str] = []
        self._sink = logger.add(self._keep, level="DEBUG")
        self._runs: list[RigRun] = []
        self._thread = threading.Thread(target=self._run, args=(plugins, args), daemon=True)
        self._thread.start()

    def _keep(self, message: Any) -> None:
        record = message.record
        self.messages.append(f"{record['extra'].get('conn', '-')} {record['message']}")

    def _run(self, plugins: str, args: tuple[str, ...]) -> None:
        self._runs.append(self.runner.run_on_server(
            "--plugin", f"{plugins},{WATCH}", *args, plugins=[(WATCH, self.watch)]))

    def _wait(self, condition: Any, what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            if not self._thread.is_alive():
                raise AssertionError(f"rig ended before {what}: {self._runs[0].output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what} after {DEADLINE_S:g}s")
            time.sleep(0.02)

    def wait_state(self, state: str) -> None:
        """Until a connection entered ``state``."""
        event = self.watch.event(state)
        self._wait(event.is_set, f"a connection entering {state}")

    def wait_log(self, text: str, count: int = 1) -> None:
        """Until ``count`` log messages (any level, from ``DEBUG``) contain ``text``."""
        self._wait(lambda: sum(text in m for m in list(self.messages)) >= count,
                   f"{count} log message(s) with {text!r}")

    def result(self) -> RigRun:
        """Wait for the end of the run; what it produced."""
        self._thread.join(DEADLINE_S * 4)
        logger.remove(self._sink)
        assert not self._thread.is_alive(), "rig did not end"
        return self._runs[0]


def error_lines(run: RigRun) -> list[str]:
    """The ``rig: error:`` lines of the run."""
    return [line for line in run.stderr.splitlines() if line.startswith("rig: error:")]
