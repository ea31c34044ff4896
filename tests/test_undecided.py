"""Exit 6: a check that could not decide is neither a pass nor a failure."""

from __future__ import annotations

import rig
from rig.engine.results import Check, RunResult
from rig.errors import ExitCode


def result_with(*verdicts: rig.Verdict) -> RunResult:
    result = RunResult(rig_version="test")
    for n, verdict in enumerate(verdicts):
        result.add_check(Check(name=f"c{n}", verdict=verdict))
    return result


def test_an_undecided_check_exits_6() -> None:
    assert result_with(rig.Verdict.PASS, rig.Verdict.UNKNOWN).exit_code == ExitCode.UNDECIDED == 6


def test_a_failure_outranks_an_undecided_check() -> None:
    assert result_with(rig.Verdict.UNKNOWN, rig.Verdict.FAIL).exit_code == ExitCode.CHECK_FAILED


def test_passes_alone_exit_0() -> None:
    assert result_with(rig.Verdict.PASS).exit_code == ExitCode.OK
