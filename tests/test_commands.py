"""Subcommands plugins add with ``rig_register_commands``: ``rig NAME ARGS...``."""

from __future__ import annotations

from typing import Any

import rig
from rig.testing import RigRunner, make_plugin


def check_command(invocation: rig.Invocation) -> int:
    parser = rig.ArgumentParser("rig consistency", description="check a history file")
    parser.add_argument("file")
    parser.add_argument("--strict", action="store_true")
    options = parser.parse(invocation)
    if options is None:
        return 0
    invocation.terminal.line(f"checked {options.file} (strict: {options.strict})")
    return 1 if options.strict else 0


def adds(name: str, run: Any) -> Any:
    return make_plugin(rig_register_commands=lambda commands: commands.add(
        name, run, help="check a history"))


def test_a_plugin_command_runs_with_its_arguments_and_exit_code(rig_runner: RigRunner) -> None:
    plugin = [("consistency", adds("consistency", check_command))]
    run = rig_runner.run("consistency", "history.edn", plugins=plugin, report=False)
    assert (run.exit_code, run.stdout) == (0, "checked history.edn (strict: False)\n")
    strict = rig_runner.run("consistency", "history.edn", "--strict", plugins=plugin,
                            report=False)
    assert strict.exit_code == 1


def test_a_bad_argument_to_a_command_is_one_usage_line(rig_runner: RigRunner) -> None:
    run = rig_runner.run("consistency", plugins=[("consistency",
                                                  adds("consistency", check_command))],
                         report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: rig consistency: the following arguments are required: " \
        "file: see rig consistency --help\n"


def test_a_bad_rig_option_after_a_command_is_one_usage_line(rig_runner: RigRunner) -> None:
    """rig's own options (-v, -p, --config) reach a command too; a mistake in them is rig's."""
    run = rig_runner.run("consistency", "history.edn", "-vx", plugins=[
        ("consistency", adds("consistency", check_command))], report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: argument -v/--verbose: ignored explicit argument 'x' " \
        "(from command line)\n"


def test_command_help_and_rig_help_list_commands(rig_runner: RigRunner) -> None:
    plugin = [("consistency", adds("consistency", check_command))]
    own = rig_runner.run("consistency", "--help", plugins=plugin, report=False)
    assert own.exit_code == 0 and own.stdout.startswith("usage: rig consistency")
    main = rig_runner.run("--help", plugins=plugin, report=False)
    assert "commands:\n  plugins " in main.stdout
    assert "  consistency         check a history (consistency)" in main.stdout


def test_an_unknown_command_is_a_usage_error_listing_the_commands(rig_runner: RigRunner) -> None:
    run = rig_runner.run("consistensy", "x", plugins=[("consistency",
                                                      adds("consistency", check_command))],
                         report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: unknown command 'consistensy'; commands: plugins, " \
        "consistency: options start with - (see rig --help)\n"


def test_a_command_that_raises_names_plugin_and_command(rig_runner: RigRunner) -> None:
    def broken(invocation: rig.Invocation) -> int:
        raise KeyError("missing")

    run = rig_runner.run("broken", plugins=[("breaker", adds("broken", broken))], report=False)
    assert run.exit_code == 3
    assert run.stderr.startswith("rig: error: plugin 'breaker' failed in command 'broken': "
                                 "KeyError: 'missing' (at ")
    assert "Traceback" not in run.stderr


def test_command_name_clashes_cost_the_later_plugin_its_command(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--help", report=False,
                         plugins=[("mine", adds("plugins", check_command))])
    assert run.exit_code == 0
    assert "plugin mine cannot add the command 'plugins': it is rig's own" in run.stderr
    both = [("one", adds("check", check_command)), ("two", adds("check", check_command))]
    clash = rig_runner.run("check", "f", plugins=both, report=False)
    assert clash.exit_code == 0
    assert "plugin 'two' failed in rig_register_commands: command 'check' is added by both one " \
        "and two: name commands after their plugin" in clash.stderr


def test_a_commands_typed_argument_shows_the_reason(rig_runner: RigRunner) -> None:
    def counted(invocation: rig.Invocation) -> int:
        parser = rig.ArgumentParser("rig counted")
        parser.add_argument("--count", type=rig.types.positive_int)
        parser.parse(invocation)
        return 0

    run = rig_runner.run("counted", "--count", "0", plugins=[("c", adds("counted", counted))],
                         report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: rig counted: argument --count: invalid value '0': must be " \
        "a whole number of at least 1: see rig counted --help\n"


def test_rigs_own_options_after_a_command_are_rigs_and_the_command_gets_the_rest(
        rig_runner: RigRunner) -> None:
    """``rig consistency check FILE -v`` (errors say "run with -v for the traceback")."""
    plugin = [("consistency", adds("consistency", check_command))]
    run = rig_runner.run("consistency", "-v", "history.edn", "--color", "no", "--strict",
                         "-q", plugins=plugin, report=False)
    assert (run.exit_code, run.stdout) == (1, "checked history.edn (strict: True)\n")


def test_a_command_that_raises_shows_its_traceback_with_v(rig_runner: RigRunner) -> None:
    def broken(invocation: rig.Invocation) -> int:
        raise KeyError("missing")

    run = rig_runner.run("broken", "-v", plugins=[("breaker", adds("broken", broken))],
                         report=False)
    assert run.exit_code == 3
    assert "Traceback" in run.stderr and "KeyError: 'missing'" in run.stderr
