"""A protocol-level TiDB **stand-in** for tests — not TiDB.

:class:`TidbStandin` is a MySQL-protocol server built on `mysql-mimic`_ that answers the handful
of statements through which rig and its plugins recognise and watch TiDB: the handshake version
(``8.0.11-TiDB-v8.5.6``), ``SELECT tidb_version()``, ``VERSION()``, ``@@version_comment``,
``@@transaction_isolation``, ``CURRENT_USER()``, ``SHOW GRANTS``, ``SHOW IMPORT JOBS``,
``SHOW IMPORT JOB <id>``, ``CANCEL IMPORT JOB <id>`` and ``ADMIN SHOW DDL JOBS``, with TiDB's
column layouts, wire types, ``NULL`` rules and error codes (8170, 8171), and ``SELECT NOW(6)``.
What a real tidb-server v8.5.6 (unistore) shows was checked against it, and the stand-in agrees:
the version lines, 13 ``SHOW IMPORT JOBS`` columns (strings of wire type STRING, times
TIMESTAMP), 13 ``ADMIN SHOW DDL JOBS`` columns (strings VAR_STRING, times DATETIME), 8170 for
a missing import job, TiDB-like connection ids (from ``2097152`` up). The lane's tests
(``tests/plugins/job_monitor/test_job_monitor_tidb.py``) compare the layouts with the real
server's.

It also answers what rig's isolation plugin sends before a test, as TiDB v8.5 does where it
matters: ``SET [SESSION|GLOBAL] TRANSACTION ISOLATION LEVEL ...`` and
``SET transaction_isolation = ...`` refuse READ UNCOMMITTED and SERIALIZABLE with TiDB's error
8048 (:attr:`TidbStandin.refused_isolation_levels`) unless ``tidb_skip_isolation_level_check``
is on (``SET [SESSION|GLOBAL] tidb_skip_isolation_level_check = 1``; the global value is
:attr:`TidbStandin.skip_isolation_level_check`); ``BEGIN [OPTIMISTIC|PESSIMISTIC]`` and
``@@tidb_txn_mode`` (:attr:`TidbStandin.txn_mode`) are accepted and answered; the lock-wait
views ``information_schema.TIDB_TRX``, ``CLUSTER_TIDB_TRX``, ``DATA_LOCK_WAITS`` and
``PROCESSLIST`` (``*`` or a plain list of their real columns, optionally a ``WHERE``; another
column is TiDB's 1054) answer with no rows — the stand-in has no sessions waiting on anything —
and the InnoDB ones with TiDB's errors (``information_schema.INNODB_TRX`` and
``performance_schema.data_lock_waits``: 1146; ``SHOW ENGINE INNODB STATUS``: 1064, TiDB's
parser does not know it).

It has no storage, no transactions and no SQL engine beyond what mysql-mimic offers:
``CREATE``/``DROP``/``TRUNCATE`` and ``INSERT`` are accepted and store nothing, reads return no
rows, ``COMMIT``/``ROLLBACK`` do nothing, and nothing ever waits on a lock. Use it to test
protocol handling, parsing of TiDB's outputs, retry and reconnect logic and statements TiDB
refuses — never isolation behaviour or anything that needs real data. Tests that use it are
marked ``@pytest.mark.tidb_standin``.

Tests script it from their own thread:

- jobs: :meth:`TidbStandin.add_import_job` / :meth:`TidbStandin.add_ddl_job` with ``steps``
  (field updates applied one per listing, so a poller sees pending → running → finished
  deterministically) or :meth:`TidbStandin.update_import_job` at any time;
- errors: :meth:`TidbStandin.fail_next` answers the next matching statement with an error code;
- lost connections: :meth:`TidbStandin.drop_next` closes the client's connection instead of
  answering, :meth:`TidbStandin.drop_connections` closes every open one now.

mysql-mimic is an optional test dependency (``pip install 'rig-core[test]'``); it is imported
when a stand-in is created, with a clear error if it is missing.

.. _mysql-mimic: https://github.com/kelsin/mysql-mimic
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from types import TracebackType
from typing import Any

DEFAULT_VERSION = "8.0.11-TiDB-v8.5.6"
VERSION_COMMENT = "TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible"

IMPORT_COLUMNS_13 = (
    "Job_ID", "Data_Source", "Target_Table", "Table_ID", "Phase", "Status", "Source_File_Size",
    "Imported_Rows", "Result_Message", "Create_Time", "Start_Time", "End_Time", "Created_By",
)
"""``SHOW IMPORT JOBS`` up to TiDB v8.5."""
IMPORT_COLUMNS_21 = (
    "Job_ID", "Group_Key", "Data_Source", "Target_Table", "Table_ID", "Phase", "Status",
    "Source_File_Size", "Imported_Rows", "Result_Message", "Create_Time", "Start_Time",
    "End_Time", "Created_By", "Last_Update_Time", "Cur_Step", "Cur_Step_Processed_Size",
    "Cur_Step_Total_Size", "Cur_Step_Progress_Pct", "Cur_Step_Speed", "Cur_Step_ETA",
)
"""``SHOW IMPORT JOBS`` in builds newer than v8.5 (``Group_Key`` and the ``Cur_Step*``
progress columns)."""
DDL_COLUMNS_12 = (
    "JOB_ID", "DB_NAME", "TABLE_NAME", "JOB_TYPE", "SCHEMA_STATE", "SCHEMA_ID", "TABLE_ID",
    "ROW_COUNT", "CREATE_TIME", "START_TIME", "END_TIME", "STATE",
)
"""``ADMIN SHOW DDL JOBS`` of older releases."""
DDL_COLUMNS_13 = (*DDL_COLUMNS_12, "COMMENTS")
"""``ADMIN SHOW DDL JOBS`` in v8.x."""
LOCK_VIEW_COLUMNS = {
    "tidb_trx": ("ID", "START_TIME", "CURRENT_SQL_DIGEST", "CURRENT_SQL_DIGEST_TEXT", "STATE",
                 "WAITING_START_TIME", "MEM_BUFFER_KEYS", "MEM_BUFFER_BYTES", "SESSION_ID",
                 "USER", "DB", "ALL_SQL_DIGESTS", "RELATED_TABLE_IDS", "WAITING_TIME"),
    "data_lock_waits": ("KEY", "KEY_INFO", "TRX_ID", "CURRENT_HOLDING_TRX_ID", "SQL_DIGEST",
                        "SQL_DIGEST_TEXT"),
    "processlist": ("ID", "USER", "HOST", "DB", "COMMAND", "TIME", "STATE", "INFO", "DIGEST",
                    "MEM", "DISK", "TxnStart", "RESOURCE_GROUP", "SESSION_ALIAS",
                    "ROWS_AFFECTED", "TIDB_CPU", "TIKV_CPU"),
}
"""The columns of TiDB v8.5.6's lock and session views in ``information_schema``
(``CLUSTER_TIDB_TRX`` is ``TIDB_TRX`` with ``INSTANCE`` first)."""
LOCK_VIEW_COLUMNS["cluster_tidb_trx"] = ("INSTANCE", *LOCK_VIEW_COLUMNS["tidb_trx"])
TIDB_CONNECTION_ID_BASE = 2097152
"""TiDB v8.5 numbers connections from ``2097152`` (server id 1 << 21) up; the stand-in too."""

_INT_COLUMNS = {"Job_ID", "Table_ID", "Imported_Rows", "JOB_ID", "SCHEMA_ID", "TABLE_ID",
                "ROW_COUNT"}
_TIME_COLUMNS = {"Create_Time", "Start_Time", "End_Time", "Last_Update_Time", "CREATE_TIME",
                 "START_TIME", "END_TIME"}
_IMPORT_FINAL = {"finished", "failed", "cancelled", "canceled"}
_DDL_FINAL = {"synced", "rollback done", "cancelled"}
_STEP_COLUMNS = ("cur_step", "cur_step_processed_size", "cur_step_total_size",
                 "cur_step_progress_pct", "cur_step_speed", "cur_step_eta")

ER_JOB_NOT_FOUND = 8170
ER_JOB_STATUS = 8171
ER_SPECIFIC_ACCESS_DENIED = 1227
ER_NO_SUCH_TABLE = 1146
ER_PARSE_ERROR = 1064
ER_BAD_FIELD = 1054
ER_WRONG_VALUE_FOR_VAR = 1231
ER_ISOLATION_LEVEL_NOT_SUPPORTED = 8048

ISOLATION_LEVELS = ("READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE")
"""Isolation levels as ``@@transaction_isolation`` spells them."""
TIDB_REFUSED_ISOLATION_LEVELS = frozenset({"READ-UNCOMMITTED", "SERIALIZABLE"})
"""What TiDB refuses with 8048 unless ``tidb_skip_isolation_level_check`` is on."""
_TRUE = {"1", "on", "true"}
_FALSE = {"0", "off", "false"}
_LEADING_COMMENTS = re.compile(r"^(?:\s*/\*.*?\*/)+\s*", re.DOTALL)


@dataclass
class ImportJob:
    """One ``IMPORT INTO`` job as ``SHOW IMPORT JOBS`` shows it (field = column, lower case).

    ``steps`` are field updates applied one per ``SHOW IMPORT JOBS`` answered, after the
    answer: the first listing shows the job as created, the next one after ``steps[0]``, and
    so on; the last state stays. As in TiDB, ``start_time`` and ``end_time`` are filled in
    when the status turns ``running`` or final, the ``Cur_Step*`` columns are ``NULL`` unless
    running, and ``Imported_Rows`` is ``NULL`` for failed and cancelled jobs.
    """

    job_id: int
    target_table: str = "`test`.`t`"
    data_source: str = "s3://bucket/data/*.csv"
    table_id: int = 100
    group_key: str | None = None
    phase: str = ""
    status: str = "pending"
    source_file_size: str = "1.194TB"
    imported_rows: int | None = None
    result_message: str = ""
    create_time: datetime = field(default_factory=datetime.now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_by: str = "root@%"
    last_update_time: datetime | None = None
    cur_step: str | None = None
    cur_step_processed_size: str | None = None
    cur_step_total_size: str | None = None
    cur_step_progress_pct: str | None = None
    cur_step_speed: str | None = None
    cur_step_eta: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Update fields, stamping start/end times on status changes like TiDB does."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"ImportJob has no field(s) {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)
        now = datetime.now()
        if self.status == "running":
            self.start_time = self.start_time or now
            self.last_update_time = now
        elif self.status in _IMPORT_FINAL:
            self.start_time = self.start_time or (now if self.status == "finished" else None)
            self.end_time = self.end_time or now
            self.last_update_time = self.end_time
            for name in _STEP_COLUMNS:
                setattr(self, name, None)
            if self.status != "finished":
                self.imported_rows = None
            if self.status in ("cancelled", "canceled") and not self.result_message:
                self.result_message = "cancelled by user"

    def row(self, columns: Sequence[str]) -> list[Any]:
        """The job's row in the given layout."""
        return [getattr(self, column.lower()) for column in columns]


