"""Ctrl-C and SIGTERM for the ``rig`` command: the signal handler raises
:class:`KeyboardInterrupt` (for the first signal; later ones are only recorded, as the run is
already stopping) and also records the signal, so that an interrupt Python swallows —
one raised inside a fork hook of ``subprocess``, a finaliser or a callback is printed as
"Exception ignored" and dropped — is not lost: :func:`check` raises it again at rig's
checkpoints (between the steps of a run, while waiting for the connections or a server).
:func:`deferred` holds the interrupt while a process is started, so that rig always has the
process's handle to stop it with.

Only ``rig.cli.main`` (which owns its process) installs the handler; a program that calls
``rig.run()`` keeps its own, and :func:`check` then never raises.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_received = threading.Event()
_held = 0
"""How many :func:`deferred` blocks the main thread (where Python runs the handler) is in."""


def _handler(signum: int, frame: FrameType | None) -> None:
    # only the first signal raises: the run is stopping in order from then on (the
    # connections' bounded wait, the cleanup states, the scratch data dropped once the workers
    # stopped, the reports), and a second one — ``timeout`` signals rig and then its process
    # group; an impatient user presses twice — cutting that short would drop tables under
    # workers still running, or leave a sandbox behind
    first = not _received.is_set()
    _received.set()
    if first and not _held:
        raise KeyboardInterrupt(f"signal {signum}")


def install() -> None:
    """Handle SIGINT and SIGTERM alike: record the signal, raise :class:`KeyboardInterrupt`."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def ignore() -> None:
    """Ignore SIGINT and SIGTERM from now on (the run is over: its exit code stands)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def received() -> bool:
    """Whether SIGINT or SIGTERM reached the handler of :func:`install`."""
    return _received.is_set()


def check() -> None:
    """Raise :class:`KeyboardInterrupt` if a signal was received: one Python swallowed is not
    lost. Call it where an interrupt must stop what follows; raising it again after it was
    handled is harmless, since the run is ending as interrupted."""
    if _received.is_set():
        raise KeyboardInterrupt("signal received")


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold an interrupt while the body runs (starting a process: interrupted inside
    ``subprocess.Popen``, the child would run on with no handle to stop it); a signal received
    meanwhile raises :class:`KeyboardInterrupt` when the body ends. Only the main thread holds
    (it is where the handler runs); elsewhere the body just runs."""
    global _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
    check()
