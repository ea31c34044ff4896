"""TiDB paths of the job monitor, against the mysql-mimic TiDB **stand-in** (not a real TiDB):
both SHOW IMPORT JOBS layouts, every transition, NULL rows, human sizes, error 8170,
--until-done and --fail-on exit codes, DDL jobs, and a connection dropped mid-monitor."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from rig.testing import RigRun, RigRunner
from rig.tidb_standin import TidbStandin

pytestmark = pytest.mark.tidb_standin

RUNNING_13 = {"status": "running", "phase": "importing", "imported_rows": 1000}
RUNNING_21 = {**RUNNING_13, "cur_step": "import", "cur_step_processed_size": "4.55GB",
              "cur_step_total_size": "9.1GB", "cur_step_progress_pct": "50%",
              "cur_step_speed": "10.96MB/s", "cur_step_eta": "07:26:03"}


def monitor(rig_runner: RigRunner, standin: TidbStandin, *args: str) -> RigRun:
    return rig_runner.run("--host", standin.address, "--ssl-mode", "disabled",
                          "--plugin", "job_monitor", "-t", "30", "--poll-interval", "0.05",
                          *args, target_server=False)


def only_job(run: RigRun) -> dict[str, Any]:
    jobs = run.section("job_monitor")["jobs"]
    assert len(jobs) == 1, jobs
    return dict(jobs[0])


def statuses(job: dict[str, Any]) -> list[str]:
    return [t["status"] for t in job["transitions"]]


def test_13_column_import_job_moves_pending_running_finished(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(7, steps=[
        RUNNING_13, {**RUNNING_13, "imported_rows": 5000},
        {"status": "finished", "imported_rows": 10000, "phase": ""}])
    run = monitor(rig_runner, tidb_standin, "--until-done")
    assert run.exit_code == 0, run.output
    job = only_job(run)
    assert (job["id"], job["kind"], job["target"]) == ("7", "import", "`test`.`t`")
    assert statuses(job) == ["pending", "running", "finished"]
    assert [s["rows"] for s in job["samples"]] == [None, 1000, 5000, 10000]
    assert job["rows"] == 10000 and job["progress_pct"] == 100.0
    assert job["source_bytes"] == 1_194_000_000_000
    assert job["layout_columns"] == 13
    assert run.report["duration_s"] < 20  # type: ignore[index]  # --until-done, not -t 30


def test_21_column_layout_reads_progress_columns_and_a_failure_exits_1(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.import_layout = 21
    tidb_standin.add_import_job(8, source_file_size="277.5GiB", steps=[
        RUNNING_21, {"status": "failed", "result_message": "disk full"}])
    junit = rig_runner.workdir / "jobs.xml"
    run = monitor(rig_runner, tidb_standin, "--until-done", "--junit-xml", str(junit))
    assert run.exit_code == 1, run.output
    job = only_job(run)
    assert statuses(job) == ["pending", "running", "failed"]
    assert job["layout_columns"] == 21
    assert job["source_bytes"] == int(277.5 * 1024**3)
    assert [s["progress_pct"] for s in job["samples"]] == [None, 50.0, None]
    assert job["progress_pct"] == 50.0  # the last value seen, not the NULL of a failed job
    assert job["message"] == "disk full"
    assert "10.96MB/s" in run.stderr and "ETA 07:26:03" in run.stderr
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert cases["job import 8"].find("failure") is not None


@pytest.mark.parametrize(("spelling", "fail_on", "exit_code"), [
    ("cancelled", "failed", 0), ("canceled", "failed", 0), ("canceled", "failed,cancelled", 1),
])
def test_cancelled_in_both_spellings_and_fail_on(
        rig_runner: RigRunner, tidb_standin: TidbStandin, spelling: str, fail_on: str,
        exit_code: int) -> None:
    tidb_standin.add_import_job(9, steps=[RUNNING_13, {"status": spelling}])
    run = monitor(rig_runner, tidb_standin, "--until-done", "--fail-on", fail_on)
    assert run.exit_code == exit_code, run.output
    job = only_job(run)
    assert statuses(job) == ["pending", "running", "cancelled"]
    assert [s["rows"] for s in job["samples"]] == [None, 1000, None]  # NULL once cancelled
    assert job["rows"] == 1000  # how far it got
    assert job["message"] == "cancelled by user"


def test_cancel_import_job_statement_is_seen(rig_runner: RigRunner,
                                             tidb_standin: TidbStandin) -> None:
    import pymysql

    tidb_standin.add_import_job(10, status="running", imported_rows=5)
    connection = pymysql.connect(host=tidb_standin.host, port=tidb_standin.port, user="root",
                                 ssl_disabled=True)
    with connection.cursor() as cursor:
        cursor.execute("CANCEL IMPORT JOB 10")
        with pytest.raises(pymysql.err.OperationalError) as again:
            cursor.execute("CANCEL IMPORT JOB 10")
    connection.close()
    assert again.value.args[0] == 8171
    run = monitor(rig_runner, tidb_standin, "--job-id", "10", "--until-done")
    assert run.exit_code == 0, run.output
    assert only_job(run)["status"] == "cancelled"


def test_unknown_job_id_is_reported_as_8170(rig_runner: RigRunner,
                                            tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(1, status="finished", imported_rows=3)
    run = monitor(rig_runner, tidb_standin, "--job-id", "42", "--job-id", "1",
                  "--until-done")
    assert run.exit_code == 1, run.output
    assert "import job 42 does not exist (error 8170)" in run.stdout
    section = run.section("job_monitor")
    assert section["connections"]["c1"]["missing"] == ["42"]
    assert [job["id"] for job in section["jobs"]] == ["1"]  # named, so watched though ended


def test_jobs_that_ended_before_monitoring_are_history(rig_runner: RigRunner,
                                                       tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(3, status="finished", imported_rows=3)
    run = monitor(rig_runner, tidb_standin, "-t", "0.2")
    assert run.exit_code == 0, run.output
    section = run.section("job_monitor")
    assert section["jobs"] == []
    assert section["connections"]["c1"]["history_not_watched"] == 1
    assert "nothing to monitor" in run.stdout


def test_until_done_waits_for_a_job_appearing_later(rig_runner: RigRunner,
                                                    tidb_standin: TidbStandin) -> None:
    """With no job at the start --until-done keeps watching; here -t ends the run."""
    run = monitor(rig_runner, tidb_standin, "-t", "0.3", "--until-done")
    assert run.exit_code == 0, run.output
    assert tidb_standin.count(r"^SHOW IMPORT JOBS$") >= 3


def test_ddl_jobs_in_the_12_column_layout(rig_runner: RigRunner,
                                          tidb_standin: TidbStandin) -> None:
    tidb_standin.ddl_columns = 12
    tidb_standin.add_ddl_job(55, table_name="orders", steps=[
        {"state": "running", "schema_state": "write reorganization", "row_count": 100},
        {"state": "running", "schema_state": "write reorganization", "row_count": 900},
        {"state": "synced", "schema_state": "public", "row_count": 1000}])
    run = monitor(rig_runner, tidb_standin, "--include-ddl", "--until-done")
    assert run.exit_code == 0, run.output
    job = only_job(run)
    assert (job["kind"], job["id"], job["target"]) == ("ddl", "55", "`test`.`orders`")
    assert statuses(job) == ["pending", "running", "finished"]
    assert [s["rows"] for s in job["samples"]] == [0, 100, 900, 1000]
    assert job["step"] == "add index"


def test_a_dropped_connection_is_survived_and_the_gap_reported(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(11, steps=[RUNNING_13, RUNNING_13, RUNNING_13,
                                           {"status": "finished", "imported_rows": 2000}])
    tidb_standin.drop_next(match=r"^SHOW IMPORT JOBS$", skip=2)
    run = monitor(rig_runner, tidb_standin, "--until-done")
    assert run.exit_code == 0, run.output
    assert statuses(only_job(run)) == ["pending", "running", "finished"]
    gaps = run.section("job_monitor")["connections"]["c1"]["gaps"]
    assert len(gaps) == 1 and gaps[0]["reconnected"] is True
    assert gaps[0]["seconds"] is not None
    assert "Lost connection" in gaps[0]["error"]
    assert "view restored after" in run.stderr
    assert "gap without a view of the server" in run.stdout


def test_without_super_only_own_jobs_are_visible_and_the_note_says_so(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.super_privilege = False
    tidb_standin.add_import_job(12, created_by="loader@%", status="running")
    run = monitor(rig_runner, tidb_standin, "-t", "0.2")
    assert run.exit_code == 0, run.output
    section = run.section("job_monitor")
    assert section["jobs"] == []
    assert any("lacks the SUPER privilege" in n for n in section["connections"]["c1"]["notes"])
    assert "nothing to monitor" in run.stdout


def test_old_tidb_without_import_into_says_so(rig_runner: RigRunner) -> None:
    with TidbStandin(version="5.7.25-TiDB-v7.1.0") as old:
        run = monitor(rig_runner, old, "-t", "0.2")
    assert run.exit_code == 0, run.output
    notes = run.section("job_monitor")["connections"]["c1"]["notes"]
    assert any("IMPORT INTO needs TiDB 7.2 or later; this is 7.1.0" in n for n in notes)


def test_live_display_rewrites_one_line_per_job(
        rig_runner: RigRunner, tidb_standin: TidbStandin,
        capsys: pytest.CaptureFixture[str]) -> None:
    tidb_standin.add_import_job(13, steps=[RUNNING_13, {"status": "finished"}])
    run = monitor(rig_runner, tidb_standin, "--until-done", "--display", "live")
    assert run.exit_code == 0, run.output
    live = capsys.readouterr().err
    assert "import 13  `test`.`t`  pending" in live
    assert "\x1b[1F\x1b[2Kimport 13  `test`.`t`  running  importing  1k rows" in live
    assert "import 13  `test`.`t`  finished" in live
    assert "pending → running" not in run.stderr  # no log lines in live mode
