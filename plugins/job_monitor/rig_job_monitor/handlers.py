"""The job monitor's states: job_monitor_checking_import_jobs →
job_monitor_showing_import_job_details → job_monitor_monitoring → job_monitor_reporting_jobs."""

from __future__ import annotations

import time
from collections.abc import Sequence

import rig
from rig_job_monitor.display import (
    Display,
    LiveBoard,
    change_text,
    choose_display,
    job_label,
    job_line,
)
from rig_job_monitor.jobs import Change
from rig_job_monitor.monitor import Monitor
from rig_job_monitor.parsing import FINISHED, format_duration
from rig_job_monitor.sources import (
    MariaDbProcesslist,
    MySqlStages,
    Source,
    TidbDdl,
    TidbImports,
    grants,
    has_privilege,
    import_observation,
    records,
    server_now,
)

MONITOR: rig.Key[Monitor] = rig.Key("job_monitor.monitor")
DISPLAY: rig.Key[Display] = rig.Key("job_monitor.display")
BOARD: rig.Key[LiveBoard] = rig.Key("job_monitor.board")
"""The run's live block, shared by every connection (in ``config.stash``)."""
STATUS_EVENT = "job_monitor.status"
GAP_EVENT = "job_monitor.gap"
ER_JOB_NOT_FOUND = 8170
ER_SPECIFIC_ACCESS_DENIED = 1227


def _sources(ctx: rig.Context, notes: list[str]) -> list[Source]:
    server = ctx.server
    assert server is not None, "getting_version runs first"
    min_duration = ctx.config.getoption("job_monitor_min_duration")
    if server.flavor is rig.Flavor.TIDB:
        found: list[Source] = []
        if server.features.import_jobs:
            found.append(TidbImports())
        else:
            notes.append(f"IMPORT INTO needs TiDB 7.2 or later; this is {server.version_text}, "
                         "so there are no import jobs to watch")
        if ctx.config.getoption("job_monitor_include_ddl"):
            found.append(TidbDdl())
        return found
    if server.flavor is rig.Flavor.MARIADB:
        return [MariaDbProcesslist(min_duration)]
    return [MySqlStages(min_duration)]


def _privilege_notes(ctx: rig.Context, notes: list[str]) -> None:
    server = ctx.server
    assert server is not None
    text = grants(ctx.require_connection())
    if not text:
        return
    user = ctx.settings.user
    if server.flavor is rig.Flavor.TIDB:
        if not has_privilege(text, "SUPER"):
            notes.append(f"user {user!r} lacks the SUPER privilege: only import jobs it created "
                         "itself are visible; GRANT SUPER to watch everyone's")
    elif not has_privilege(text, "PROCESS"):
        notes.append(f"user {user!r} lacks the PROCESS privilege: only its own sessions' "
                     "statements are visible; GRANT PROCESS ON *.* to watch every session")


def _status_events(ctx: rig.Context, changes: Sequence[Change]) -> None:
    """A ``job_monitor.status`` timeline event per status change (or first sight)."""
    for change in changes:
        last = change.job.last
        ctx.event(STATUS_EVENT, detail=f"{job_label(change.job)}: {change_text(change)}",
                  data={"kind": last.kind, "id": last.id, "target": last.target,
                        "before": change.before, "after": change.after})


class CheckingImportJobs:
    """Chooses what to watch for this server, checks the privileges that limit the view, and
    takes the first look (jobs that have already ended are history, not watched)."""

    def execute(self, ctx: rig.Context) -> None:
        notes: list[str] = []
        sources = _sources(ctx, notes)
        _privilege_notes(ctx, notes)
        job_ids = frozenset(str(i) for i in ctx.config.getoption("job_monitor_job_id") or ())
        monitor = Monitor(sources, job_ids, notes=notes)
        ctx.data[MONITOR] = monitor
        for note in notes:
            ctx.log.warning(note)
        for source in list(sources):
            try:
                _status_events(ctx, monitor.poll_source(ctx.require_connection(), source))
            except rig.DatabaseError as exc:
                if exc.error_class is not rig.ErrorClass.PERMANENT:
                    raise
                sources.remove(source)
                note = f"cannot read {source.description}: ({exc.code}) {exc.server_message}"
                notes.append(note)
                ctx.log.warning(note)
        monitor.polls = 1
        watched = monitor.jobs()
        if watched:
            ctx.log.info("watching {} job(s): {}", len(watched),
                         ", ".join(job_label(job) for job in watched))
        else:
            history = f" ({monitor.history} earlier job(s) already ended)" if monitor.history \
                else ""
            what = "; ".join(source.description for source in sources) or "nothing"
            ctx.log.info("nothing running right now{}; watching {} for new jobs", history, what)


