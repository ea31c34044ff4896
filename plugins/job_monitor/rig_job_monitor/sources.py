"""Where jobs come from: TiDB's ``SHOW IMPORT JOBS`` and ``ADMIN SHOW DDL JOBS``, MariaDB's
process list with progress, MySQL's process list with stage progress.

Every source reads columns by name, so both ``SHOW IMPORT JOBS`` layouts (13 columns up to
v8.5, 21 with ``Group_Key`` and ``Cur_Step*`` later) and both DDL layouts (12 or 13) work.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from typing import Any, Protocol

import rig
from rig_job_monitor.jobs import Observation
from rig_job_monitor.parsing import (
    FINISHED,
    RUNNING,
    ddl_status,
    import_status,
    parse_percent,
    parse_size,
    statement_kind,
)

ER_NO_SUCH_TABLE = 1146
STATEMENT_FAMILY = "statement"


class Source(Protocol):
    """Polls one kind of job."""

    family: str
    """``import``, ``ddl`` or ``statement``."""
    description: str

    def poll(self, connection: rig.Connection) -> list[Observation]:
        """Every job the server lists now."""


def records(connection: rig.Connection, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts keyed by the column names of the cursor description."""
    names, rows = connection.query_rows(sql)
    return [dict(zip(names, row, strict=False)) for row in rows]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text or None


def _seconds_between(start: Any, end: Any) -> float | None:
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return max(0.0, float((end - start).total_seconds()))


def server_now(connection: rig.Connection) -> datetime | None:
    """The server's clock (``NOW(6)``) in the session's time zone — the zone TiDB shows job
    times in (``ADMIN SHOW DDL JOBS`` sends them as DATETIME, without a zone), so that how long
    a running job has run does not depend on the client's clock or zone."""
    _names, rows = connection.query_rows("SELECT NOW(6)")
    value = rows[0][0] if rows else None
    return value if isinstance(value, datetime) else None


class TidbImports:
    """``SHOW IMPORT JOBS`` (TiDB ≥ 7.2)."""

    family = "import"
    description = "TiDB import jobs (SHOW IMPORT JOBS)"

    def poll(self, connection: rig.Connection) -> list[Observation]:
        now = server_now(connection)
        return [import_observation(record, now)
                for record in records(connection, "SHOW IMPORT JOBS")]


def import_observation(record: dict[str, Any], now: datetime | None) -> Observation:
    """One row of ``SHOW IMPORT JOB(S)``, in either layout, as an observation; ``now`` is the
    server's clock (:func:`server_now`), the end of a job still running."""
    status = import_status(record.get("Status"))
    rows = _int(record.get("Imported_Rows"))
    pct = parse_percent(record.get("Cur_Step_Progress_Pct"))
    if pct is None:
        done = parse_size(record.get("Cur_Step_Processed_Size"))
        total = parse_size(record.get("Cur_Step_Total_Size"))
        if done is not None and total:
            pct = min(100.0, 100.0 * done / total)
    if pct is None and status == FINISHED:
        pct = 100.0
    end = record.get("End_Time") or (record.get("Last_Update_Time") if status != RUNNING
                                     else None) or now
    job_id = _int(record.get("Job_ID"))
    detail = {
        "job_id": job_id,
        "data_source": _text(record.get("Data_Source")),
        "created_by": _text(record.get("Created_By")),
        "server_status": _text(record.get("Status")),
        "layout_columns": len(record),
    }
    if "Group_Key" in record:
        detail["group_key"] = _text(record.get("Group_Key"))
    return Observation(
        id=str(job_id),
        kind="import",
        target=_text(record.get("Target_Table")),
        status=status,
        progress_pct=pct,
        rows=rows,
        phase=_text(record.get("Phase")),
        step=_text(record.get("Cur_Step")),
        speed=_text(record.get("Cur_Step_Speed")),
        eta=_text(record.get("Cur_Step_ETA")),
        elapsed_s=_seconds_between(record.get("Start_Time"), end),
        message=_text(record.get("Result_Message")) or "",
        source_bytes=parse_size(record.get("Source_File_Size")),
        detail=detail,
    )


