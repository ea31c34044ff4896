"""TiDB paths of the job monitor, against the mysql-mimic TiDB **stand-in** (not a real TiDB):
both SHOW IMPORT JOBS layouts, every transition, NULL rows, human sizes, error 8170,
--job-monitor-until-done and --job-monitor-fail-on exit codes, DDL jobs, a connection dropped
mid-monitor, the timeline events, and the live block on a (fake) terminal."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

import rig
from rig.testing import RigRun, RigRunner
from rig.testing.tidb_standin import TidbStandin

pytestmark = pytest.mark.tidb_standin

UNTIL_DONE, JOB_ID = "--job-monitor-until-done", "--job-monitor-job-id"

RUNNING_13 = {"status": "running", "phase": "importing", "imported_rows": 1000}
RUNNING_21 = {**RUNNING_13, "cur_step": "import", "cur_step_processed_size": "4.55GB",
              "cur_step_total_size": "9.1GB", "cur_step_progress_pct": "50%",
              "cur_step_speed": "10.96MB/s", "cur_step_eta": "07:26:03"}


def monitor(rig_runner: RigRunner, standin: TidbStandin, *args: str) -> RigRun:
    return rig_runner.run("--host", standin.address, "--ssl-mode", "disabled",
                          "--plugin", "job_monitor", "--job-monitor-duration", "30",
                          "--job-monitor-poll-interval", "0.05", *args)


class FakeTty(io.StringIO):
    """A stderr that says it is a terminal, so that the run's terminal shows a live block."""

    def isatty(self) -> bool:
        return True


