"""Exit codes and the exceptions that carry them.

Every failure a user can cause is a :class:`RigError` whose ``str()`` is one line naming the
cause and the fix. The CLI prints that line and exits with the error's :attr:`RigError.exit_code`;
a traceback is shown only with ``-v``.
"""

from __future__ import annotations

import traceback
from enum import IntEnum
from pathlib import Path

_CORE_DIR = Path(__file__).resolve().parent


class ExitCode(IntEnum):
    """The documented exit codes of ``rig``."""

    OK = 0
    """Every check passed."""
    CHECK_FAILED = 1
    """A check failed: a verdict, a failed job, an unexpected anomaly."""
    INTERRUPTED = 2
    """The run was interrupted (Ctrl-C or SIGTERM); the reports hold what ran."""
    INTERNAL = 3
    """An internal or plugin error: a handler or a hook raised, a plugin failed to load in
    strict mode."""
    USAGE = 4
    """A usage or configuration error: bad option value, bad config file, unknown plugin."""
    UNREACHABLE = 5
    """The database cannot be reached, logged in to, or kept talking to."""
    UNDECIDED = 6
    """No check failed, but one could not decide (a history checker's cycle search ran out of
    time): neither a pass nor a failure."""


SEVERITY = (ExitCode.INTERRUPTED, ExitCode.UNREACHABLE, ExitCode.INTERNAL, ExitCode.USAGE,
            ExitCode.CHECK_FAILED, ExitCode.UNDECIDED, ExitCode.OK)
"""Exit codes from the most to the least severe: when several apply, the first one wins."""


def most_severe(codes: list[ExitCode]) -> ExitCode:
    """The code of :data:`SEVERITY` that comes first among ``codes`` (``OK`` for none)."""
    return next((code for code in SEVERITY if code in codes), ExitCode.OK)


class RigError(Exception):
    """Base of rig's errors: a one-line message with the cause and, where known, the fix."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}: {self.hint}"
        return self.message


class UsageError(RigError):
    """The command line, environment or config file asked for something rig cannot do."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """An option has an invalid value, or a config file cannot be read."""


class PluginError(RigError):
    """A plugin failed to load or register, broke a rule of the plugin API, or one of its hooks
    or handlers raised."""

    exit_code = ExitCode.INTERNAL


class WorkflowError(RigError):
    """A workflow went wrong: an unknown state, a loop past the bound, a handler exception."""

    exit_code = ExitCode.INTERNAL


class ConnectError(RigError):
    """The database cannot be reached or logged in to (exit 5)."""

    exit_code = ExitCode.UNREACHABLE


class ServerLostError(ConnectError):
    """The server stopped answering in the middle of the run: killed, crashed, restarted and
    not back in time (exit 5)."""


class SandboxError(ConnectError):
    """The throwaway sandbox server could not be found, started or stopped."""


def os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, to go in a message: ``permission denied``."""
    return (exc.strerror or str(exc)).lower()


def code_location(exc: BaseException) -> str:
    """Where ``exc`` came from in code that is not rig's core: ``file:line`` of the innermost
    frame outside ``core/rig`` (the plugin's line that raised, or that called into rig), or
    ``""`` when every frame is rig's own."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    for frame in reversed(frames):
        path = Path(frame.filename)
        if _CORE_DIR not in path.resolve().parents and "pluggy" not in path.parts:
            return f"{frame.filename}:{frame.lineno}"
    return ""
