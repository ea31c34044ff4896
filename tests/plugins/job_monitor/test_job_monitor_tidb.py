"""The TiDB lane, job monitor: a real ``ALTER TABLE … ADD INDEX`` job on tidb-server (unistore)
watched by ``rig --plugin job_monitor --job-monitor-include-ddl``, and the stand-in's answers
compared with the real server's where unistore cannot run the job itself (``IMPORT INTO``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from rig.testing import RigRunner, ServerDSN
from rig.testing.tidb_standin import TidbStandin

pytestmark = pytest.mark.tidb

ROWS = 1 << 18
"""Enough rows for a backfill of several seconds with the settings below: TiDB writes the
job's ``ROW_COUNT`` when the backfill ends and every 5 s before (``pkg/ddl/reorg.go``), so the
monitor sees ``0`` first and the full count last, and on a slow machine counts in between."""
SLOW_REORG = {
    "tidb_enable_dist_task": "OFF",  # fast reorg off is refused (8200) while this is on
    "tidb_ddl_enable_fast_reorg": "OFF",  # backfill in transactions, not one ingest
    "tidb_ddl_reorg_worker_cnt": "1",  # one worker…
    "tidb_ddl_reorg_batch_size": "32",  # …of the smallest batches
}
"""TiDB's own variables, making the backfill slow (about 25k rows/s on two cores)."""
DEADLINE_S = 120.0
"""A backstop for waiting on the server; never the expected duration."""


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` until it returns something true; fail after :data:`DEADLINE_S`."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"gave up after {DEADLINE_S:.0f}s waiting for {what}")


@pytest.fixture
def slow_reorg(tidb_server: ServerDSN) -> Iterator[None]:
    """:data:`SLOW_REORG` set globally for one test, the server's values restored after."""
    names = list(SLOW_REORG)
    with tidb_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"@@GLOBAL.{name}" for name in names))
        before = cursor.fetchone()
        for name in names:
            cursor.execute(f"SET GLOBAL {name} = {SLOW_REORG[name]}")
        try:
            yield
        finally:
            for name, value in reversed(list(zip(names, before, strict=True))):
                cursor.execute(f"SET GLOBAL {name} = %s", (value,))


def fill(cursor: Any, rows: int) -> None:
    """A table ``t`` of ``rows`` rows (a power of two), doubled with ``INSERT … SELECT``."""
    cursor.execute("CREATE TABLE t (id BIGINT PRIMARY KEY AUTO_RANDOM, v INT NOT NULL, "
                   "pad VARCHAR(32) NOT NULL)")
    cursor.execute("INSERT INTO t (v, pad) VALUES (0, 'x')")
    count = 1
    while count < rows:
        cursor.execute("INSERT INTO t (v, pad) SELECT v + %s, pad FROM t", (count,))
        count *= 2


@pytest.mark.usefixtures("slow_reorg")
def test_add_index_job_is_watched_from_running_to_synced(
        tidb_runner: RigRunner, tidb_server: ServerDSN, tidb_database: str) -> None:
    with tidb_server.connect(database=tidb_database) as connection, \
            connection.cursor() as cursor:
        fill(cursor, ROWS)
        failures: list[BaseException] = []

        def add_index() -> None:
            try:
                with tidb_server.connect(database=tidb_database) as ddl, ddl.cursor() as alter:
                    alter.execute("ALTER TABLE t ADD INDEX k_v (v)")
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)

        def backfilling() -> tuple[Any, ...] | None:
            assert not failures, failures
            cursor.execute("ADMIN SHOW DDL JOBS WHERE DB_NAME = %s AND TABLE_NAME = 't' "
                           "AND JOB_TYPE = 'add index'", (tidb_database,))
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                job = dict(zip(names, row, strict=True))
                if (job["STATE"], job["SCHEMA_STATE"]) == ("running", "write reorganization"):
                    return job["JOB_ID"], len(names)
            return None

        thread = threading.Thread(target=add_index, name="add-index")
        thread.start()
        try:
            job_id, layout = wait_for(backfilling, "the ADD INDEX job to be backfilling")
            run = tidb_runner.run_on_server(
                "--plugin", "job_monitor", "--job-monitor-include-ddl",
                "--job-monitor-until-done", "--job-monitor-poll-interval", "0.2",
                "--job-monitor-duration", str(DEADLINE_S))
        finally:
            thread.join(DEADLINE_S)
        assert not failures, failures
        cursor.execute("SELECT COUNT(*) FROM t USE INDEX (k_v)")
        assert cursor.fetchone()[0] == ROWS

    assert run.exit_code == 0, run.output
    assert layout == 13
    section = run.section("job_monitor")
    connection_part = section["connections"]["c1"]
    assert connection_part["history_not_watched"] > 0  # the finished DDL jobs already listed
    [job] = section["jobs"]  # only the job that was running when monitoring began
    assert (job["kind"], job["id"], job["job_id"]) == ("ddl", str(job_id), job_id)
    assert job["target"] == f"`{tidb_database}`.`t`"
    assert (job["job_type"], job["step"], job["layout_columns"]) == ("add index", "add index", 13)
    assert [t["status"] for t in job["transitions"]] == ["running", "finished"]
    assert (job["status"], job["server_state"]) == ("finished", "synced")
    states = job["server_states"]
    assert (states[0], states[-1]) == ("running", "synced")
    assert set(states) <= {"running", "done", "synced"}
    assert (job["phases"][0], job["phases"][-1]) == ("write reorganization", "public")
    rows = [sample["rows"] for sample in job["samples"]]
    assert rows == sorted(rows) and rows[0] < ROWS and rows[-1] == ROWS, rows
    assert (job["rows"], job["progress_pct"]) == (ROWS, 100.0)
    assert job["elapsed_s"] > 0
    assert "txn" in job["message"]  # COMMENTS: a transactional backfill, as SLOW_REORG asks
    events = [e["detail"] for e in run.report["timeline"]  # type: ignore[index]
              if e["name"] == "job_monitor.status"]
    assert events == [f"ddl {job_id}: seen, running", f"ddl {job_id}: running → finished"]


def answer(connection: Any, sql: str) -> tuple[Any, ...]:
    """What the server answers: ``("rows", [(name, wire type)…], rows)`` or
    ``("error", code, message)``."""
    with connection.cursor() as cursor:
        try:
            cursor.execute(sql)
        except pymysql.err.MySQLError as exc:
            return ("error", *exc.args)
        return "rows", [(d[0], d[1]) for d in cursor.description or ()], cursor.fetchall()


def test_import_into_cannot_run_on_unistore(tidb_server: ServerDSN, tidb_database: str,
                                            tmp_path: Path) -> None:
    """Why import jobs stay with the stand-in: a standalone tidb-server cannot run the job (it
    looks for its task store at the unistore path, which is no URL), and the job table stays
    empty."""
    source = tmp_path / "t.csv"
    source.write_text("1,a\n2,b\n")
    with tidb_server.connect(database=tidb_database) as connection:
        answer(connection, "CREATE TABLE t (a INT, b VARCHAR(8))")
        kind, code, message = answer(connection, f"IMPORT INTO t FROM '{source}'")
        assert (kind, code) == ("error", 1105)
        assert message.startswith("URL scheme must be http, https, unix, or unixs")
        kind, columns, rows = answer(connection, "SHOW IMPORT JOBS")
        assert (kind, rows) == ("rows", ())
        assert [name for name, _type in columns][:3] == ["Job_ID", "Data_Source",
                                                         "Target_Table"]


@pytest.mark.tidb_standin
@pytest.mark.parametrize("sql", [
    "SHOW IMPORT JOBS",
    "SHOW IMPORT JOB 1",
    "CANCEL IMPORT JOB 1",
    "ADMIN SHOW DDL JOBS 1",
    "SHOW ENGINE INNODB STATUS",
    "SELECT * FROM information_schema.TIDB_TRX",
    "SELECT * FROM information_schema.DATA_LOCK_WAITS",
    "SELECT SESSION_ID, CURRENT_SQL_DIGEST_TEXT FROM information_schema.TIDB_TRX "
    "WHERE STATE = 'LockWaiting'",
    "SELECT NOPE FROM information_schema.TIDB_TRX",
    "SELECT VERSION()",
    "SELECT NOW(6)",
])
def test_the_standin_answers_as_the_real_server(tidb_server: ServerDSN,
                                                tidb_standin: TidbStandin, sql: str) -> None:
    """The stand-in (mysql-mimic, not TiDB) against tidb-server v8.5.6: the same columns and
    wire types, or the same error. Rows are compared where they cannot differ (the empty
    import job table, the version): the real server lists its bootstrap DDL jobs, and its
    lock views show its own internal transactions now and then (a ``mysql.tidb_ddl_notifier``
    lock wait in ``DATA_LOCK_WAITS``); the stand-in's views carry no wire types when empty."""
    standin_dsn = ServerDSN(tidb_standin.host, tidb_standin.port)
    with tidb_server.connect() as real, standin_dsn.connect() as standin:
        expected, got = answer(real, sql), answer(standin, sql)
    assert got[0] == expected[0], (expected, got)
    if expected[0] == "error":
        assert got[1:] == expected[1:]
        return
    if sql.startswith("SELECT") and "information_schema" in sql:
        assert [name for name, _type in got[1]] == [name for name, _type in expected[1]]
    else:
        assert got[1] == expected[1]
    if sql in ("SHOW IMPORT JOBS", "SELECT VERSION()"):
        assert got[2] == expected[2]


def test_the_standin_tidb_version_has_the_real_lines(tidb_server: ServerDSN,
                                                     tidb_standin: TidbStandin) -> None:
    """The stand-in's ``tidb_version()`` (not TiDB) has the real one's column, lines and
    release."""
    standin_dsn = ServerDSN(tidb_standin.host, tidb_standin.port)
    versions, columns = [], []
    for dsn in (tidb_server, standin_dsn):
        with dsn.connect() as connection:
            _kind, described, rows = answer(connection, "SELECT tidb_version()")
            columns.append(described)
            versions.append(dict(line.split(": ", 1) for line in rows[0][0].splitlines()))
    real, standin = versions
    assert columns[1] == columns[0]
    assert list(standin) == list(real)
    for key in ("Release Version", "Edition", "Store", "Race Enabled"):
        assert standin[key] == real[key]