class ShowingImportJobDetails:
    """Shows ``SHOW IMPORT JOB <id>`` for every ``--job-monitor-job-id`` on TiDB; a job that
    does not exist (error 8170) is a failed check naming it."""

    def execute(self, ctx: rig.Context) -> None:
        monitor = ctx.data.get(MONITOR)
        server = ctx.server
        if monitor is None or server is None or server.flavor is not rig.Flavor.TIDB \
                or not monitor.job_ids or not server.features.import_jobs:
            return
        ddl_ids = {job.last.id for job in monitor.jobs() if job.last.kind == "ddl"}
        now = server_now(ctx.require_connection())
        for job_id in sorted(monitor.job_ids, key=lambda text: (len(text), text)):
            try:
                rows = records(ctx.require_connection(), f"SHOW IMPORT JOB {int(job_id)}")
            except rig.DatabaseError as exc:
                if exc.code == ER_JOB_NOT_FOUND and job_id in ddl_ids:
                    continue
                if exc.code == ER_JOB_NOT_FOUND:
                    monitor.missing.append(job_id)
                    ctx.check(f"import job {job_id}", rig.Verdict.FAIL,
                              f"import job {job_id} does not exist (error 8170)")
                    continue
                if exc.code == ER_SPECIFIC_ACCESS_DENIED:
                    monitor.notes.append(f"import job {job_id} belongs to another user; "
                                         "SHOW IMPORT JOB needs SUPER for it")
                    ctx.log.warning(monitor.notes[-1])
                    continue
                raise
            for record in rows:
                seen = import_observation(record, now)
                detail = seen.detail
                ctx.log.info("import job {}: {} from {} ({} source), {} by {}{}", seen.id,
                             seen.target, detail.get("data_source"),
                             record.get("Source_File_Size"), seen.status,
                             detail.get("created_by"),
                             f": {seen.message}" if seen.message else "")


