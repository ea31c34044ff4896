"""rig's job monitor plugin: watch TiDB import and DDL jobs, or long-running MySQL/MariaDB
statements, live, with progress, speed and ETA; a job that fails fails the run.

States after the common ones: ``job_monitor_checking_import_jobs`` →
``job_monitor_showing_import_job_details`` → ``job_monitor_monitoring`` →
``job_monitor_reporting_jobs``. See ``docs/job_monitor.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rig
from rig_job_monitor import html_section
from rig_job_monitor.display import SUMMARY_COLUMNS, LiveBoard, summary_rows, table
from rig_job_monitor.handlers import (
    BOARD,
    MONITOR,
    CheckingImportJobs,
    Monitoring,
    ReportingJobs,
    ShowingImportJobDetails,
)

__version__ = "0.2.0"

PLUGIN = "job_monitor"
FAIL_ON_CHOICES = ["failed", "cancelled", "gone"]
DISPLAY_CHOICES = ("auto", "live", "plain")


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    group = parser.getgroup(PLUGIN, "job monitor: TiDB import/DDL jobs, long MySQL/MariaDB "
                            "statements")
    group.addoption("--job-monitor-duration", type=rig.types.positive_float, default=60.0,
                    metavar="SECONDS", help="how long to monitor (default: %(default)s)")
    group.addoption("--job-monitor-poll-interval", type=rig.types.positive_float, default=2.0,
                    metavar="SECONDS", help="seconds between polls (default: %(default)s)")
    group.addoption("--job-monitor-job-id", action="append", type=rig.types.positive_int,
                    metavar="ID", help="watch only this job (TiDB import or DDL job id; on "
                    "MySQL/MariaDB a connection id); repeat for several")
    group.addoption("--job-monitor-until-done", action="store_true",
                    help="stop as soon as every watched job has ended")
    group.addoption("--job-monitor-fail-on", type=rig.types.choice_list(FAIL_ON_CHOICES),
                    default=["failed"], metavar="STATUS[,STATUS]",
                    help="exit 1 when a watched job ends in one of these statuses: "
                    f"{', '.join(FAIL_ON_CHOICES)} (default: failed; '' for never)")
    group.addoption("--job-monitor-include-ddl", action="store_true",
                    help="also watch TiDB DDL jobs (ADMIN SHOW DDL JOBS)")
    group.addoption("--job-monitor-min-duration", type=rig.types.non_negative_float,
                    default=1.0, metavar="SECONDS", help="MySQL/MariaDB: ignore statements "
                    "running for less than this (default: %(default)s)")
    group.addoption("--job-monitor-display", type=rig.types.choice(DISPLAY_CHOICES),
                    default="auto", metavar="|".join(DISPLAY_CHOICES),
                    help="live: one line per job in a block redrawn at the bottom of the "
                    "terminal; plain: log lines; auto (default): live when the run's terminal "
                    "can show it (stderr a terminal, no -q, --log-level or JSON logs)")
    group.addoption("--job-monitor-log-every", type=rig.types.positive_float, default=5.0,
                    metavar="SECONDS", help="plain display: a progress line per running job "
                    "at most this often, besides every status change (default: %(default)s)")


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    interval = config.getoption("job_monitor_poll_interval")
    duration = config.getoption("job_monitor_duration")
    if interval > duration:
        raise config.invalid("job_monitor_poll_interval",
                             f"it is longer than --job-monitor-duration ({duration:g}s); "
                             "poll at least once within the duration")
    config.stash[BOARD] = LiveBoard(config.terminal)


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("job_monitor_checking_import_jobs", CheckingImportJobs(),
                       description="choose job sources, check privileges, first look")
    registry.add_state("job_monitor_showing_import_job_details", ShowingImportJobDetails(),
                       description="SHOW IMPORT JOB for each --job-monitor-job-id (TiDB)")
    registry.add_state("job_monitor_monitoring", Monitoring(),
                       description="poll jobs, show progress, survive lost connections")
    registry.add_state("job_monitor_reporting_jobs", ReportingJobs(), cleanup=True,
                       description="a check per job; --job-monitor-fail-on decides the "
                       "verdict")


def _jobs(result: rig.RunResult) -> list[dict[str, Any]]:
    jobs = []
    for conn in result.connections:
        monitor = conn.data.get(MONITOR) if conn.data else None
        if monitor is not None:
            jobs += [{**job, "connection": conn.id} for job in monitor.section()["jobs"]]
    return jobs


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    connections = {}
    for conn in result.connections:
        monitor = conn.data.get(MONITOR) if conn.data else None
        if monitor is not None:
            section = monitor.section()
            section.pop("jobs")
            connections[conn.id] = section
    return {"jobs": _jobs(result), "connections": connections}


@rig.hookimpl
def rig_html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    return html_section.html_section(result)


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, write: Callable[[str], None]) -> None:
    jobs = _jobs(result)
    monitors = [conn.data.get(MONITOR) for conn in result.connections if conn.data]
    if not any(monitors):
        return
    if not jobs:
        write("job monitor: nothing to monitor (no job or long-running statement seen)")
    else:
        write(f"job monitor: {len(jobs)} job(s)")
        several = len({job["connection"] for job in jobs}) > 1
        for line in table(SUMMARY_COLUMNS, summary_rows(jobs, connections=several)):
            write(f"  {line}")
    for monitor in monitors:
        if monitor is None:
            continue
        for gap in monitor.gaps:
            seconds = "still open" if gap.ended is None else f"{gap.ended - gap.started:.1f}s"
            write(f"  gap without a view of the server: {seconds} ({gap.error})")
        for job_id in monitor.missing:
            write(f"  import job {job_id} does not exist (error 8170)")
