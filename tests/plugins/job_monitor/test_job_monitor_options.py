"""Bad option values: one line naming the option, exit 4."""

from __future__ import annotations

import pytest

from rig.testing import RigRunner


@pytest.mark.parametrize(("args", "message"), [
    (["--poll-interval", "0"], "--poll-interval"),
    (["-t", "-5"], "--monitor-duration"),
    (["--fail-on", "exploded"], "unknown exploded"),
    (["--display", "fancy"], "choose from auto, live, plain"),
    (["--job-id", "abc"], "--job-id"),
    (["--min-duration", "-1"], "--min-duration"),
    (["-t", "1", "--poll-interval", "5"], "longer than --monitor-duration"),
])
def test_bad_values_exit_4_naming_the_option(rig_runner: RigRunner, args: list[str],
                                             message: str) -> None:
    run = rig_runner.run("--plugin", "job_monitor", *args, report=False)
    assert run.exit_code == 4, run.output
    assert message in run.stderr
    assert "Traceback" not in run.output
