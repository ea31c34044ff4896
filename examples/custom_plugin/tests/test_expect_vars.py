"""Tests of expect_vars against a real server, with rig's test kit (``rig_runner``).

``rig_runner.run_on_server(ARGS)`` runs ``rig ARGS`` in-process against the test server (a
throwaway one, or ``RIG_TEST_DSN``); the plugin object is registered in-process.
"""

from __future__ import annotations

import rig_expect_vars

from rig.testing import RigRunner

PLUGINS = [("expect_vars", rig_expect_vars)]


def test_a_matching_variable_passes(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "expect_vars",
                                   "--expect-vars-var", "autocommit=on", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.section("expect_vars") == {"c1": {"autocommit": "ON"}}


def test_a_different_value_fails(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "expect_vars",
                                   "--expect-vars-var", "autocommit=OFF",
                                   "--expect-vars-var", "no_such_variable=1", plugins=PLUGINS)
    assert run.exit_code == 1
    assert "autocommit = ON, expected OFF" in run.stdout
    assert "the server has no variable no_such_variable" in run.stdout


def test_bad_input_is_a_usage_error(rig_runner: RigRunner) -> None:
    malformed = rig_runner.run_on_server("--plugin", "expect_vars",
                                         "--expect-vars-var", "autocommit", plugins=PLUGINS)
    assert malformed.exit_code == 4
    assert ("rig: error: argument --expect-vars-var: invalid value 'autocommit': must look "
            "like NAME=VALUE") in malformed.stderr
    missing = rig_runner.run_on_server("--plugin", "expect_vars", plugins=PLUGINS)
    assert missing.exit_code == 4
    assert ("rig: error: argument --expect-vars-var is required by plugin expect_vars: give "
            "--expect-vars-var NAME=VALUE, set RIG_EXPECT_VARS_VAR, or expect-vars-var = ... in "
            "rig.toml") in missing.stderr
