"""One run of rig, step by step, as a user and a plugin author see it: the live display, the log
level, the options that reach the connections, the scratch data dropped at the end, the report
sections, the reporters, rig_unconfigure, and Ctrl-C."""

from __future__ import annotations

import io
import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rig
from rig.db.sandbox import free_port
from rig.testing import RigRunner, ServerDSN, make_plugin


class FakeTty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("rig: error: ")]


def log_lines(stderr: str, level: str) -> list[str]:
    marker = f" {level:<7} "
    return [line.split(marker, 1)[1].split(" ", 2)[2] for line in stderr.splitlines()
            if marker in line]


# --- the live display ----------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "live"), [
    ([], True), (["-q"], False), (["--log-format", "json"], False),
    (["--log-level", "INFO"], False),
], ids=["default", "quiet", "json-log", "log-level"])
def test_the_live_display_is_on_only_for_a_terminal_at_the_default_output_settings(
        rig_server: ServerDSN, args: list[str], live: bool) -> None:
    seen: list[tuple[bool, int]] = []

    def rig_configure(config: rig.Config) -> None:
        seen.append((config.terminal.live("probe 1/2"), config.terminal.width))
        config.terminal.end_live(keep=False)

    out, err = io.StringIO(), FakeTty()
    code = rig.run([*rig_server.rig_args(), "--plugin", "probe", *args],
                   environ={"COLUMNS": "33", **rig_server.rig_env()},
                   plugins=[("probe", make_plugin(rig_configure=rig_configure))],
                   stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert seen == [(live, 33)]  # the width from the run's own environment
    assert ("probe 1/2" in err.getvalue()) is live


def test_no_live_display_when_stderr_is_no_terminal(rig_runner: RigRunner) -> None:
    seen: list[bool] = []
    run = rig_runner.run_on_server("--plugin", "probe", plugins=[("probe", make_plugin(
        rig_configure=lambda config: seen.append(config.terminal.live("x"))))])
    assert run.exit_code == 0, run.stderr
    assert seen == [False]


def test_an_explicit_log_level_wins_over_quiet(rig_runner: RigRunner) -> None:
    port = free_port()
    run = rig_runner.run("--host", f"127.0.0.1:{port}", "--retry-attempts", "1", "-q",
                         "--log-level", "DEBUG", report=False)
    assert run.exit_code == 5
    assert f"target 127.0.0.1:{port} as root (TLS preferred, database none)" in \
        log_lines(run.stderr, "DEBUG")


# --- options that reach the connections ----------------------------------------------------------

@pytest.mark.parametrize(("attempts", "retries"), [("1", 0), ("2", 1)])
def test_retry_attempts_bound_the_connect_attempts(rig_runner: RigRunner, attempts: str,
                                                   retries: int) -> None:
    port = free_port()
    run = rig_runner.run("--host", f"127.0.0.1:{port}", "--retry-attempts", attempts,
                         report=False)
    assert run.exit_code == 5
    assert len([line for line in log_lines(run.stderr, "WARNING")
                if line.endswith("; retrying")]) == retries


def test_retry_max_time_bounds_the_retrying(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--host", f"127.0.0.1:{free_port()}", "--retry-attempts", "5",
                         "--retry-max-time", "1e-9", report=False)
    assert run.exit_code == 5
    assert not [line for line in log_lines(run.stderr, "WARNING") if "retrying" in line]


def test_the_breaker_options_reach_the_connections(rig_runner: RigRunner) -> None:
    port = free_port()

    def retries(cooldown: str) -> int:
        run = rig_runner.run("--host", f"127.0.0.1:{port}", "--retry-attempts", "3",
                             "--breaker-threshold", "1", "--breaker-cooldown", cooldown,
                             report=False)
        assert run.exit_code == 5
        (line,) = error_lines(run.stderr)
        assert f"connection refused by 127.0.0.1:{port}" in line  # the cause, not the breaker
        assert "circuit breaker" not in run.stderr
        return len([entry for entry in log_lines(run.stderr, "WARNING") if "retrying" in entry])

    # open after one failure: a long cool-down holds the next attempts back, a tiny one lets
    # each through as a trial
    assert retries("1000") == 1
    assert retries("1e-9") == 2


# --- what plugins get ----------------------------------------------------------------------------

def test_hooks_get_the_config_and_the_connection(rig_runner: RigRunner) -> None:
    seen: list[tuple[str, ...]] = []

    def register(registry: rig.StateRegistry, config: rig.Config) -> None:
        seen.append(("states", str(config.getoption("connections"))))
        registry.add_state("seer_looking", lambda ctx: ctx.event("seer.looked") and None)

    plugin = make_plugin(
        rig_register_states=register,
        rig_state_enter=lambda ctx, state: seen.append(("enter", ctx.connection_id, state))
        if state == "seer_looking" else None,
        rig_state_exit=lambda ctx, state, outcome: seen.append(
            ("exit", ctx.connection_id, state, outcome.status)) if state == "seer_looking"
        else None,
        rig_timeline_event=lambda event, config: seen.append(
            ("event", event.name, str(config.getoption("connections"))))
        if event.name == "seer.looked" else None,
        rig_report=lambda result, config: {"connections": config.getoption("connections")},
    )
    run = rig_runner.run_on_server("--plugin", "seer", plugins=[("seer", plugin)])
    assert run.exit_code == 0, run.stderr
    assert seen == [("states", "1"), ("enter", "c1", "seer_looking"), ("event", "seer.looked", "1"),
                    ("exit", "c1", "seer_looking", "ok")]
    assert run.section("seer") == {"connections": 1}


def test_the_result_has_when_the_run_started_and_how_long_it_took(
        rig_runner: RigRunner) -> None:
    started: list[float] = []
    plugin = make_plugin(rig_report=lambda result: started.append(result.started_at))
    before, began = time.time(), time.perf_counter()
    run = rig_runner.run_on_server("--plugin", "basic,clock", plugins=[("clock", plugin)])
    took = time.perf_counter() - began
    after = time.time()
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert len(started) == 1 and before <= started[0] <= after
    states = sum(s["duration_s"] for s in run.report["connections"][0]["states"])
    assert states <= run.report["duration_s"] <= took


# --- report sections and reporters ---------------------------------------------------------------

def _raising_report() -> Any:
    raise ValueError("no section today")


def test_report_sections_follow_the_plugin_order_and_one_bad_section_spoils_none_other(
        rig_runner: RigRunner) -> None:
    plugins = [
        ("zz", make_plugin(rig_report=lambda: {"from": "zz"})),
        ("aa", make_plugin(rig_report=_raising_report)),
        ("bb", make_plugin(rig_report=lambda: None)),
        ("cc", make_plugin(rig_report=lambda: {"tags": {"a"}})),
        ("dd", make_plugin(rig_report=lambda: {"from": "dd"})),
    ]
    run = rig_runner.run_on_server("--plugin", "aa,bb,cc,dd,zz", plugins=plugins)
    assert run.exit_code == 3
    assert run.report is not None
    assert list(run.report["sections"]) == ["dd", "zz"]  # the --plugin order
    errors = error_lines(run.stderr)
    assert len(errors) == 2, run.stderr
    assert errors[0].startswith("rig: error: plugin 'aa' failed in rig_report: ValueError: no "
                                "section today (at ")
    assert errors[1] == "rig: error: plugin 'cc' returned a report section that is not JSON: " \
        "sections.cc.tags is a set, not a JSON type: convert it (int(), float(), str(), list())"
    assert [e["message"] for e in run.report["errors"]] == [e[len("rig: error: "):]
                                                           for e in errors]


def test_a_reporter_that_fails_costs_its_report_and_exits_3(rig_runner: RigRunner,
                                                            tmp_path: Path) -> None:
    def rig_write_report(result: Any, config: rig.Config) -> None:
        raise OSError("disk full")

    junit = tmp_path / "r.xml"
    run = rig_runner.run_on_server("--plugin", "basic,writer", "--junit-xml", str(junit),
                                   plugins=[("writer", make_plugin(
                                       rig_write_report=rig_write_report))])
    assert run.exit_code == 3
    assert junit.exists() and run.report is not None  # the other reporters wrote theirs
    (line,) = error_lines(run.stderr)
    assert line.startswith("rig: error: plugin 'writer' failed in rig_write_report: OSError: "
                           "disk full (at ")


# --- rig_unconfigure -----------------------------------------------------------------------------

def _stuck(config: rig.Config) -> None:
    raise ValueError("stuck")


def _bad_exit(config: rig.Config) -> None:
    raise rig.UsageError("bad exit", hint="fix it")


def test_each_failing_unconfigure_is_one_line_and_the_worst_exit_code_wins(
        rig_runner: RigRunner) -> None:
    u1, u2 = make_plugin(rig_unconfigure=_stuck), make_plugin(rig_unconfigure=_bad_exit)
    run = rig_runner.run_on_server("--plugin", "basic,u1,u2", plugins=[("u1", u1), ("u2", u2)],
                                   report=False)
    assert run.exit_code == 3
    errors = sorted(error_lines(run.stderr))
    assert len(errors) == 2, run.stderr
    assert errors[0] == "rig: error: bad exit: fix it"
    assert errors[1].startswith("rig: error: plugin 'u1' failed in rig_unconfigure: ValueError: "
                                "stuck (at ")
    alone = rig_runner.run_on_server("--plugin", "basic,u2", plugins=[("u2", u2)], report=False)
    assert alone.exit_code == 4
    assert error_lines(alone.stderr) == ["rig: error: bad exit: fix it"]


def test_unconfigure_runs_when_configure_failed(rig_runner: RigRunner) -> None:
    calls: list[str] = []

    def rig_configure(config: rig.Config) -> None:
        raise rig.UsageError("not today")

    plugin = make_plugin(rig_configure=rig_configure,
                         rig_unconfigure=lambda config: calls.append("unconfigured"))
    run = rig_runner.run_on_server("--plugin", "moody", plugins=[("moody", plugin)],
                                   report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: not today\n"
    assert calls == ["unconfigured"]


# --- Ctrl-C --------------------------------------------------------------------------------------

def test_ctrl_c_while_assembling_the_workflow_exits_2_with_the_reports(
        rig_runner: RigRunner) -> None:
    def rig_register_states(registry: rig.StateRegistry) -> None:
        raise KeyboardInterrupt

    run = rig_runner.run_on_server("--plugin", "hasty", plugins=[("hasty", make_plugin(
        rig_register_states=rig_register_states))])
    assert run.exit_code == 2
    assert run.report is not None and run.report["interrupted"] is True
    assert run.stderr.splitlines()[-1] == "rig: interrupted; the reports hold what ran"
    assert run.stdout.count("rig: interrupted") == 0


def test_ctrl_c_during_a_state_ends_the_connection_as_interrupted_without_an_error_line(
        rig_runner: RigRunner) -> None:
    def press_ctrl_c(ctx: rig.Context) -> None:
        signal.raise_signal(signal.SIGINT)  # the main thread gets KeyboardInterrupt
        ctx.require_connection().query("SELECT SLEEP(60)")  # until rig shuts the session

    plugin = make_plugin(rig_register_states=lambda registry: registry.add_state(
        "hasty_waiting", press_ctrl_c))
    # Ctrl-C raises KeyboardInterrupt even where the test runs with SIGINT ignored (a
    # background job, a mutation-testing worker)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run = rig_runner.run_on_server("--plugin", "hasty", plugins=[("hasty", plugin)])
    finally:
        signal.signal(signal.SIGINT, before)
    assert run.exit_code == 2
    assert run.report is not None
    assert run.report["interrupted"] is True
    assert run.report["connections"][0]["error"]["kind"] == "interrupted"
    assert error_lines(run.stderr) == []
    assert run.stderr.splitlines()[-1] == "rig: interrupted; the reports hold what ran"


# --- scratch data at the end of the run ----------------------------------------------------------

@pytest.fixture
def no_drop_user(rig_server: ServerDSN) -> Iterator[str]:
    """A user that may create databases but not drop them."""
    name = f"rig_nodrop_{uuid.uuid4().hex[:6]}"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%", "localhost"):
            cursor.execute(f"CREATE USER '{name}'@'{host}'")
            cursor.execute(f"GRANT CREATE, SELECT ON *.* TO '{name}'@'{host}'")
    yield name
    with rig_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%", "localhost"):
            cursor.execute(f"DROP USER IF EXISTS '{name}'@'{host}'")


def _scratch_database(*names: str) -> Any:
    def create(ctx: rig.Context) -> None:
        for name in names:
            ctx.scratch.database(ctx.require_connection(), name)

    return make_plugin(rig_register_states=lambda registry: registry.add_state(
        "scratch_creating", create))


def test_what_cannot_be_dropped_is_a_warning_and_left_in_the_report(
        rig_runner: RigRunner, rig_server: ServerDSN, no_drop_user: str) -> None:
    names = [f"rig_scratch_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    left = [f"database {name} at {rig_server.address}" for name in names]
    try:
        run = rig_runner.run("--host", rig_server.address, "--user", no_drop_user,
                             "--plugin", "s", plugins=[("s", _scratch_database(*names))])
        assert run.exit_code == 0, run.stderr
        assert run.report is not None
        scratch = run.report["scratch"]
        assert (scratch["created"], scratch["dropped"], sorted(scratch["left"])) == (
            left, [], sorted(left))
        warnings = log_lines(run.stderr, "WARNING")
        assert len(warnings) == 2, run.stderr
        assert warnings[0].startswith(f"could not drop what the run created at "
                                      f"{rig_server.address}: DROP DATABASE failed: (1044) ")
        assert "[connection cleanup]" in warnings[0]
        assert warnings[1] == f"left behind: {', '.join(scratch['left'])}; drop them by hand"
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def test_what_the_run_drops_or_keeps_is_said(rig_runner: RigRunner,
                                            rig_server: ServerDSN) -> None:
    names = [f"rig_scratch_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    made = [f"database {name} at {rig_server.address}" for name in names]
    dropped = rig_runner.run_on_server("-v", "--plugin", "s",
                                       plugins=[("s", _scratch_database(*names))])
    assert dropped.exit_code == 0, dropped.stderr
    assert [line for line in log_lines(dropped.stderr, "DEBUG")
            if line.startswith("dropped ")] == [f"dropped {item}" for item in made]
    try:
        kept = rig_runner.run_on_server("--keep-tables", "--plugin", "s",
                                        plugins=[("s", _scratch_database(*names))])
        assert kept.exit_code == 0, kept.stderr
        assert kept.report is not None
        assert sorted(kept.report["scratch"]["left"]) == sorted(made)
        assert f"kept (--keep-tables): {', '.join(kept.report['scratch']['left'])}" in \
            log_lines(kept.stderr, "INFO")
    finally:
        with rig_server.connect() as conn, conn.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def test_a_server_gone_before_the_end_leaves_the_scratch_data_listed(
        rig_runner: RigRunner) -> None:
    name = f"rig_scratch_{uuid.uuid4().hex[:10]}"
    with rig.Sandbox() as box:
        def create_then_stop(ctx: rig.Context) -> None:
            ctx.scratch.database(ctx.require_connection(), name)
            box.stop()

        plugin = make_plugin(rig_register_states=lambda registry: registry.add_state(
            "scratch_stopping", create_then_stop))
        run = rig_runner.run("--host", box.address, "--user", box.user, "--retry-attempts", "1",
                             "--plugin", "s", plugins=[("s", plugin)])
    left = f"database {name} at {box.address}"
    assert run.report is not None
    assert run.report["scratch"]["left"] == [left]
    warnings = log_lines(run.stderr, "WARNING")
    assert f"could not drop what the run created at {box.address}: connection refused by " \
        f"{box.address}: is the server running and listening there? give --host HOST:PORT or " \
        "--port PORT (default 127.0.0.1:4000), or --sandbox for a throwaway local server" \
        in warnings
    assert warnings[-1] == f"left behind: {left}; drop them by hand"
    assert json.dumps(run.report["scratch"]["dropped"]) == "[]"