class Monitoring:
    """Polls every ``--job-monitor-poll-interval`` seconds for ``--job-monitor-duration``
    seconds (or until every watched job has ended, with ``--job-monitor-until-done``), showing
    progress as it goes. A lost connection is retried with the core's policy; the time
    without a view is a gap in the report, and monitoring goes on. The live block is ended
    on every way out (the end, an error, Ctrl-C)."""

    def execute(self, ctx: rig.Context) -> None:
        monitor = ctx.data[MONITOR]
        config = ctx.config
        mode = config.getoption("job_monitor_display")
        board = config.stash[BOARD]
        display = choose_display(mode, board, ctx.connection_id,
                                 lambda line: ctx.log.info(line),
                                 config.getoption("job_monitor_log_every"))
        if mode == "live" and not board.terminal.can_live and board.first("no live block"):
            ctx.log.warning("--job-monitor-display live: no live block on this output (it "
                            "needs a terminal on stderr, and no -q, --log-level or JSON "
                            "logs); showing log lines instead")
        ctx.data[DISPLAY] = display
        interval = config.getoption("job_monitor_poll_interval")
        until_done = config.getoption("job_monitor_until_done")
        deadline = time.monotonic() + config.getoption("job_monitor_duration")
        try:
            display.update(monitor.jobs(), [])
            while not ctx.cancelled:
                if until_done and monitor.done():
                    ctx.log.info("every watched job has ended")
                    break
                if not self._wait(ctx, min(time.monotonic() + interval, deadline)):
                    break
                changes = self._poll(ctx, monitor, display)
                if changes is not None:
                    _status_events(ctx, changes)
                    display.update(monitor.jobs(), changes)
                if time.monotonic() >= deadline:
                    break
        finally:
            monitor.ended = time.time()
            display.close()

    @staticmethod
    def _wait(ctx: rig.Context, until: float) -> bool:
        while not ctx.cancelled:
            left = until - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.05))
        return False

    @staticmethod
    def _poll(ctx: rig.Context, monitor: Monitor, display: Display) -> list[Change] | None:
        errors: list[rig.DatabaseError] = []
        started = time.time()
        before = ctx.connection

        def attempt(connection: rig.Connection) -> list[Change]:
            try:
                return monitor.poll(connection)
            except rig.DatabaseError as exc:
                errors.append(exc)
                raise

        try:  # a needs-reconnect error is retried on ctx.reconnect() (a `reconnect` event)
            changes = ctx.retry(attempt, operation="poll jobs")
        except rig.DatabaseError as exc:
            if exc.error_class is rig.ErrorClass.PERMANENT and exc.code is not None:
                raise
            reason = exc.server_message
            gap = monitor.open_gap(reason)
            if gap.started >= started:
                display.note(f"lost the view of the server ({reason}); retrying every poll")
            if ctx.connection is not None:  # the next poll's ctx.retry reconnects
                ctx.connection.close()
                ctx.connection = None
            return None
        gap_open = bool(monitor.gaps) and monitor.gaps[-1].ended is None
        if errors or gap_open:
            reason = errors[0].server_message if errors else monitor.gaps[-1].error
            gap = monitor.close_gap(started=started, error=reason,
                                    reconnected=ctx.connection is not before)
            assert gap.ended is not None
            seconds = gap.ended - gap.started
            display.note(f"view restored after {format_duration(seconds)} "
                         f"({gap.error}); jobs may have changed in the gap")
            ctx.event(GAP_EVENT, detail=f"view restored after {format_duration(seconds)} "
                                        f"({gap.error})",
                      data={"seconds": round(seconds, 3), "error": gap.error,
                            "reconnected": gap.reconnected})
        return changes


class ReportingJobs:
    """Records a check per watched job (failed when it ended in a ``--job-monitor-fail-on``
    status) and says plainly when there was nothing to monitor. Runs after a failure or Ctrl-C
    too (and ends this connection's part of the live block, should monitoring not have)."""

    def execute(self, ctx: rig.Context) -> None:
        display = ctx.data.get(DISPLAY)
        if display is not None:
            display.close()
        monitor = ctx.data.get(MONITOR)
        if monitor is None:
            return
        if monitor.ended is None:
            monitor.ended = time.time()
        fail_on = set(ctx.config.getoption("job_monitor_fail_on") or ())
        jobs = monitor.jobs()
        for job in jobs:
            line = job_line(job)
            if job.status in fail_on:
                ctx.check(f"job {job_label(job)}", rig.Verdict.FAIL,
                          f"{job.status} (--job-monitor-fail-on "
                          f"{','.join(sorted(fail_on))}): {line}")
            elif job.final:
                ctx.check(f"job {job_label(job)}", rig.Verdict.PASS, line)
            else:
                ctx.check(f"job {job_label(job)}", rig.Verdict.PASS,
                          f"still {job.status} when monitoring ended: {line}")
        blind = monitor.gaps[-1] if monitor.gaps and monitor.gaps[-1].ended is None else None
        if not jobs:
            span = format_duration(monitor.ended - monitor.started)
            what = "; ".join(source.description for source in monitor.sources) or \
                "no job source on this server"
            if blind is None:
                ctx.check("jobs", rig.Verdict.SKIP, f"nothing to monitor: no job seen in "
                          f"{span} ({what})")
        finished = sum(1 for job in jobs if job.status == FINISHED)
        ctx.log.debug("{} job(s) watched, {} finished, {} gap(s)", len(jobs), finished,
                      len(monitor.gaps))
        if blind is not None:  # the run ended without a view of the server: it cannot pass
            address = ctx.settings.address
            blind_for = format_duration(monitor.ended - blind.started)
            raise rig.ConnectError(
                f"lost the connection to {address} in state {ctx.state}: monitoring ended "
                f"without a view of the server for its last {blind_for} ({blind.error})",
                hint=f"check that the server at {address} is running and reachable, then "
                "run again")
