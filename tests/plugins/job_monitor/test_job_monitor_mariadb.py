"""The job monitor against a real MariaDB (the ``rig_server`` fixture): long ALTER TABLE and
LOAD DATA statements seen with rising progress and their end, privilege notes, an idle
server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.testing import RigRunner, ServerDSN

ROWS = 600_000  # ALTER ... ALGORITHM=COPY of this many rows takes a second or two on 2 cores


class Background:
    """Runs one statement on its own connection in a thread, and waits until the server
    lists it (no sleeping and hoping)."""

    def __init__(self, server: ServerDSN, sql: str, **connect: Any) -> None:
        self.server = server
        self.sql = sql
        self.connection = server.connect(**connect)
        self.thread_id = self.connection.thread_id()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(self.sql)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def start(self, watcher: Any) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with watcher.cursor() as cursor:
                cursor.execute("SELECT MAX_STAGE FROM information_schema.PROCESSLIST "
                               "WHERE ID = %s AND INFO IS NOT NULL", (self.thread_id,))
                row = cursor.fetchone()
            if row is not None or not self.thread.is_alive():
                return
            time.sleep(0.01)
        raise AssertionError(f"the statement never showed in the process list: {self.sql}")

    def join(self) -> None:
        self.thread.join(timeout=120)
        self.connection.close()
        assert self.error is None, self.error


@pytest.fixture
def admin(rig_server: ServerDSN) -> Iterator[Any]:
    connection = rig_server.connect()
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
    if "mariadb" not in version.lower():
        connection.close()
        pytest.skip(f"needs MariaDB's PROCESSLIST progress; the test server is {version}")
    yield connection
    connection.close()


def _fill(admin: Any, database: str) -> None:
    with admin.cursor() as cursor:  # MariaDB's Sequence engine fills it without a temp table
        cursor.execute(f"CREATE TABLE `{database}`.t (id INT AUTO_INCREMENT PRIMARY KEY, "
                       "a INT, b VARCHAR(100))")
        cursor.execute(f"INSERT INTO `{database}`.t (a, b) SELECT seq % 7, REPEAT('x', 100) "
                       f"FROM `{database}`.seq_1_to_{ROWS}")


def _monitor(rig_runner: RigRunner, *args: str) -> Any:
    return rig_runner.run_on_server(
        "--plugin", "job_monitor", "--job-monitor-duration", "60",
        "--job-monitor-poll-interval", "0.1", "--job-monitor-min-duration", "0",
        "--job-monitor-until-done", "--junit-xml", str(rig_runner.workdir / "junit.xml"), *args)


def _assert_seen_rising_and_ended(run: Any, kind: str, thread_id: int) -> dict[str, Any]:
    assert run.exit_code == 0, run.output
    jobs = [job for job in run.section("job_monitor")["jobs"] if job["kind"] == kind]
    assert len(jobs) == 1, jobs
    job: dict[str, Any] = jobs[0]
    assert job["connection_id"] == thread_id
    assert job["id"] == f"{thread_id}:1"
    assert job["status"] == "gone"
    assert [t["status"] for t in job["transitions"]] == ["running", "gone"]
    assert job["ended_at"] is not None
    # NULL until the server has set up its progress report for the statement
    progress = [s["progress_pct"] for s in job["samples"] if s["progress_pct"] is not None]
    assert len(set(progress)) >= 2, progress
    assert progress == sorted(progress), progress
    assert progress[-1] > progress[0]
    assert f"{kind} {thread_id}:1" in run.stdout  # summary table
    return job


def test_alter_table_is_seen_with_rising_progress_and_its_end(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str, admin: Any) -> None:
    _fill(admin, rig_database)
    alter = Background(rig_server, f"ALTER TABLE `{rig_database}`.t ADD COLUMN c INT, "
                                   "ALGORITHM=COPY")
    alter.start(admin)
    run = _monitor(rig_runner)
    alter.join()
    job = _assert_seen_rising_and_ended(run, "alter table", alter.thread_id)
    assert job["target"] == f"`{rig_database}`.t"
    junit = (rig_runner.workdir / "junit.xml").read_text()
    assert f"job alter table {alter.thread_id}:1" in junit
    assert f"watching 1 job(s): alter table {alter.thread_id}:1" in run.stderr
    assert "running → gone" in run.stderr  # the plain display, as output is not a terminal


def test_load_data_is_seen_with_rising_progress_and_its_end(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str, admin: Any,
        tmp_path: Path) -> None:
    with admin.cursor() as cursor:
        cursor.execute("SELECT @@secure_file_priv")
        (secure,) = cursor.fetchone()
        cursor.execute(f"CREATE TABLE `{rig_database}`.t (id INT PRIMARY KEY, a INT, "
                       "b VARCHAR(100))")
    folder = Path(secure) if secure else tmp_path
    if not rig_server.sandbox and not secure:
        pytest.skip("LOAD DATA INFILE needs a file the server can read; only the sandbox "
                    "shares this machine's files")
    data = folder / "job_monitor_load.csv"
    payload = "x" * 80
    data.write_text("".join(f"{i},{i % 7},{payload}\n" for i in range(600_000)))
    data.chmod(0o644)
    tmp_path.chmod(0o755)
    load = Background(rig_server, f"LOAD DATA INFILE '{data}' INTO TABLE `{rig_database}`.t "
                                  "FIELDS TERMINATED BY ','")
    try:
        load.start(admin)
        run = _monitor(rig_runner)
        load.join()
    finally:
        data.unlink()
    job = _assert_seen_rising_and_ended(run, "load data", load.thread_id)
    assert job["target"] == f"`{rig_database}`.t"


def test_short_statements_are_ignored_and_an_idle_server_says_so(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "job_monitor", "--job-monitor-duration", "0.3",
                                   "--job-monitor-poll-interval", "0.1")
    assert run.exit_code == 0, run.output
    assert run.section("job_monitor")["jobs"] == []
    assert "nothing to monitor" in run.stdout
    checks = {c["name"]: c for c in run.report["checks"]}  # type: ignore[index]
    assert checks["jobs"]["verdict"] == "skip"


def test_missing_process_privilege_is_named_once(
        rig_runner: RigRunner, rig_server: ServerDSN, admin: Any) -> None:
    user = "rig_jm_noprocess"
    with admin.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-jm-1'")
    try:
        run = rig_runner.run("--host", rig_server.address, "--user", user,
                             "--plugin", "job_monitor", "--job-monitor-duration", "0.2",
                             "--job-monitor-poll-interval", "0.1",
                             env={"RIG_PASSWORD": "pw-jm-1"})
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    assert run.exit_code == 0, run.output
    notes = run.section("job_monitor")["connections"]["c1"]["notes"]
    assert len(notes) == 1 and "lacks the PROCESS privilege" in notes[0]
    assert run.stderr.count("lacks the PROCESS privilege") == 1
    assert "pw-jm-1" not in run.output

