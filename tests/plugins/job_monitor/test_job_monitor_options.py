"""Bad option values: one line naming the option, exit 4."""

from __future__ import annotations

import pytest

from rig.testing import RigRunner


@pytest.mark.parametrize(("args", "message"), [
    (["--job-monitor-poll-interval", "0"], "--job-monitor-poll-interval"),
    (["--job-monitor-duration", "-5"], "--job-monitor-duration"),
    (["--job-monitor-fail-on", "exploded"], "unknown exploded"),
    (["--job-monitor-display", "fancy"], "choose from auto, live, plain"),
    (["--job-monitor-job-id", "abc"], "--job-monitor-job-id"),
    (["--job-monitor-min-duration", "-1"], "--job-monitor-min-duration"),
    (["--job-monitor-log-every", "0"], "--job-monitor-log-every"),
    (["--job-monitor-duration", "1", "--job-monitor-poll-interval", "5"],
     "longer than --job-monitor-duration"),
])
def test_bad_values_exit_4_naming_the_option(rig_runner: RigRunner, args: list[str],
                                             message: str) -> None:
    run = rig_runner.run("--plugin", "job_monitor", *args, report=False)
    assert run.exit_code == 4, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error: ")]
    assert len(errors) == 1, run.stderr
    assert message in errors[0]
    assert "Traceback" not in run.output


@pytest.mark.parametrize("old", ["-t", "--monitor-duration", "--poll-interval", "--job-id",
                                 "--until-done", "--display"])
def test_old_option_names_are_gone(rig_runner: RigRunner, old: str) -> None:
    run = rig_runner.run("--plugin", "job_monitor", old, "1", report=False)
    assert run.exit_code == 4, run.output
    assert old in run.stderr


def test_bad_value_from_the_environment_names_its_source(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "job_monitor", report=False,
                         env={"RIG_JOB_MONITOR_DISPLAY": "fancy"})
    assert run.exit_code == 4, run.output
    assert "RIG_JOB_MONITOR_DISPLAY" in run.stderr
    assert "choose from auto, live, plain" in run.stderr


def test_a_job_monitor_table_in_rig_toml_sets_options_without_the_prefix(
        rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "rig.toml").write_text(
        '[job_monitor]\ndisplay = "PLAIN"\nduration = 1\npoll-interval = 5\n')
    run = rig_runner.run("--plugin", "job_monitor", report=False)
    assert run.exit_code == 4, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error: ")]
    assert len(errors) == 1, run.stderr  # "PLAIN" is a display choice (any case)
    assert "--job-monitor-poll-interval" in errors[0]
    assert "longer than --job-monitor-duration (1s)" in errors[0]
    assert "(from config " in errors[0]