def monitor_on_a_terminal(rig_runner: RigRunner, standin: TidbStandin,
                          *args: str) -> tuple[int, str, str]:
    """:func:`monitor` with stderr a (fake) terminal: ``(exit code, stdout, stderr)``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    environ.update({"NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "200"})
    out, err = io.StringIO(), FakeTty()
    code = rig.run(["--host", standin.address, "--ssl-mode", "disabled", "--plugin",
                    "job_monitor", "--job-monitor-duration", "30",
                    "--job-monitor-poll-interval", "0.05", *args],
                   environ=environ, cwd=rig_runner.workdir, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_live_block_ended(err: str, last_line: str) -> None:
    """The live block's last content stays on screen, ended by a newline, and nothing redraws
    or erases it afterwards (an unended block is redrawn below every later line)."""
    tail = err[err.rindex(last_line):]
    assert "\n" in tail, tail
    assert "\x1b" not in tail, tail


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
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE)
    assert run.exit_code == 0, run.output
    job = only_job(run)
    assert (job["id"], job["kind"], job["target"]) == ("7", "import", "`test`.`t`")
    assert statuses(job) == ["pending", "running", "finished"]
    assert [s["rows"] for s in job["samples"]] == [None, 1000, 5000, 10000]
    assert job["rows"] == 10000 and job["progress_pct"] == 100.0
    assert job["source_bytes"] == 1_194_000_000_000
    assert job["layout_columns"] == 13
    assert "every watched job has ended" in run.stderr  # --until-done, not the 30 s
    assert "pending → running" in run.stderr  # log lines: the output is not a terminal


def test_status_changes_are_timeline_events(rig_runner: RigRunner,
                                            tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(6, steps=[RUNNING_13, {"status": "finished"}])
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE)
    assert run.exit_code == 0, run.output
    events = [event for event in run.report["timeline"]  # type: ignore[index]
              if event["name"] == "job_monitor.status"]
    assert [event["detail"] for event in events] == [
        "import 6: seen, pending", "import 6: pending → running",
        "import 6: running → finished"]
    assert {(event["source"], event["connection"]) for event in events} == {
        ("job_monitor", "c1")}
    assert events[-1]["data"] == {"kind": "import", "id": "6", "target": "`test`.`t`",
                                  "before": "running", "after": "finished"}


def test_21_column_layout_reads_progress_columns_and_a_failure_exits_1(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.import_layout = 21
    tidb_standin.add_import_job(8, source_file_size="277.5GiB", steps=[
        RUNNING_21, {"status": "failed", "result_message": "disk full"}])
    junit = rig_runner.workdir / "jobs.xml"
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE, "--junit-xml", str(junit))
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
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE, "--job-monitor-fail-on", fail_on)
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
    run = monitor(rig_runner, tidb_standin, JOB_ID, "10", UNTIL_DONE)
    assert run.exit_code == 0, run.output
    assert only_job(run)["status"] == "cancelled"


def test_unknown_job_id_is_reported_as_8170(rig_runner: RigRunner,
                                            tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(1, status="finished", imported_rows=3)
    run = monitor(rig_runner, tidb_standin, JOB_ID, "42", JOB_ID, "1",
                  UNTIL_DONE)
    assert run.exit_code == 1, run.output
    assert "import job 42 does not exist (error 8170)" in run.stdout
    section = run.section("job_monitor")
    assert section["connections"]["c1"]["missing"] == ["42"]
    assert [job["id"] for job in section["jobs"]] == ["1"]  # named, so watched though ended


def test_jobs_that_ended_before_monitoring_are_history(rig_runner: RigRunner,
                                                       tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(3, status="finished", imported_rows=3)
    run = monitor(rig_runner, tidb_standin, "--job-monitor-duration", "0.2")
    assert run.exit_code == 0, run.output
    section = run.section("job_monitor")
    assert section["jobs"] == []
    assert section["connections"]["c1"]["history_not_watched"] == 1
    assert "nothing to monitor" in run.stdout


def test_until_done_waits_for_a_job_appearing_later(rig_runner: RigRunner,
                                                    tidb_standin: TidbStandin) -> None:
    """With no job at the start --job-monitor-until-done keeps watching; a job that appears
    after two empty polls is watched to its end, and then the run stops."""

    def add_a_job_after_two_empty_polls() -> None:
        deadline = time.monotonic() + 30  # a backstop only
        while tidb_standin.count(r"^SHOW IMPORT JOBS$") < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        tidb_standin.add_import_job(18, steps=[RUNNING_13, {"status": "finished"}])

    adder = threading.Thread(target=add_a_job_after_two_empty_polls, daemon=True)
    adder.start()
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE)
    adder.join(timeout=30)
    assert run.exit_code == 0, run.output
    assert "nothing running right now" in run.stderr
    assert statuses(only_job(run)) == ["pending", "running", "finished"]
    assert "every watched job has ended" in run.stderr  # not the 30 s of the duration


def test_ddl_jobs_in_the_12_column_layout(rig_runner: RigRunner,
                                          tidb_standin: TidbStandin) -> None:
    tidb_standin.ddl_columns = 12
    tidb_standin.add_ddl_job(55, table_name="orders", steps=[
        {"state": "running", "schema_state": "write reorganization", "row_count": 100},
        {"state": "running", "schema_state": "write reorganization", "row_count": 900},
        {"state": "synced", "schema_state": "public", "row_count": 1000}])
    run = monitor(rig_runner, tidb_standin, "--job-monitor-include-ddl", UNTIL_DONE)
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
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE)
    assert run.exit_code == 0, run.output
    assert statuses(only_job(run)) == ["pending", "running", "finished"]
    gaps = run.section("job_monitor")["connections"]["c1"]["gaps"]
    assert len(gaps) == 1 and gaps[0]["reconnected"] is True
    assert gaps[0]["seconds"] is not None
    assert "Lost connection" in gaps[0]["error"]
    assert "view restored after" in run.stderr
    assert "gap without a view of the server" in run.stdout
    names = [event["name"] for event in run.report["timeline"]]  # type: ignore[index]
    assert names.count("reconnect") == 1  # the core's, from ctx.reconnect()
    assert names.count("job_monitor.gap") == 1
    assert names.index("reconnect") < names.index("job_monitor.gap")


def test_without_super_only_own_jobs_are_visible_and_the_note_says_so(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.super_privilege = False
    tidb_standin.add_import_job(12, created_by="loader@%", status="running")
    run = monitor(rig_runner, tidb_standin, "--job-monitor-duration", "0.2")
    assert run.exit_code == 0, run.output
    section = run.section("job_monitor")
    assert section["jobs"] == []
    assert any("lacks the SUPER privilege" in n for n in section["connections"]["c1"]["notes"])
    assert "nothing to monitor" in run.stdout


def test_old_tidb_without_import_into_says_so(rig_runner: RigRunner) -> None:
    with TidbStandin(version="5.7.25-TiDB-v7.1.0") as old:
        run = monitor(rig_runner, old, "--job-monitor-duration", "0.2")
    assert run.exit_code == 0, run.output
    notes = run.section("job_monitor")["connections"]["c1"]["notes"]
    assert any("IMPORT INTO needs TiDB 7.2 or later; this is 7.1.0" in n for n in notes)


def test_live_display_draws_through_the_terminal_and_ends_its_block(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(13, steps=[RUNNING_13, {"status": "finished"}])
    code, out, err = monitor_on_a_terminal(rig_runner, tidb_standin, UNTIL_DONE)
    assert code == 0, out + err
    assert "import 13  `test`.`t`  pending" in err
    # each redraw erases the previous block (the terminal's clear-line) before the new line
    assert "\r\x1b[2Kimport 13  `test`.`t`  running  importing  1k rows" in err
    assert "import 13  `test`.`t`  finished" in err
    assert "pending → running" not in err  # no log lines in live mode
    assert_live_block_ended(err, "import 13  `test`.`t`  finished")
    assert "import 13" in out  # the summary table, on stdout


def test_two_connections_share_one_live_block(rig_runner: RigRunner,
                                              tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(17, steps=[RUNNING_13, RUNNING_13, {"status": "finished"}])
    code, out, err = monitor_on_a_terminal(rig_runner, tidb_standin, UNTIL_DONE,
                                           "--host", tidb_standin.address)
    assert code == 0, out + err
    block = "c1 import 17  `test`.`t`  finished  importing  1k rows  100.0%"
    assert block in err and "c2 import 17  `test`.`t`  finished" in err
    assert_live_block_ended(err, "c2 import 17  `test`.`t`  finished")
    assert "c1 import 17" in out and "c2 import 17" in out  # the summary names connections


def test_live_block_is_ended_when_monitoring_fails(
        rig_runner: RigRunner, tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(14, status="running", imported_rows=5)
    # the first look and the first poll pass, the second poll gets a permanent error
    tidb_standin.fail_next(1064, "You have an error in your SQL syntax",
                           match=r"^SHOW IMPORT JOBS$", skip=2)
    code, out, err = monitor_on_a_terminal(rig_runner, tidb_standin)
    assert code == 3, out + err
    assert "You have an error in your SQL syntax" in err
    assert_live_block_ended(err, "import 14  `test`.`t`  running")


def test_live_block_is_ended_after_ctrl_c(tidb_standin: TidbStandin) -> None:
    """rig in a subprocess whose stderr is a real pseudo-terminal, interrupted mid-monitor."""
    tidb_standin.add_import_job(19, status="running", imported_rows=5)
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    env.update({"NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "200"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "--host", tidb_standin.address, "--ssl-mode",
         "disabled", "--plugin", "job_monitor", "--job-monitor-duration", "120",
         "--job-monitor-poll-interval", "0.05"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # until the child's end closes the terminal (EIO)
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30  # a backstop only
        while tidb_standin.count(r"^SHOW IMPORT JOBS$") < 3:  # monitoring has polled
            assert time.monotonic() < deadline, "the monitor never polled"
            assert proc.poll() is None, "rig ended before it was interrupted"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
        reader.join(timeout=10)
        os.close(master)
    err = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    assert proc.returncode == 2, err
    assert "interrupted" in err
    assert_live_block_ended(err, "import 19  `test`.`t`  running")


def test_live_display_needs_a_terminal_and_says_so(rig_runner: RigRunner,
                                                   tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(15, steps=[RUNNING_13, {"status": "finished"}])
    run = monitor(rig_runner, tidb_standin, UNTIL_DONE, "--job-monitor-display", "live",
                  "--host", tidb_standin.address)
    assert run.exit_code == 0, run.output
    # said once per run, not once per connection
    assert run.stderr.count("--job-monitor-display live: no live block on this output") == 1
    for conn in ("c1", "c2"):  # log lines instead
        assert f"{conn} job_monitor_monitoring import 15  `test`.`t`" in run.stderr
    assert "\x1b" not in run.stderr


def test_plain_display_on_a_terminal_logs_lines(rig_runner: RigRunner,
                                                tidb_standin: TidbStandin) -> None:
    tidb_standin.add_import_job(16, steps=[RUNNING_13, {"status": "finished"}])
    code, out, err = monitor_on_a_terminal(rig_runner, tidb_standin, UNTIL_DONE,
                                           "--job-monitor-display", "plain")
    assert code == 0, out + err
    assert "import 16: pending → running" in err
    assert "import 16: running → finished" in err
    assert "\x1b" not in err  # no live block