@dataclass
class DdlJob:
    """One DDL job as ``ADMIN SHOW DDL JOBS`` shows it; ``steps`` work as in
    :class:`ImportJob`, one per ``ADMIN SHOW DDL JOBS`` answered."""

    job_id: int
    db_name: str = "test"
    table_name: str = "t"
    job_type: str = "add index"
    schema_state: str = "none"
    schema_id: int = 2
    table_id: int = 100
    row_count: int = 0
    create_time: datetime = field(default_factory=datetime.now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    state: str = "queueing"
    comments: str = "ingest, DXF"
    steps: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Update fields, stamping start/end times on state changes."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"DdlJob has no field(s) {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)
        now = datetime.now()
        if self.state != "queueing":
            self.start_time = self.start_time or now
        if self.state in _DDL_FINAL:
            self.end_time = self.end_time or now

    def row(self, columns: Sequence[str]) -> list[Any]:
        """The job's row in the given layout."""
        return [getattr(self, column.lower()) for column in columns]


@dataclass
class _Rule:
    """A scripted reaction to the next statement(s) matching ``pattern``."""

    pattern: re.Pattern[str] | None
    times: int
    skip: int = 0
    code: int = 0
    message: str = ""

    def matches(self, sql: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(sql))


class StandinMissing(RuntimeError):
    """mysql-mimic is not installed."""


def _mimic() -> Any:
    try:
        import mysql_mimic
    except ImportError:
        raise StandinMissing(
            "the TiDB stand-in needs mysql-mimic, an optional test dependency: "
            "pip install 'rig-core[test]' (or pip install mysql-mimic)"
        ) from None
    quiet = logging.getLogger("mysql_mimic")  # its per-connection chatter is not rig's output
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    return mysql_mimic


class TidbStandin:
    """A mysql-mimic server that looks like TiDB to a client, on 127.0.0.1 and a free port.

    Use as a context manager (``with TidbStandin() as tidb: ... tidb.port``) or call
    :meth:`start` and :meth:`stop`. Every public method is thread-safe.

    :param version: the version the handshake and ``VERSION()`` report.
    :param import_layout: 13 or 21 columns for ``SHOW IMPORT JOB(S)``.
    :param ddl_columns: 12 or 13 columns for ``ADMIN SHOW DDL JOBS``.
    :param edition: ``Edition`` line of ``tidb_version()``.
    :param store: ``Store`` line of ``tidb_version()`` (``unistore``, as the real
        standalone tidb-server says; ``tikv`` on a cluster).
    :param super_privilege: with ``False`` the session lacks ``SUPER``: ``SHOW GRANTS`` says so,
        ``SHOW IMPORT JOBS`` lists only the user's own jobs, and ``SHOW IMPORT JOB`` on another
        user's job fails with 1227 as in TiDB.

    Attributes a test may change at any time: the constructor's parameters, and

    - ``refused_isolation_levels``: levels (``READ-UNCOMMITTED`` …, as
      ``@@transaction_isolation`` spells them) that setting the isolation level refuses with
      8048, TiDB's ``READ-UNCOMMITTED`` and ``SERIALIZABLE`` by default; empty: every level
      is accepted;
    - ``skip_isolation_level_check``: the global ``tidb_skip_isolation_level_check`` (off, as
      in TiDB) that new sessions start with; a session may set its own;
    - ``txn_mode``: what ``@@tidb_txn_mode`` answers (``pessimistic``, TiDB's default).
    """

    def __init__(self, *, version: str = DEFAULT_VERSION, import_layout: int = 13,
                 ddl_columns: int = 13, edition: str = "Community", store: str = "unistore",
                 super_privilege: bool = True) -> None:
        if import_layout not in (13, 21):
            raise ValueError("import_layout must be 13 or 21")
        if ddl_columns not in (12, 13):
            raise ValueError("ddl_columns must be 12 or 13")
        self.version = version
        self.import_layout = import_layout
        self.ddl_columns = ddl_columns
        self.edition = edition
        self.store = store
        self.super_privilege = super_privilege
        self.refused_isolation_levels: set[str] = set(TIDB_REFUSED_ISOLATION_LEVELS)
        self.skip_isolation_level_check = False
        self.txn_mode = "pessimistic"
        self.host = "127.0.0.1"
        self.port = 0
        self.queries: list[str] = []
        """Every statement received, in order."""
        self._import_jobs: dict[int, ImportJob] = {}
        self._ddl_jobs: dict[int, DdlJob] = {}
        self._failures: list[_Rule] = []
        self._drops: list[_Rule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sessions: set[Any] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> TidbStandin:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, for ``rig --host``."""
        return f"{self.host}:{self.port}"

    @property
    def release(self) -> str:
        """The TiDB release in the version string (``v8.5.6``)."""
        match = re.search(r"-TiDB-(v?[0-9][^-]*)", self.version, re.IGNORECASE)
        return match.group(1) if match else "v8.5.6"

    def start(self) -> None:
        """Start serving in a background thread; returns once the port is listening."""
        mimic = _mimic()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(_quiet_disconnects)
            self._loop = loop
            try:
                self._server = mimic.MysqlServer(
                    session_factory=self._new_session,
                    control=mimic.control.LocalControl(
                        server_id=TIDB_CONNECTION_ID_BASE >> 16))
                loop.run_until_complete(self._server.start_server(host=self.host, port=0))
                self.port = int(self._server.sockets()[0].getsockname()[1])
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=serve, name="tidb-standin", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._loop is None or self._thread is None:
            return
        self.drop_connections()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    # -- scripting ---------------------------------------------------------------------------

    def add_import_job(self, job_id: int | None = None, *,
                       steps: Sequence[Mapping[str, Any]] = (), **values: Any) -> ImportJob:
        """Add an import job (fields of :class:`ImportJob`); returns it (a copy)."""
        with self._lock:
            number = job_id if job_id is not None else self._next_id()
            job = ImportJob(number, steps=[dict(step) for step in steps])
            job.apply(values)
            self._import_jobs[number] = job
            return replace(job)

    def update_import_job(self, job_id: int, **values: Any) -> None:
        """Change an import job now (``status="running", imported_rows=10``)."""
        with self._lock:
            self._import_jobs[job_id].apply(values)

    def import_job(self, job_id: int) -> ImportJob:
        """A copy of the job as it is now."""
        with self._lock:
            return replace(self._import_jobs[job_id])

    def add_ddl_job(self, job_id: int | None = None, *,
                    steps: Sequence[Mapping[str, Any]] = (), **values: Any) -> DdlJob:
        """Add a DDL job (fields of :class:`DdlJob`); returns it (a copy)."""
        with self._lock:
            number = job_id if job_id is not None else self._next_id()
            job = DdlJob(number, steps=[dict(step) for step in steps])
            job.apply(values)
            self._ddl_jobs[number] = job
            return replace(job)

    def update_ddl_job(self, job_id: int, **values: Any) -> None:
        """Change a DDL job now."""
        with self._lock:
            self._ddl_jobs[job_id].apply(values)

    def fail_next(self, code: int, message: str, *, match: str | None = None,
                  times: int = 1, skip: int = 0) -> None:
        """Answer the next ``times`` statements matching the regex ``match`` (any statement
        when ``None``; case-insensitive) with error ``code`` and ``message`` — e.g. 9007
        ``Write conflict ... [try again later]`` or 8048 — after letting ``skip`` matching
        statements through."""
        with self._lock:
            self._failures.append(_Rule(_compile(match), times, skip, code, message))

    def drop_next(self, *, match: str | None = None, times: int = 1, skip: int = 0) -> None:
        """Close the client's connection instead of answering the next ``times`` statements
        matching ``match``, after letting ``skip`` of them through (the client sees 2013
        *Lost connection*)."""
        with self._lock:
            self._drops.append(_Rule(_compile(match), times, skip))

    def drop_connections(self) -> None:
        """Close every open client connection now."""
        loop = self._loop
        if loop is None:
            return
        done = threading.Event()

        def drop_all() -> None:
            for session in list(self._sessions):
                _abort(session)
            done.set()

        loop.call_soon_threadsafe(drop_all)
        done.wait(timeout=5)

    def count(self, pattern: str) -> int:
        """How many statements received so far match the regex ``pattern``."""
        compiled = _compile(pattern)
        assert compiled is not None
        with self._lock:
            return sum(1 for sql in self.queries if compiled.search(sql))

    # -- serving (runs on the stand-in's event loop) -------------------------------------------

    def _next_id(self) -> int:
        used = self._import_jobs.keys() | self._ddl_jobs.keys()
        return next(n for n in self._ids if n not in used)

    def _new_session(self) -> Any:
        mimic = _mimic()
        from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables

        schema = dict(SYSTEM_VARIABLES)
        schema["version"] = (str, self.version, False)
        schema["version_comment"] = (str, VERSION_COMMENT, False)
        schema["transaction_isolation"] = (str, "REPEATABLE-READ", True)
        standin = self
        base: Any = mimic.Session

        class StandinSession(base):  # type: ignore[misc]
            """One client's session; TiDB statements are answered before mysql-mimic's
            parser (sqlglot) sees them."""

            skip_isolation_level_check = standin.skip_isolation_level_check
            """This session's ``tidb_skip_isolation_level_check``."""

            async def init(self, connection: Any) -> None:
                await super().init(connection)
                standin._sessions.add(self)

            async def close(self) -> None:
                standin._sessions.discard(self)
                await super().close()

            async def handle_query(self, sql: str, attrs: dict[str, str]) -> Any:
                answer = standin._answer(self, sql)
                if answer is not _PASS:
                    return answer
                return await super().handle_query(sql, attrs)

        return StandinSession(SessionVariables(GlobalVariables(schema)))

    def _answer(self, session: Any, sql: str) -> Any:
        text = sql.strip().rstrip(";").strip()
        with self._lock:
            self.queries.append(text)
            if _take(self._drops, text):
                _abort(session)
                return None
            failure = _take(self._failures, text)
            if failure is not None:
                raise _error(failure.code, failure.message)
            user = f"{session.username or 'root'}@%"
            bare = _LEADING_COMMENTS.sub("", text)
            for pattern, handler in self._handlers():
                match = pattern.fullmatch(bare)
                if match:
                    return handler(match, user)
            for pattern, session_handler in self._session_handlers():
                match = pattern.fullmatch(bare)
                if match:
                    return session_handler(match, session)
        return _PASS

    def _handlers(self) -> Iterator[tuple[re.Pattern[str], Any]]:
        yield _re(r"select\s+tidb_version\(\)"), self._tidb_version
        yield _re(r"select\s+(?:current_user\(\)|current_user)"), self._current_user
        yield _re(r"select\s+now\(6\)"), self._now
        yield _re(r"select\s+version\(\)"), self._version
        yield _re(r"show\s+grants(?:\s+for\s+current_user(?:\(\))?)?"), self._grants
        yield _re(r"show\s+import\s+jobs(?:\s+.*)?"), self._show_import_jobs
        yield _re(r"show\s+import\s+job\s+(\d+)"), self._show_import_job
        yield _re(r"cancel\s+import\s+job\s+(\d+)"), self._cancel_import_job
        yield _re(r"admin\s+show\s+ddl\s+jobs(?:\s+(\d+))?(?:\s+where\s+.*)?"), self._ddl_jobs_rows

    def _session_handlers(self) -> Iterator[tuple[re.Pattern[str], Any]]:
        """What the isolation plugin sends before and during a test."""
        scope = r"(?:(global|session|local)\s+|@@(global|session|local)\.|@@)?"
        yield (_re(r"set\s+(?:(global|session|local)\s+)?transaction\s+isolation\s+level\s+"
                   r"(read\s+uncommitted|read\s+committed|repeatable\s+read|serializable)"),
               self._set_isolation_level)
        yield (_re(rf"set\s+{scope}(?:transaction_isolation|tx_isolation)\s*=\s*"
                   r"'?([a-z -]+?)'?"), self._set_isolation_variable)
        yield (_re(rf"set\s+{scope}tidb_skip_isolation_level_check\s*=\s*'?(\w+)'?"),
               self._set_skip_check)
        yield (_re(r"select\s+@@(?:(global|session)\.)?tidb_skip_isolation_level_check"),
               self._skip_check)
        yield _re(r"select\s+@@(?:(?:global|session)\.)?tidb_txn_mode"), self._txn_mode
        yield _re(r"begin(?:\s+(?:optimistic|pessimistic))?|start\s+transaction.*"), _accept
        yield (_re(r"(?:create|drop)\s+(?:database|schema|table)\s+.*|truncate\s+.*|"
                   r"insert\s+into\s+.*"), _accept)
        yield (_re(r"select\s+(\*|\w+(?:\s*,\s*\w+)*)\s+from\s+information_schema\."
                   r"(tidb_trx|cluster_tidb_trx|data_lock_waits|processlist)"
                   r"(?:\s+where\s+.*)?"), self._no_rows)
        yield _re(r"show\s+engine\s+innodb\s+status"), self._no_innodb
        yield (_re(r"select\s+.*\s+from\s+(information_schema\.innodb_trx|"
                   r"performance_schema\.data_lock_waits)\b.*"), self._no_such_table)

    def _set_isolation_level(self, match: re.Match[str], session: Any) -> Any:
        level = re.sub(r"\s+", "-", match.group(2).upper())
        self._isolation(level, match.group(1), session)
        return None

    def _set_isolation_variable(self, match: re.Match[str], session: Any) -> Any:
        level = re.sub(r"[\s_]+", "-", match.group(3).strip().upper())
        if level not in ISOLATION_LEVELS:
            raise _error(ER_WRONG_VALUE_FOR_VAR, "Variable 'transaction_isolation' can't be "
                         f"set to the value of '{match.group(3)}'")
        self._isolation(level, match.group(1) or match.group(2), session)
        return None

    def _isolation(self, level: str, scope: str | None, session: Any) -> None:
        if level in self.refused_isolation_levels and not session.skip_isolation_level_check:
            raise _error(ER_ISOLATION_LEVEL_NOT_SUPPORTED,
                         f"The isolation level '{level}' is not supported. "
                         "Set tidb_skip_isolation_level_check=1 to skip this error")
        if (scope or "session").lower() != "global":
            session.variables.set("transaction_isolation", level)

    def _set_skip_check(self, match: re.Match[str], session: Any) -> Any:
        value = match.group(3).lower()
        if value not in _TRUE | _FALSE:
            raise _error(ER_WRONG_VALUE_FOR_VAR, "Variable 'tidb_skip_isolation_level_check' "
                         f"can't be set to the value of '{match.group(3)}'")
        if (match.group(1) or match.group(2) or "session").lower() == "global":
            self.skip_isolation_level_check = value in _TRUE
        else:
            session.skip_isolation_level_check = value in _TRUE
        return None

    def _skip_check(self, match: re.Match[str], session: Any) -> Any:
        glob = (match.group(1) or "").lower() == "global"
        value = self.skip_isolation_level_check if glob else session.skip_isolation_level_check
        name = match.group(0)[match.group(0).index("@@"):]
        return [(int(value),)], [name]

    def _txn_mode(self, match: re.Match[str], session: Any) -> Any:
        name = match.group(0)[match.group(0).index("@@"):]
        return [(self.txn_mode,)], [name]

    def _no_rows(self, match: re.Match[str], session: Any) -> Any:
        known = LOCK_VIEW_COLUMNS[match.group(2).lower()]
        if match.group(1) == "*":
            return [], list(known)
        by_name = {name.upper(): name for name in known}
        columns = []
        for name in (part.strip() for part in match.group(1).split(",")):
            if name.upper() not in by_name:
                raise _error(ER_BAD_FIELD, f"Unknown column '{name.lower()}' in 'field list'")
            columns.append(by_name[name.upper()])
        return [], columns

    def _no_innodb(self, match: re.Match[str], session: Any) -> Any:
        raise _error(ER_PARSE_ERROR, "You have an error in your SQL syntax; check the manual "
                     "that corresponds to your TiDB version for the right syntax to use line 1 "
                     'column 11 near "ENGINE INNODB STATUS" ')

    def _no_such_table(self, match: re.Match[str], session: Any) -> Any:
        raise _error(ER_NO_SUCH_TABLE, f"Table '{match.group(1)}' doesn't exist")

    def _tidb_version(self, match: re.Match[str], user: str) -> Any:
        text = "\n".join((
            f"Release Version: {self.release}",
            f"Edition: {self.edition}",
            "Git Commit Hash: ae18096e023780bb56bfce33698abec0d4640d0a",
            "Git Branch: HEAD",
            "UTC Build Time: 2026-11-30 02:03:30",
            "GoVersion: go1.25.8",
            "Race Enabled: false",
            "Check Table Before Drop: false",
            f"Store: {self.store}",
        ))
        return [(text,)], [_string_column("tidb_version()")]

    def _version(self, match: re.Match[str], user: str) -> Any:
        return [(self.version,)], [_string_column("VERSION()")]

    def _current_user(self, match: re.Match[str], user: str) -> Any:
        return [(user,)], ["CURRENT_USER()"]

    def _now(self, match: re.Match[str], user: str) -> Any:
        from mysql_mimic import ColumnType, ResultColumn

        return [(datetime.now(),)], [ResultColumn("NOW(6)", ColumnType.DATETIME)]

    def _grants(self, match: re.Match[str], user: str) -> Any:
        name, _, host = user.partition("@")
        if self.super_privilege:
            grant = f"GRANT ALL PRIVILEGES ON *.* TO '{name}'@'{host}' WITH GRANT OPTION"
        else:
            grant = f"GRANT SELECT,INSERT,UPDATE,DELETE,ALTER ON *.* TO '{name}'@'{host}'"
        return [(grant,)], [f"Grants for {user}"]

    def _visible(self, job: ImportJob, user: str) -> bool:
        return self.super_privilege or job.created_by == user

    def _show_import_jobs(self, match: re.Match[str], user: str) -> Any:
        jobs = [job for job in self._import_jobs.values() if self._visible(job, user)]
        result = self._import_result(jobs)
        for job in jobs:
            if job.steps:
                job.apply(job.steps.pop(0))
        return result

    def _show_import_job(self, match: re.Match[str], user: str) -> Any:
        job = self._find_import_job(int(match.group(1)))
        if not self._visible(job, user):
            raise _error(ER_SPECIFIC_ACCESS_DENIED, "Access denied; you need (at least one of) "
                          "the SUPER privilege(s) for this operation")
        return self._import_result([job])

    def _cancel_import_job(self, match: re.Match[str], user: str) -> Any:
        job = self._find_import_job(int(match.group(1)))
        if not self._visible(job, user):
            raise _error(ER_SPECIFIC_ACCESS_DENIED, "Access denied; you need (at least one of) "
                          "the SUPER privilege(s) for this operation")
        if job.status not in ("pending", "running"):
            raise _error(ER_JOB_STATUS, "The current job status cannot perform the operation. "
                          f"job {job.job_id} is {job.status}")
        job.steps.clear()
        job.apply({"status": "cancelled", "result_message": "cancelled by user"})
        return None

    def _find_import_job(self, job_id: int) -> ImportJob:
        job = self._import_jobs.get(job_id)
        if job is None:
            raise _error(ER_JOB_NOT_FOUND, f"Job ID {job_id} doesn't exist")
        return job

    def _import_result(self, jobs: Sequence[ImportJob]) -> Any:
        columns = IMPORT_COLUMNS_21 if self.import_layout == 21 else IMPORT_COLUMNS_13
        rows = [job.row(columns) for job in sorted(jobs, key=lambda j: j.job_id)]
        return rows, _result_columns(columns, strings="STRING", times="TIMESTAMP")

    def _ddl_jobs_rows(self, match: re.Match[str], user: str) -> Any:
        columns = DDL_COLUMNS_13 if self.ddl_columns == 13 else DDL_COLUMNS_12
        jobs = sorted(self._ddl_jobs.values(), key=lambda j: j.job_id, reverse=True)
        result = ([job.row(columns) for job in jobs],
                  _result_columns(columns, strings="VAR_STRING", times="DATETIME"))
        for job in jobs:
            if job.steps:
                job.apply(job.steps.pop(0))
        return result


_PASS = object()


def _accept(match: re.Match[str], session: Any) -> Any:
    """OK, no result set: the stand-in has no storage and no transactions."""
    return None


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else _re(pattern)


def _take(rules: list[_Rule], sql: str) -> _Rule | None:
    for rule in rules:
        if rule.matches(sql):
            if rule.skip > 0:
                rule.skip -= 1
                continue
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None


def _error(code: int, message: str) -> Exception:
    from mysql_mimic.errors import MysqlError

    error: Exception = MysqlError(message, code=code)
    return error


def _abort(session: Any) -> None:
    connection = getattr(session, "_connection", None)
    if connection is not None:
        connection.stream.writer.transport.abort()


def _quiet_disconnects(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A dropped client is the point of :meth:`TidbStandin.drop_next`, not an error to print."""
    if isinstance(context.get("exception"), ConnectionError):
        return
    loop.default_exception_handler(context)


def _string_column(name: str) -> Any:
    """A VAR_STRING column, as TiDB sends a function's text."""
    from mysql_mimic import ColumnType, ResultColumn

    return ResultColumn(name, ColumnType.VAR_STRING)


def _result_columns(names: Sequence[str], *, strings: str, times: str) -> list[Any]:
    """Columns with TiDB's wire types: LONGLONG ids and counts, ``times`` (``TIMESTAMP`` in
    ``SHOW IMPORT JOBS``, ``DATETIME`` in ``ADMIN SHOW DDL JOBS``), ``strings`` (``STRING``,
    ``VAR_STRING``) for the rest."""
    from mysql_mimic import ColumnType, ResultColumn

    def kind(name: str) -> Any:
        if name in _INT_COLUMNS:
            return ColumnType.LONGLONG
        if name in _TIME_COLUMNS:
            return ColumnType[times]
        return ColumnType[strings]

    return [ResultColumn(name, kind(name)) for name in names]