class TidbDdl:
    """``ADMIN SHOW DDL JOBS`` (TiDB), with ``--job-monitor-include-ddl``."""

    family = "ddl"
    description = "TiDB DDL jobs (ADMIN SHOW DDL JOBS)"

    def poll(self, connection: rig.Connection) -> list[Observation]:
        now = server_now(connection)
        return [ddl_observation(record, now)
                for record in records(connection, "ADMIN SHOW DDL JOBS")
                if "subjob" not in str(record.get("JOB_TYPE") or "")]


def ddl_observation(record: dict[str, Any], now: datetime | None) -> Observation:
    """One row of ``ADMIN SHOW DDL JOBS`` (12 or 13 columns) as an observation; ``now`` is the
    server's clock (:func:`server_now`), the end of a job still running."""
    status = ddl_status(record.get("STATE"))
    database, table = _text(record.get("DB_NAME")), _text(record.get("TABLE_NAME"))
    target = ".".join(rig.quote_identifier(part) for part in (database, table) if part) or None
    return Observation(
        id=str(_int(record.get("JOB_ID"))),
        kind="ddl",
        target=target,
        status=status,
        progress_pct=100.0 if status == FINISHED else None,
        rows=_int(record.get("ROW_COUNT")),
        phase=_text(record.get("SCHEMA_STATE")),
        step=_text(record.get("JOB_TYPE")),
        elapsed_s=_seconds_between(record.get("START_TIME"), record.get("END_TIME") or now),
        message=_text(record.get("COMMENTS")) or "",
        detail={"job_id": _int(record.get("JOB_ID")), "job_type": _text(record.get("JOB_TYPE")),
                "server_state": _text(record.get("STATE")), "layout_columns": len(record)},
    )


class Statements:
    """Tells statements apart: the same connection running a new statement is a new job
    (``<connection id>:<n>``)."""

    def __init__(self, min_duration_s: float) -> None:
        self.min_duration_s = min_duration_s
        self._current: dict[int, tuple[int, float, int]] = {}
        self._counters: dict[int, int] = {}

    def job_id(self, connection_id: int, sql: str, elapsed_s: float) -> str:
        """The id of the statement ``sql`` running for ``elapsed_s`` on ``connection_id``."""
        digest = zlib.crc32(sql.encode("utf-8", "replace"))
        known = self._current.get(connection_id)
        if known is None or known[0] != digest or elapsed_s + 0.5 < known[1]:
            number = self._counters.get(connection_id, 0) + 1
            self._counters[connection_id] = number
            known = (digest, elapsed_s, number)
        self._current[connection_id] = (digest, elapsed_s, known[2])
        return f"{connection_id}:{known[2]}"

    def observation(self, record: dict[str, Any], *, elapsed_s: float,
                    progress_pct: float | None, phase: str | None,
                    step: str | None) -> Observation | None:
        """An observation of a watched statement, or ``None`` (not a long-running kind, or
        shorter than ``--job-monitor-min-duration``)."""
        sql = _text(record.get("INFO")) or ""
        found = statement_kind(sql)
        if found is None:
            if step is None:
                return None
            found = (" ".join(sql.split()[:2]).lower(), None)
        if elapsed_s < self.min_duration_s:
            return None
        kind, target = found
        connection_id = int(record["ID"])
        return Observation(
            id=self.job_id(connection_id, sql, elapsed_s),
            kind=kind,
            target=target,
            status=RUNNING,
            progress_pct=progress_pct,
            phase=phase,
            step=step,
            elapsed_s=elapsed_s,
            detail={"connection_id": connection_id, "user": _text(record.get("USER")),
                    "database": _text(record.get("DB")),
                    "statement": re.sub(r"\s+", " ", sql)[:300]},
        )


_PROCESSLIST_FILTER = ("WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN "
                       "('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID') "
                       "AND p.INFO IS NOT NULL")


