"""The lockstep session driver: a script of SQL steps across N sessions, run the way a person runs
Hermitage by hand in several terminals.

Each session is a :class:`rig.Connection` served by its own thread. Steps are handed out in script
order; a step whose session is still busy (blocked) queues behind it. After each step the driver
waits until nothing moves any more: every session is idle or its statement is **blocked**. A
statement is blocked when the server says its session waits on a lock (``SHOW ENGINE INNODB
STATUS``, ``information_schema`` ``INNODB_TRX`` and ``PROCESSLIST``,
``performance_schema.data_lock_waits``, TiDB's ``TIDB_TRX``, asked from a separate monitor
connection) or, where the server cannot tell, when it has not
returned within ``block_timeout``. A blocked step's result is collected when it returns. Errors
that abort a transaction (deadlock 1213, lock wait timeout 1205, record changed 1020, write
conflict 9007) are recorded against the step that raised them, and that session's later steps are
skipped. A step still blocked at the end is a **hang**: its session is killed (which rolls it
back) and closed. The driver never waits for the server's lock wait timeout.

The driver belongs to the isolation plugin (it was ``rig.Lockstep`` in rig-core 0.1) and uses only
rig's public API. Example, in a state handler::

    from rig_isolation.lockstep import Lockstep, Step

    c1, c2 = ctx.open_connection(), ctx.open_connection()
    with Lockstep({"T1": c1, "T2": c2}, monitor=ctx.require_connection()) as lockstep:
        result = lockstep.run([
            Step("T1", "BEGIN"), Step("T2", "BEGIN"),
            Step("T1", "UPDATE t SET v = 11 WHERE id = 1"),
            Step("T2", "UPDATE t SET v = 12 WHERE id = 1"),       # blocks
            Step("T1", "COMMIT"),                                # T2's update returns
            Step("T2", "COMMIT"),
        ])
        result.steps[3].blocked_s                                # how long T2 waited
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import rig

ABORT_CODES: Mapping[int, str] = {
    1213: "deadlock",
    1205: "lock wait timeout",
    1020: "record changed since last read (snapshot isolation)",
    9007: "write conflict",
}
"""Errors after which the server has rolled the transaction back (or may have): the session's
later steps are skipped."""

UNSUPPORTED_CODES: Mapping[int, str] = {8048: "isolation level not supported"}
"""Errors saying the server refuses the requested setting (TiDB's 8048)."""

_POLL_S = 0.01
_FIRST_PROBE_S = 0.005
"""A statement running this long is worth asking the server about (most return sooner)."""
_KILL_GRACE_S = 5.0


class StepStatus(StrEnum):
    """How a step ended."""

    OK = "ok"
    ERROR = "error"
    HANG = "hang"
    """Still blocked when the script ended; its session was killed."""
    SKIPPED = "skipped"
    """Never ran: its session's transaction had aborted, hung, or the run was cancelled."""


@dataclass(frozen=True)
class Step:
    """One statement of a script: the session that runs it, the SQL and an optional label by
    which the result is found (``result.step("read-1")``)."""

    session: str
    sql: str
    label: str = ""


@dataclass
class StepResult:
    """What one step did: its rows or error, whether and how long it was blocked."""

    index: int
    """1-based position in the script."""
    session: str
    sql: str
    label: str = ""
    status: StepStatus = StepStatus.SKIPPED
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int = 0
    error_code: int | None = None
    error_message: str | None = None
    skipped_reason: str | None = None
    blocked: bool = False
    """The step was seen blocked (waiting on a lock, or running past ``block_timeout``)."""
    blocked_by: str | None = None
    """How the block was detected: a server source (``innodb_trx``…) or ``timeout``."""
    blocked_s: float | None = None
    """For a blocked step: from its start until it returned (or was killed)."""
    released_after: int | None = None
    """For a blocked step: the last step another session had started when it returned (usually
    the commit or rollback that released the lock)."""
    duration_s: float = 0.0
    started_seq: int | None = None
    finished_seq: int | None = None
    """Order of start and end events across all sessions: steps are comparable in time."""

    @property
    def ok(self) -> bool:
        """Whether the step ran without error."""
        return self.status is StepStatus.OK

    @property
    def aborted(self) -> bool:
        """Whether the step raised an error that aborts the transaction (:data:`ABORT_CODES`)."""
        return self.error_code in ABORT_CODES

    @property
    def unsupported(self) -> bool:
        """Whether the server refused the step's setting (:data:`UNSUPPORTED_CODES`)."""
        return self.error_code in UNSUPPORTED_CODES

    def describe(self) -> str:
        """``step 4 T2 UPDATE …: blocked 0.12 s, ok`` — one line for evidence and logs."""
        parts = [f"step {self.index} {self.session} {self.sql}:"]
        if self.blocked:
            parts.append(f"blocked {self.blocked_s or 0.0:.3f} s ({self.blocked_by}),")
        if self.status is StepStatus.ERROR:
            parts.append(f"error {self.error_code}: {self.error_message}")
        elif self.status is StepStatus.SKIPPED:
            parts.append(f"skipped ({self.skipped_reason})")
        elif self.status is StepStatus.HANG:
            parts.append("hang, session killed")
        else:
            parts.append("ok")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (rows as lists)."""
        data: dict[str, Any] = {"step": self.index, "session": self.session, "sql": self.sql,
                                "status": self.status.value}
        if self.columns:
            data["rows"] = [list(row) for row in self.rows]
        if self.error_code is not None or self.error_message:
            data["error"] = {"code": self.error_code, "message": self.error_message}
        if self.skipped_reason:
            data["skipped"] = self.skipped_reason
        if self.blocked:
            data["blocked"] = {"seconds": round(self.blocked_s or 0.0, 4),
                               "detected_by": self.blocked_by,
                               "released_after_step": self.released_after}
        return data


@dataclass
class LockstepResult:
    """The results of one :meth:`Lockstep.run`, in script order."""

    steps: list[StepResult]
    detection: str
    """The block detection used: the server sources joined by ``+``, or ``timeout``."""
    cancelled: bool = False

    def step(self, label: str) -> StepResult:
        """The step labelled ``label``."""
        for result in self.steps:
            if result.label == label:
                return result
        raise KeyError(f"no step labelled {label!r}")

    @property
    def blocked(self) -> list[StepResult]:
        """Steps that were seen blocked."""
        return [s for s in self.steps if s.blocked]

    @property
    def errors(self) -> list[StepResult]:
        """Steps that raised an error."""
        return [s for s in self.steps if s.status is StepStatus.ERROR]

    @property
    def hangs(self) -> list[StepResult]:
        """Steps still blocked at the end of the script."""
        return [s for s in self.steps if s.status is StepStatus.HANG]


@dataclass(frozen=True)
class WaitSource:
    """A server view listing sessions that wait on a lock: ``sql`` returns (session id,
    statement text) rows.

    ``refresh_s``: the view is a cache the server refreshes only when it was last read longer
    ago than this (InnoDB's ``INNODB_TRX``: 0.1 s), so the probe reads it no more often. ``tagged``
    says the text is the statement as sent, with the driver's step comment, so that a row about
    an earlier statement is never taken for a later step.
    """

    name: str
    sql: str
    refresh_s: float = 0.0
    tagged: bool = True
    parse: Callable[[list[tuple[Any, ...]]], list[tuple[Any, Any]]] | None = None
    """Turns the rows into (session id, text) pairs; ``None``: the rows are those pairs."""


_TRANSACTION = re.compile(r"^---TRANSACTION ", re.MULTILINE)
_THREAD_ID = re.compile(r"(?:MySQL|MariaDB) thread id (\d+)")


def parse_innodb_status(rows: list[tuple[Any, ...]]) -> list[tuple[Any, Any]]:
    """The transactions in ``LOCK WAIT`` of ``SHOW ENGINE INNODB STATUS``: (thread id, the
    transaction's block of text, which holds its current statement)."""
    waits = []
    for row in rows:
        for block in _TRANSACTION.split(str(row[-1]))[1:]:
            match = _THREAD_ID.search(block)
            if match and "\nLOCK WAIT " in block:
                waits.append((int(match.group(1)), block))
    return waits


WAIT_SOURCES = (
    WaitSource("innodb_status", "SHOW ENGINE INNODB STATUS", parse=parse_innodb_status),
    WaitSource("innodb_trx", "SELECT trx_mysql_thread_id, trx_query FROM "
               "information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'", refresh_s=0.11),
    WaitSource("data_lock_waits", "SELECT t.PROCESSLIST_ID, t.PROCESSLIST_INFO FROM "
               "performance_schema.data_lock_waits w JOIN performance_schema.threads t "
               "ON t.THREAD_ID = w.REQUESTING_THREAD_ID"),
    WaitSource("processlist", "SELECT ID, INFO FROM information_schema.PROCESSLIST "
               "WHERE STATE LIKE 'Waiting for%lock%'"),
    WaitSource("tidb_trx", "SELECT SESSION_ID, CURRENT_SQL_DIGEST_TEXT FROM "
               "information_schema.TIDB_TRX WHERE STATE = 'LockWaiting'", tagged=False),
)
"""Every source the driver tries; those the server (or the user's privileges) refuse are
dropped at start."""


@dataclass(frozen=True)
class Wait:
    """A session seen waiting on a lock: by which source, its statement, when it was asked."""

    source: WaitSource
    text: str
    asked_at: float


class LockWaitProbe:
    """Asks the server, from a monitor connection, which sessions wait on a lock."""

    def __init__(self, monitor: rig.Connection,
                 sources: Sequence[WaitSource] = WAIT_SOURCES) -> None:
        self.monitor = monitor
        self._last_read: dict[str, float] = {}
        self.sources = [source for source in sources if self._works(source)]

    def _works(self, source: WaitSource) -> bool:
        try:
            self.monitor.query_rows(source.sql)
        except rig.DatabaseError:
            return False
        self._last_read[source.name] = time.monotonic()
        return True

    @property
    def name(self) -> str:
        """The sources in use joined by ``+``; ``timeout`` when there is none."""
        return "+".join(source.name for source in self.sources) or "timeout"

    def waits(self) -> dict[int, list[Wait]]:
        """Session id → the waits reported for it now, by every source due for a fresh read
        (a cached source is skipped until its refresh interval has passed)."""
        found: dict[int, list[Wait]] = {}
        for source in self.sources:
            asked_at = time.monotonic()
            if asked_at - self._last_read.get(source.name, 0.0) < source.refresh_s:
                continue
            self._last_read[source.name] = asked_at
            try:
                _names, rows = self.monitor.query_rows(source.sql)
            except rig.DatabaseError:
                continue
            pairs = source.parse(rows) if source.parse else [(r[0], r[1]) for r in rows]
            for session_id, text in pairs:
                if session_id is not None:
                    found.setdefault(int(session_id), []).append(
                        Wait(source, str(text or ""), asked_at))
        return found


class _Job:
    def __init__(self, result: StepResult, sql: str, tag: str) -> None:
        self.result = result
        self.sql = sql
        self.tag = tag
        self.started_at: float | None = None
        self.done = False
        self.hang = False
        self.stop_reason: str | None = None
        """Why a running step was killed other than a hang (``cancelled``, ``closed``)."""
        self.confirmed_at: float | None = None


def _from_driver(exc: Exception) -> bool:
    """Whether ``exc`` is an error of the server or the connection (PyMySQL's errors carry the
    MySQL error code as their first argument; socket errors are ``OSError``), not a bug."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return isinstance(exc, OSError) or (bool(args) and isinstance(args[0], int))


class _Session:
    """One connection and the thread that runs its steps in order."""

    def __init__(self, name: str, connection: rig.Connection, driver: Lockstep) -> None:
        self.name = name
        self.connection = connection
        self.driver = driver
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.current: _Job | None = None
        self.pending = 0
        self.stopped_reason: str | None = None
        self.killed = False
        self.thread_id = connection.server_thread_id
        self.thread = threading.Thread(target=self._loop, name=f"rig-lockstep-{name}",
                                       daemon=True)
        self.thread.start()

    @property
    def idle(self) -> bool:
        return self.current is None and self.pending == 0

    def submit(self, job: _Job) -> None:
        with self.driver.changed:
            self.pending += 1
        self.jobs.put(job)

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            driver = self.driver
            with driver.changed:
                self.pending -= 1
                if self.stopped_reason is not None:
                    job.result.status = StepStatus.SKIPPED
                    job.result.skipped_reason = self.stopped_reason
                    job.done = True
                    driver.changed.notify_all()
                    continue
                self.current = job
                job.started_at = time.monotonic()
                job.result.started_seq = driver.next_seq()
                driver.record_start(self.name, job.result.index)
            self._execute(job)
            with driver.changed:
                finished = time.monotonic()
                assert job.started_at is not None
                job.result.duration_s = finished - job.started_at
                job.result.finished_seq = driver.next_seq()
                if job.result.blocked or job.hang:
                    job.result.blocked_s = job.result.duration_s
                    job.result.released_after = driver.last_start_by_other(self.name)
                if job.stop_reason is not None and not job.result.ok:
                    job.result.status = StepStatus.SKIPPED
                    job.result.skipped_reason = f"{job.stop_reason} while running"
                    job.result.error_code = job.result.error_message = None
                elif job.hang and not job.result.ok:  # (it may have returned just before KILL)
                    job.result.status = StepStatus.HANG
                    job.result.error_code = job.result.error_message = None
                    self.stopped_reason = f"session hung in step {job.result.index}"
                elif job.result.aborted:
                    self.stopped_reason = (f"transaction aborted in step {job.result.index} "
                                           f"({job.result.error_code})")
                driver.record_finish(finished)
                job.done = True
                self.current = None
                driver.changed.notify_all()

    def _execute(self, job: _Job) -> None:
        result = job.result
        try:
            with self.connection.raw.cursor() as cursor:
                affected = cursor.execute(job.tag + job.sql)
                if cursor.description:
                    result.columns = [column[0] for column in cursor.description]
                    result.rows = [tuple(row) for row in cursor.fetchall()]
                result.rowcount = int(affected)
            result.status = StepStatus.OK
        except Exception as exc:  # the driver's errors; a bug must not kill the thread silently
            error = rig.DatabaseError(exc, operation=f"step {result.index}",
                                      connection_id=self.connection.id)
            result.status = StepStatus.ERROR
            result.error_code = error.code
            result.error_message = error.server_message if _from_driver(exc) \
                else f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(_KILL_GRACE_S)


class Lockstep:
    """Runs scripts of :class:`Step` s across named sessions (see the module's docs).

    :param sessions: session name → open :class:`rig.Connection` (autocommit on, as
        ``ctx.open_connection()`` and :class:`rig.Connector` open them); :meth:`close` rolls
        them back and closes them.
    :param monitor: a further connection used to ask the server which sessions wait on a lock,
        and to ``KILL`` a hung session; ``None`` for timeout-only detection.
    :param block_timeout: seconds after which a step that has not returned counts as blocked
        where the server cannot tell (and the longest a hang is waited for).
    :param server_detection: ``False`` to always wait ``block_timeout`` (for comparison).
    :param cancelled: polled while waiting; when it returns true, running steps are killed and
        the remaining ones skipped.
    :param keep_sessions: leave the sessions open in :meth:`close` (rolled back), for the caller
        to reuse; a killed session is closed anyway.
    """

    def __init__(self, sessions: Mapping[str, rig.Connection], *,
                 monitor: rig.Connection | None = None,
                 block_timeout: float = 1.0, server_detection: bool = True,
                 cancelled: Callable[[], bool] | None = None,
                 keep_sessions: bool = False) -> None:
        if not sessions:
            raise ValueError("a lockstep script needs at least one session")
        self.changed = threading.Condition(threading.Lock())
        self.monitor = monitor
        self.block_timeout = block_timeout
        self.keep_sessions = keep_sessions
        self.cancelled = cancelled or (lambda: False)
        self.probe = LockWaitProbe(monitor) if monitor is not None and server_detection \
            else None
        self.last_progress = time.monotonic()
        self._started: list[tuple[str, int]] = []
        self._seq = 0
        self._count = 0
        self._token = uuid.uuid4().hex[:8]
        self.sessions: dict[str, _Session] = {}
        try:
            for name, connection in sessions.items():
                self.sessions[name] = _Session(name, connection, self)
        except BaseException:
            self.close()
            raise

    @property
    def detection(self) -> str:
        """How blocked steps are detected: server sources joined by ``+``, or ``timeout``."""
        return self.probe.name if self.probe is not None else "timeout"

    def next_seq(self) -> int:
        """The next event number (call with ``changed`` held)."""
        self._seq += 1
        return self._seq

    def record_start(self, session: str, index: int) -> None:
        """Remember that ``session`` started step ``index`` (call with ``changed`` held)."""
        self._started.append((session, index))

    def record_finish(self, at: float) -> None:
        """A step finished: locks may have moved (call with ``changed`` held)."""
        self.last_progress = at

    def last_start_by_other(self, session: str) -> int | None:
        """The last step another session started (call with ``changed`` held): what released
        a blocked step of ``session``."""
        return next((index for name, index in reversed(self._started) if name != session),
                    None)

    def run(self, steps: Sequence[Step]) -> LockstepResult:
        """Run ``steps`` in order; returns every step's result. Several runs may follow each
        other on the same sessions (step numbers continue; a session whose transaction aborted
        runs again in the next run, a killed one never)."""
        for step in steps:
            if step.session not in self.sessions:
                raise ValueError(f"step {step.sql!r} names unknown session {step.session!r}; "
                                 f"sessions: {', '.join(self.sessions)}")
        with self.changed:
            for session in self.sessions.values():
                if not session.killed:
                    session.stopped_reason = None
        jobs = []
        cancelled = False
        for step in steps:
            self._count += 1
            result = StepResult(self._count, step.session, step.sql, step.label)
            job = _Job(result, step.sql, f"/* rig-lockstep {self._token}:{self._count} */ ")
            jobs.append(job)
            if cancelled:
                result.skipped_reason = "cancelled"
                continue
            self.sessions[step.session].submit(job)
            cancelled = not self._settle()
        if not cancelled:
            self._end_hangs()
        else:
            self._kill_running("cancelled")
        self._wait_idle()
        return LockstepResult([job.result for job in jobs], self.detection, cancelled)

    def _running(self) -> list[_Job]:
        return [s.current for s in self.sessions.values()
                if s.current is not None and not s.current.done]

    def _settle(self) -> bool:
        """Wait until every session is idle or blocked; ``False`` when cancelled."""
        while True:
            if self.cancelled():
                return False
            with self.changed:
                if all(s.idle for s in self.sessions.values()):
                    return True
                busy_idle = any(s.current is None and s.pending for s in self.sessions.values())
                running = self._running()
                basis = self.last_progress
            undecided = [job for job in running if not self._is_blocked(job, basis)]
            if not undecided and not busy_idle:
                return True
            if undecided:
                self._detect(undecided, basis)
            with self.changed:
                if self.last_progress == basis:
                    self.changed.wait(_POLL_S)

    def _is_blocked(self, job: _Job, basis: float) -> bool:
        assert job.started_at is not None
        since = max(job.started_at, basis)
        if job.confirmed_at is not None and job.confirmed_at >= since:
            return True
        if time.monotonic() - since >= self.block_timeout:
            self._mark_blocked(job, "timeout", time.monotonic())
            return True
        return False

    def _detect(self, jobs: list[_Job], basis: float) -> None:
        if self.probe is None or not self.probe.sources:
            return
        now = time.monotonic()
        jobs = [job for job in jobs
                if job.started_at is not None and now - job.started_at >= _FIRST_PROBE_S]
        if not jobs:
            return
        waits = self.probe.waits()
        for job in jobs:
            assert job.started_at is not None
            since = max(job.started_at, basis)
            session = self.sessions[job.result.session]
            for wait in waits.get(session.thread_id, []):
                if wait.source.tagged and job.tag.strip() not in wait.text:
                    continue
                if wait.asked_at > since:
                    self._mark_blocked(job, wait.source.name, wait.asked_at)
                    break

    def _mark_blocked(self, job: _Job, how: str, at: float) -> None:
        with self.changed:
            if job.done:
                return
            job.confirmed_at = at
            if not job.result.blocked:
                job.result.blocked = True
                job.result.blocked_by = how

    def _end_hangs(self) -> None:
        """Every step still running now is blocked with nothing left to release it."""
        self._kill_running(None)

    def _kill_running(self, reason: str | None) -> None:
        """Kill every running step: as a hang (``reason`` ``None``), or because the run was
        cancelled or the driver closed; later steps of every session are then skipped."""
        with self.changed:
            running = self._running()
            for session in self.sessions.values():
                if reason is not None:
                    session.stopped_reason = reason
            for job in running:
                job.hang = reason is None
                job.stop_reason = reason
        for job in running:
            self._kill(self.sessions[job.result.session])

    def _kill(self, session: _Session) -> None:
        """End a blocked session: ``KILL`` from the monitor (the server rolls it back), else shut
        its socket down."""
        session.killed = True
        if self.monitor is not None:
            with contextlib.suppress(rig.DatabaseError):
                self.monitor.execute(f"KILL {int(session.thread_id)}")
                return
        session.connection.abort()

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + _KILL_GRACE_S
        with self.changed:
            while not all(s.idle for s in self.sessions.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(min(left, _POLL_S * 10))

    def close(self) -> None:
        """Roll back what is still open, stop the threads and close the sessions (a killed one
        always; the others unless ``keep_sessions``)."""
        self._kill_running("closed")
        self._wait_idle()
        for session in self.sessions.values():
            session.stop()
            if session.thread.is_alive():  # stuck in a statement even after KILL
                session.connection.abort()
                session.killed = True
            if not session.killed:
                with contextlib.suppress(Exception):
                    session.connection.raw.rollback()
            if session.killed or not self.keep_sessions:
                session.connection.close()

    def __enter__(self) -> Lockstep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
