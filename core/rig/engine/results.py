"""What a run produced: states visited with timings, checks with verdicts, servers, errors."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rig.errors import ExitCode, RigError, most_severe
from rig.timeline import TimelineEvent

if TYPE_CHECKING:
    from rig.data import DataStore
    from rig.db.flavor import ServerInfo


class Verdict(StrEnum):
    """The verdict of a check."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    UNKNOWN = "unknown"
    """The check could not decide (exit 6 when nothing failed)."""


@dataclass(frozen=True)
class Check:
    """A named check with its verdict and a one-line detail, made by a handler with
    ``ctx.check(...)``."""

    name: str
    verdict: Verdict
    detail: str = ""
    connection: str | None = None
    plugin: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class StateOutcome:
    """How a state ended: ``ok``, ``error`` or ``interrupted``, its duration and what's next."""

    status: str
    duration_s: float
    next_state: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class StateRecord:
    """One visit of one state."""

    name: str
    duration_s: float
    outcome: str
    plugin: str = "rig"


@dataclass(frozen=True)
class RunErrorInfo:
    """Why a connection ended in ``error``: the message, the state, the exit code it implies."""

    message: str
    state: str | None
    exit_code: ExitCode
    kind: str = "error"
    path: tuple[str, ...] = ()

    @classmethod
    def from_error(cls, error: RigError, state: str | None = None) -> RunErrorInfo:
        """The record of ``error``, with its exit code and kind."""
        return cls(str(error), state, ExitCode(error.exit_code), type(error).__name__)


@dataclass
class ConnectionResult:
    """The result of one connection's state machine."""

    id: str
    host: str
    port: int
    user: str
    states: list[StateRecord] = field(default_factory=list)
    server: ServerInfo | None = None
    tls: dict[str, str] | None = None
    error: RunErrorInfo | None = None
    final_state: str | None = None
    data: DataStore | None = None
    """The connection's ``ctx.data``: what its handlers stored, for ``rig_report``."""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the connection reached ``completed``."""
        return self.error is None and self.final_state == "completed"


@dataclass
class PluginRecord:
    """A plugin that took part in the run."""

    name: str
    distribution: str | None
    version: str | None


@dataclass
class RunResult:
    """Everything a run produced; handed to ``rig_report`` and the report writers."""

    rig_version: str
    plugins: list[PluginRecord] = field(default_factory=list)
    connections: list[ConnectionResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    errors: list[RunErrorInfo] = field(default_factory=list)
    """Errors outside any connection (a sandbox that would not start, a report hook)."""
    timeline: list[TimelineEvent] = field(default_factory=list)
    """The run's timeline events (see :class:`rig.Timeline`), in order."""
    scratch: dict[str, list[str]] = field(default_factory=dict)
    """What the run created in the database (``created``), dropped, and left behind."""
    started_at: float = 0.0
    duration_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_check(self, check: Check) -> None:
        """Record a check (thread-safe)."""
        with self._lock:
            self.checks.append(check)

    def count(self, verdict: Verdict) -> int:
        """How many checks have ``verdict``."""
        return sum(1 for check in self.checks if check.verdict is verdict)

    @property
    def exit_code(self) -> ExitCode:
        """0 all passed · 1 a check failed · 2 interrupted · 3 internal or plugin error ·
        4 usage · 5 the database was lost or unreachable · 6 a check could not decide. When
        several apply the most severe wins, in the order 2, 5, 3, 4, 1, 6
        (:data:`rig.errors.SEVERITY`)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        codes = [c.error.exit_code for c in self.connections if c.error is not None]
        codes += [e.exit_code for e in self.errors]
        if self.count(Verdict.FAIL) or self.count(Verdict.ERROR):
            codes.append(ExitCode.CHECK_FAILED)
        if self.count(Verdict.UNKNOWN):
            codes.append(ExitCode.UNDECIDED)
        return most_severe(codes)