class MariaDbProcesslist:
    """MariaDB's ``information_schema.PROCESSLIST`` with ``STAGE``, ``MAX_STAGE`` and
    ``PROGRESS`` (reported for ALTER TABLE, CREATE/DROP INDEX, LOAD DATA INFILE, OPTIMIZE…)."""

    family = STATEMENT_FAMILY
    description = "long-running statements (information_schema.PROCESSLIST progress)"
    SQL = ("SELECT p.ID, p.USER, p.DB, p.TIME_MS, p.STATE, p.STAGE, p.MAX_STAGE, p.PROGRESS, "
           "p.INFO FROM information_schema.PROCESSLIST p " + _PROCESSLIST_FILTER)

    def __init__(self, min_duration_s: float) -> None:
        self.statements = Statements(min_duration_s)

    def poll(self, connection: rig.Connection) -> list[Observation]:
        found = []
        for record in records(connection, self.SQL):
            max_stage = _int(record.get("MAX_STAGE")) or 0
            stage = _int(record.get("STAGE")) or 0
            progress = float(record.get("PROGRESS") or 0)
            pct = None
            if max_stage > 0:
                pct = min(100.0, (max(stage - 1, 0) * 100.0 + progress) / max_stage)
            observation = self.statements.observation(
                record, elapsed_s=float(record.get("TIME_MS") or 0) / 1000.0,
                progress_pct=pct, phase=_text(record.get("STATE")),
                step=f"stage {stage}/{max_stage}" if max_stage else None)
            if observation is not None:
                found.append(observation)
        return found


class MySqlStages:
    """MySQL's process list joined to ``performance_schema.events_stages_current``
    (``WORK_COMPLETED`` / ``WORK_ESTIMATED``); without performance_schema, the process list
    alone (no progress)."""

    family = STATEMENT_FAMILY
    description = "long-running statements (performance_schema stage progress)"
    SQL = ("SELECT p.ID, p.USER, p.DB, p.TIME, p.STATE, p.INFO, s.EVENT_NAME AS STAGE_NAME, "
           "s.WORK_COMPLETED, s.WORK_ESTIMATED FROM information_schema.PROCESSLIST p "
           "LEFT JOIN performance_schema.threads t ON t.PROCESSLIST_ID = p.ID "
           "LEFT JOIN performance_schema.events_stages_current s ON s.THREAD_ID = t.THREAD_ID "
           + _PROCESSLIST_FILTER)
    FALLBACK_SQL = ("SELECT p.ID, p.USER, p.DB, p.TIME, p.STATE, p.INFO "
                    "FROM information_schema.PROCESSLIST p " + _PROCESSLIST_FILTER)

    def __init__(self, min_duration_s: float) -> None:
        self.statements = Statements(min_duration_s)
        self.with_stages = True

    def poll(self, connection: rig.Connection) -> list[Observation]:
        try:
            rows = records(connection, self.SQL if self.with_stages else self.FALLBACK_SQL)
        except rig.DatabaseError as exc:
            if not self.with_stages or exc.error_class is not rig.ErrorClass.PERMANENT:
                raise
            self.with_stages = False
            rows = records(connection, self.FALLBACK_SQL)
        found = []
        for record in rows:
            done, total = record.get("WORK_COMPLETED"), record.get("WORK_ESTIMATED")
            pct = min(100.0, 100.0 * float(done) / float(total)) if done is not None and total \
                else None
            stage = _text(record.get("STAGE_NAME"))
            observation = self.statements.observation(
                record, elapsed_s=float(record.get("TIME") or 0),
                progress_pct=pct, phase=stage.rsplit("/", 1)[-1] if stage else
                _text(record.get("STATE")), step=None if pct is None else "stage")
            if observation is not None:
                found.append(observation)
        return found


def grants(connection: rig.Connection) -> str:
    """``SHOW GRANTS`` as one upper-case text ('' when it cannot be read)."""
    try:
        _names, rows = connection.query_rows("SHOW GRANTS")
    except rig.DatabaseError:
        return ""
    return "\n".join(str(row[0]) for row in rows).upper()


def has_privilege(grant_text: str, privilege: str) -> bool:
    """Whether ``SHOW GRANTS`` gives ``privilege`` globally (or all privileges)."""
    for line in grant_text.splitlines():
        if " ON *.* " not in line:
            continue
        if "ALL PRIVILEGES" in line or re.search(rf"\b{privilege}\b", line):
            return True
    return False
