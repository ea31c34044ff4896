"""Tests of expect_vars against a real server, with rig's test kit (``rig_runner``)."""

from __future__ import annotations

import rig_expect_vars

from rig.testing import RigRunner

PLUGINS = [("expect_vars", rig_expect_vars)]


def test_a_matching_variable_passes(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "expect_vars", "--expect-var", "autocommit=on",
                         plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.section("expect_vars") == {"c1": {"autocommit": "ON"}}


def test_a_different_value_fails(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "expect_vars", "--expect-var", "autocommit=OFF",
                         "--expect-var", "no_such_variable=1", plugins=PLUGINS)
    assert run.exit_code == 1
    assert "autocommit = ON, expected OFF" in run.stdout
    assert "the server has no variable no_such_variable" in run.stdout


def test_bad_input_is_a_usage_error(rig_runner: RigRunner) -> None:
    malformed = rig_runner.run("--plugin", "expect_vars", "--expect-var", "autocommit",
                               plugins=PLUGINS)
    assert malformed.exit_code == 4
    assert "must look like NAME=VALUE" in malformed.stderr
    missing = rig_runner.run("--plugin", "expect_vars", plugins=PLUGINS)
    assert missing.exit_code == 4
    assert "give at least one --expect-var NAME=VALUE" in missing.stderr
