"""Options as plugins add and read them: where each value comes from, what --print-config and
--help show, what rig says about a missing, invalid, unknown or clashing option, and that a
secret's value never appears in any message."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, make_plugin

PATH = "PATH"  # stands for the config file's path in expected lines


def _token(text: str) -> str:
    if not text.startswith("tok-"):
        raise ValueError("must start with tok-")
    return text


def _picky(text: str) -> str:
    raise ValueError  # no reason given


def _acme_options(parser: rig.OptionParser) -> None:
    """The options of the test plugin ``acme``: the plugin's own group through
    ``parser.addoption``, another group through ``getgroup``."""
    parser.addoption("--acme-count", type=rig.types.positive_int, metavar="N",
                     help="how many")
    parser.addoption("--acme-token", secret=True, type=_token, help="API token")
    parser.addoption("--acme-only-here", setting=False, help="command line only")
    extra = parser.getgroup("acme extras", "more acme settings")
    extra.addoption("--acme-db", dest="acme_target_database", help="database to check")
    extra.addoption("--acme-limit", type=rig.types.positive_int, metavar="N")
    extra.addoption("--acme-tags", action="append", default=[])
    extra.addoption("--acme-ghost", default=argparse.SUPPRESS)
    extra.addoption("--acme-picky", type=_picky)


def acme(**hooks: Any) -> list[tuple[str, Any]]:
    return [("acme", make_plugin(rig_addoption=_acme_options, **hooks))]


def effective(stdout: str, prefix: str = "") -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(prefix)]


def error_lines(stderr: str, level: str = "ERROR  ") -> list[str]:
    marker = f" {level} - - "
    return [line.split(marker, 1)[1] for line in stderr.splitlines() if marker in line]


# --- reading options in a plugin -----------------------------------------------------------------

def test_a_plugin_reads_its_options_values_sources_and_infos(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("[acme]\nlimit = 9\n")
    seen: dict[str, Any] = {}

    def rig_configure(config: rig.Config) -> None:
        seen["require"] = [config.require("acme_count"), config.require("acme-count")]
        seen["getoption"] = [config.getoption("--acme-count"), config.getoption("acme-count"),
                             config.getoption("acme_limit"), config.getoption("nope", 5)]
        seen["source"] = [config.source("acme-count"), config.source("acme_token"),
                          config.source("acme-limit"), config.source("acme_db"),
                          config.source("nope")]
        seen["info"] = config.option_infos()["acme_target_database"]
        seen["environ"] = config.environ.get("RIG_ACME_TOKEN")
        seen["config_file"] = config.config_file
        seen["selected"] = list(config.selected_plugins)

    run = rig_runner.run_on_server("--plugin", "acme", "--acme-count", "3",
                                   env={"RIG_ACME_TOKEN": "tok-1"},
                                   plugins=acme(rig_configure=rig_configure))
    assert run.exit_code == 0, run.stderr
    assert seen["require"] == [3, 3]
    assert seen["getoption"] == [3, 3, 9, 5]
    assert seen["source"] == ["command line", "env RIG_ACME_TOKEN",
                              f"config {tmp_path / 'rig.toml'}", "default", "default"]
    assert seen["info"] == rig.config.parser.OptionInfo(
        dest="acme_target_database", flags=("--acme-db",), owner="acme", secret=False,
        setting=True, metavar="VALUE")
    assert seen["environ"] == "tok-1"  # the run's environment, not the process's
    assert seen["config_file"] == tmp_path / "rig.toml"
    assert seen["selected"] == ["acme"]


def test_require_and_invalid_say_which_option_and_how_to_set_it(rig_runner: RigRunner) -> None:
    said: dict[str, str] = {}

    def rig_configure(config: rig.Config) -> None:
        for name in ("acme_target_database", "acme-target-database", "acme_limit",
                     "acme_only_here", "no_such_option"):
            try:
                config.require(name)
            except rig.ConfigError as exc:
                said[f"require {name}"] = str(exc)
        for name, reason in (("acme_token", "expired"), ("acme-count", "too many"),
                             ("acme_target_database", "name one"), ("no_such_option", "give it"),
                             ("acme_only_here", "say where")):
            said[f"invalid {name}"] = str(config.invalid(name, reason))

    run = rig_runner.run_on_server("--plugin", "acme", "--acme-count", "3",
                                   env={"RIG_ACME_TOKEN": "tok-S3cret"},
                                   plugins=acme(rig_configure=rig_configure), report=False)
    assert run.exit_code == 0, run.stderr
    assert said == {
        "require acme_target_database": "argument --acme-db is required by plugin acme: give "
        "--acme-db VALUE, set RIG_ACME_DB, or acme-db = ... in rig.toml",
        "require acme-target-database": "argument --acme-db is required by plugin acme: give "
        "--acme-db VALUE, set RIG_ACME_DB, or acme-db = ... in rig.toml",
        "require acme_limit": "argument --acme-limit is required by plugin acme: give "
        "--acme-limit N, set RIG_ACME_LIMIT, or acme-limit = ... in rig.toml",
        "require acme_only_here": "argument --acme-only-here is required by plugin acme: give "
        "--acme-only-here",
        "require no_such_option": "argument --no-such-option is required: give "
        "--no-such-option",
        "invalid acme_token": "argument --acme-token: invalid value ***: expired (from env "
        "RIG_ACME_TOKEN)",
        "invalid acme-count": "argument --acme-count: invalid value 3: too many (from command "
        "line)",
        "invalid acme_target_database": "argument --acme-db: not set: name one: give --acme-db "
        "VALUE, set RIG_ACME_DB, or acme-db = ... in rig.toml",
        "invalid no_such_option": "argument --no-such-option: not set: give it: give "
        "--no-such-option",
        "invalid acme_only_here": "argument --acme-only-here: not set: say where: give "
        "--acme-only-here",
    }
    assert "S3cret" not in run.output


# --- what --print-config shows -------------------------------------------------------------------

def test_print_config_lists_every_setting_in_name_order_with_its_source(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text("[acme]\ncount = 4\n")
    run = rig_runner.run("--print-config", "--acme-tags", "a", "--acme-tags", "b",
                         "--keep-tables", "--plugin", "basic", "--plugin", "isolation",
                         env={"RIG_ACME_TOKEN": "tok-S3cret", "RIG_ACME_ONLY_HERE": "x"},
                         plugins=acme(), report=False)
    assert run.exit_code == 0, run.stderr
    assert effective(run.stdout, "acme-") == [
        f"acme-count = 4  # config {path}",
        "acme-db = (none)  # default",
        "acme-ghost = (none)  # default",
        "acme-limit = (none)  # default",
        "acme-picky = (none)  # default",
        "acme-tags = a, b  # command line",
        "acme-token = ***  # env RIG_ACME_TOKEN",
    ]  # not acme-only-here: it is no setting
    assert "keep-tables = true  # command line" in run.stdout
    assert "password = (none)  # default" in run.stdout
    assert "plugin = basic, isolation  # command line" in run.stdout
    names = [line.split(" = ")[0] for line in run.stdout.splitlines()]
    assert names == sorted(names)
    assert "S3cret" not in run.output
    empty = rig_runner.run("--print-config", plugins=acme(), report=False)
    assert "acme-tags = (none)  # default" in empty.stdout


def test_a_command_line_only_option_takes_no_variable_and_no_config_key(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text('acme-only-here = "x"\n')
    seen: list[Any] = []
    run = rig_runner.run_on_server(
        "--plugin", "acme", env={"RIG_ACME_ONLY_HERE": "y"},
        plugins=acme(rig_configure=lambda config: seen.append(config.getoption("acme_only_here"))))
    assert run.exit_code == 0, run.stderr
    assert seen == [None]
    assert error_lines(run.stderr, "WARNING") == [
        f"unknown key 'acme-only-here' in config file {path}"]


def test_config_tables_take_keys_with_and_without_the_plugins_prefix(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    folder = tmp_path / "odd|dir"  # a legal name; the source keeps all of it
    folder.mkdir()
    path = folder / "rig.toml"
    path.write_text("[python_demo]\nrows = 7\n[acme]\nacme-limit = 2\ncount = 3\n"
                    "[nosuchplugin]\nx = 1\n")
    run = rig_runner.run("--print-config", "--config", str(path), plugins=acme(), report=False)
    assert run.exit_code == 0, run.stderr
    assert f"python-demo-rows = 7  # config {path}" in run.stdout
    assert f"acme-limit = 2  # config {path}" in run.stdout
    assert f"acme-count = 3  # config {path}" in run.stdout
    assert error_lines(run.stderr, "WARNING") == [
        f"unknown table [nosuchplugin] in config file {path}: no plugin of that name is loaded",
        f"unknown key '[nosuchplugin] x' in config file {path}"][::-1]


def test_bootstrap_options_come_from_the_config_file_too(rig_runner: RigRunner,
                                                         tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text('disable-plugin = ["basic"]\n')
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert run.report is not None and run.report["plugins"] == []  # basic never loaded
    assert "pip install rig-plugin-basic" in run.stdout


# --- secrets never shown -------------------------------------------------------------------------

SECRET = "pw-S3cret"


@pytest.mark.parametrize(("args", "env", "file_text"), [
    (["--connections", "1", "--password", SECRET, "--retry-attempts", "1", SECRET], {}, None),
    (["-q", SECRET, "--password", SECRET], {}, None),
    (["--password=" + SECRET, SECRET], {}, None),
    (["-q", SECRET], {"RIG_PASSWORD": SECRET}, None),
    (["-q", SECRET], {}, f'password = "{SECRET}"\n'),
    (["-q", SECRET], {}, f'[common]\npassword = "{SECRET}"\n'),
    (["--password", "zz-pw", "a-zz-pw"], {"RIG_PASSWORD": "a-zz-pw"}, None),
], ids=["after-flag", "after-flag-last", "flag=value", "env", "config-file", "config-table",
        "longest-first"])
def test_a_secret_never_appears_in_an_error(
        rig_runner: RigRunner, tmp_path: Path, args: list[str], env: dict[str, str],
        file_text: str | None) -> None:
    if file_text is not None:
        (tmp_path / "rig.toml").write_text(file_text)
    run = rig_runner.run(*args, env=env, report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: unrecognized arguments: ***: see rig --help\n"


def test_a_secret_in_a_config_list_is_never_shown(rig_runner: RigRunner,
                                                   tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text(f'password = ["{SECRET}", "other-S3cret"]\n')
    run = rig_runner.run("-q", SECRET, "other-S3cret", report=False)
    assert run.exit_code == 4
    assert "S3cret" not in run.output


def test_a_password_flag_without_value_at_the_end_with_an_unknown_argument(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run("--bogus", "--password", report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: unrecognized arguments: --bogus: see rig --help\n"


@pytest.mark.parametrize("value", ["-ZzS3cret", "-DashS3cret", "--S3cret", "-vS3cret"])
@pytest.mark.parametrize("option", ["--password", "--acme-token"])
def test_a_secret_value_that_looks_like_an_option_is_refused_unseen(
        rig_runner: RigRunner, option: str, value: str) -> None:
    """``--password -DashS3cret`` would be a prompt and ``-D ashS3cret``: the rest of the
    password in the database name, --print-config and the report. Refused, never echoed."""
    run = rig_runner.run("--print-config", option, value, plugins=acme(), report=False)
    assert run.exit_code == 4
    assert run.stdout == ""
    assert run.stderr == f"rig: error: {option} is followed by an argument that starts with " \
        f"'-' and is no option: write a value that starts with '-' as {option}=VALUE\n"


@pytest.mark.parametrize("value", ["-DashS3cret", "--S3cret"])
def test_a_secret_value_that_starts_with_a_dash_is_taken_after_equals(
        rig_runner: RigRunner, value: str) -> None:
    run = rig_runner.run("--print-config", f"--password={value}", report=False)
    assert run.exit_code == 0, run.stderr
    assert effective(run.stdout, "password ") == ["password = ***  # command line"]
    assert effective(run.stdout, "database ") == ["database = (none)  # default"]
    assert "S3cret" not in run.output


def test_password_alone_before_another_option_still_prompts(rig_runner: RigRunner) -> None:
    """``--password -D db``: -D is an option, so --password has no value (prompt)."""
    run = rig_runner.run("--password", "-D", "somedb", "--print-config", report=False)
    assert run.exit_code == 0, run.stderr
    assert effective(run.stdout, "database ") == ["database = somedb  # command line"]


@pytest.mark.parametrize("args", [["-Dthedb"], ["-D", "thedb"], ["--database=thedb"],
                                  ["--database", "thedb"]])
def test_an_attached_short_option_value_comes_from_the_command_line(
        rig_runner: RigRunner, args: list[str]) -> None:
    run = rig_runner.run("--print-config", *args, report=False)
    assert run.exit_code == 0, run.stderr
    assert effective(run.stdout, "database ") == ["database = thedb  # command line"]


def test_a_secret_plugin_option_with_a_bad_value_is_masked(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--print-config", "--acme-token", "S3cret-nope", plugins=acme(),
                         report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: argument --acme-token: invalid value ***: must start " \
        "with tok- (from command line)\n"


def test_a_type_that_gives_no_reason(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--print-config", "--acme-picky", "x", plugins=acme(), report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: argument --acme-picky: invalid value 'x': not accepted " \
        "(from command line)\n"


# --- unknown and malformed arguments -------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--conections", "2"], "unrecognized arguments: --conections 2: did you mean --connections?"),
    (["--conections=1234567890"],
     "unrecognized arguments: --conections=1234567890: did you mean --connections?"),
    (["--keep"], "unrecognized arguments: --keep: see rig --help"),  # no abbreviations
    (["--config"], "argument -c/--config: expected one argument (from command line)"),
    (["-p", "basic"], "-p basic: -p takes no:NAME to disable a plugin: to run a plugin use "
     "--plugin NAME"),
    (["-p", "no:"], "-p no:: -p takes no:NAME to disable a plugin: to run a plugin use "
     "--plugin NAME"),
])
def test_a_bad_argument_is_one_line_saying_what_to_do(rig_runner: RigRunner, args: list[str],
                                                      message: str) -> None:
    run = rig_runner.run("--print-config", *args, report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: {message}\n"


def test_a_one_letter_plugin_name_can_be_disabled(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--print-config", "-p", "no:x", report=False)
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr, "WARNING") == [
        "-p no:x / --disable-plugin x: no such plugin is installed"]


# --- clashes and broken options ------------------------------------------------------------------

@pytest.mark.parametrize(("name", "flags", "kwargs", "cause"), [
    ("my_plugin", ("-u", "--my-plugin-user"), {},
     "plugin my_plugin cannot add option -u/--my-plugin-user: plugin common already added it: "
     "prefix my_plugin's options with its name (--my-plugin-…), as the plugin guide's naming "
     "rule says"),
    ("loud", ("--verbose",), {},
     "plugin loud cannot add option --verbose: plugin rig already added it: prefix loud's "
     "options with its name (--loud-…), as the plugin guide's naming rule says"),
    ("aaa", ("--keep-tables",), {},  # the built-ins' options come first, whatever the names
     "plugin aaa cannot add option --keep-tables: plugin common already added it: prefix aaa's "
     "options with its name (--aaa-…), as the plugin guide's naming rule says"),
    ("odd", ("--odd-x", "--odd-y"), {"action": "bogus"},
     "plugin odd cannot add option --odd-x/--odd-y: unknown action \"bogus\": check its "
     "add_argument arguments"),
])
def test_an_option_a_plugin_cannot_add_costs_it_one_line(
        rig_runner: RigRunner, name: str, flags: tuple[str, ...], kwargs: dict[str, Any],
        cause: str) -> None:
    plugin = make_plugin(rig_addoption=lambda parser: parser.addoption(*flags, **kwargs))
    run = rig_runner.run("--print-config", plugins=[(name, plugin)], report=False)
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr) == [
        f"plugin {name!r} failed to load: {cause}; fix: disable it with -p no:{name}"]


def test_a_plugin_options_get_the_plugin_manager(rig_runner: RigRunner) -> None:
    def rig_addoption(parser: rig.OptionParser, pluginmanager: Any) -> None:
        if pluginmanager.has_plugin("common"):
            parser.addoption("--pm-seen", action="store_true")

    run = rig_runner.run("--print-config", plugins=[("pm", make_plugin(
        rig_addoption=rig_addoption))], report=False)
    assert run.exit_code == 0, run.stderr
    assert "pm-seen = false  # default" in run.stdout


def test_verbose_shows_the_traceback_of_a_plugins_failing_addoption(
        rig_runner: RigRunner) -> None:
    def rig_addoption(parser: rig.OptionParser) -> None:
        raise KeyError("no options today")

    run = rig_runner.run("--print-config", "-v", plugins=[("faulty", make_plugin(
        rig_addoption=rig_addoption))], report=False)
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr) == [
        "plugin 'faulty' failed to load: rig_addoption raised KeyError: 'no options today'; "
        "fix: disable it with -p no:faulty"]
    assert "traceback of plugin faulty\nTraceback (most recent call last):" in run.stderr


def test_a_config_built_without_an_environment_reads_the_processes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import pluggy

    from rig.config.parser import OptionParser

    monkeypatch.setenv("RIG_ACME_PROBE", "from the process")
    parser = OptionParser()
    config = rig.Config(parser.parse([], {}), parser, pluginmanager=pluggy.PluginManager("rig"),
                        terminal=rig.Terminal(io.StringIO(), io.StringIO()))
    assert config.environ["RIG_ACME_PROBE"] == "from the process"
    assert config.config_file is None
    assert config.selected_plugins == []


# --- help ----------------------------------------------------------------------------------------

def test_help_shows_usage_description_groups_epilog_and_commands(rig_runner: RigRunner) -> None:
    from rig.session.bootstrap import HELP_DESCRIPTION, HELP_EPILOG, HELP_USAGE

    run = rig_runner.run("--help", plugins=acme(), report=False)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"usage: {HELP_USAGE}\n\n{HELP_DESCRIPTION}\n\n")
    assert "\nacme:\n  --acme-count N " in run.stdout
    assert "\nacme extras:\n  more acme settings\n\n  --acme-db ACME_TARGET_DATABASE" \
        in run.stdout
    assert f"\n{HELP_EPILOG}\n\ncommands:\n  plugins             list, create, install and " \
        "uninstall plugins (rig plugins -h)\n" in run.stdout


def test_help_with_a_config_file_has_no_paragraph_of_configargparse(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("basic-ping-count = 3\n")
    run = rig_runner.run("--help", report=False)
    assert run.exit_code == 0, run.stderr
    assert "can also be set in a config file" not in run.stdout
    assert "rig --print-config shows\n  each value and its source." in run.stdout


# --- numbers: the whole class of out-of-range and non-finite values -----------------------------

HUGE = "9" * 20


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "argument -P/--port: invalid value '70000': must be a whole number "
     "from 1 to 65535"),
    (["--port", "0"], "argument -P/--port: invalid value '0': must be a whole number "
     "from 1 to 65535"),
    (["--connections", HUGE], f"argument --connections: invalid value '{HUGE}': must be a "
     "whole number from 1 to 10000"),
    (["--basic-ping-count", HUGE], f"argument --basic-ping-count: invalid value '{HUGE}': must "
     "be a whole number from 1 to 1000000"),
    (["--retry-attempts", HUGE], f"argument --retry-attempts: invalid value '{HUGE}': must be "
     "at most 2147483647"),
    (["--connect-timeout", "nan"], "argument --connect-timeout: invalid value 'nan': must be a "
     "finite number"),
    (["--connect-timeout", "inf"], "argument --connect-timeout: invalid value 'inf': must be a "
     "finite number"),
    (["--connect-timeout", "1e400"], "argument --connect-timeout: invalid value '1e400': must "
     "be a finite number"),
    (["--retry-max-time", "1e300"], "argument --retry-max-time: invalid value '1e300': must be "
     "at most 1000000000"),
    (["--load-table-size", "2147483648"], "argument --load-table-size: invalid value "
     "'2147483648': must be at most 2147483647"),  # what load's INTEGER id column holds
    (["--load-duration", "1e400"], "argument --load-duration: invalid value '1e400': must be "
     "a finite number"),
    (["--load-rate", "nan"], "argument --load-rate: invalid value 'nan': must be a finite "
     "number"),
    (["--breaker-cooldown=-inf"], "argument --breaker-cooldown: invalid value '-inf': must "
     "be a finite number"),
], ids=lambda value: value[0] if isinstance(value, list) else None)
def test_numbers_out_of_range_or_not_finite_are_one_usage_line(
        rig_runner: RigRunner, args: list[str], message: str) -> None:
    run = rig_runner.run("--print-config", *args, report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: {message} (from command line)\n"


@pytest.mark.parametrize(("text", "reason"), [
    ("nan", "must be a finite number"), ("inf", "must be a finite number"),
    ("1e400", "must be a finite number"), ("2e9", "must be at most 1000000000"),
])
def test_every_float_type_refuses_what_is_not_a_usable_number(text: str, reason: str) -> None:
    for convert in (rig.types.positive_float, rig.types.non_negative_float):
        with pytest.raises(ValueError, match=f"^{reason}$"):
            convert(text)


def test_a_number_from_the_config_file_is_checked_the_same(rig_runner: RigRunner,
                                                         tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("connect-timeout = inf\nport = 70000\n")
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 4
    assert run.stderr.startswith("rig: error: argument ")
    assert f"(from config {tmp_path / 'rig.toml'})" in run.stderr


def test_int_range_names_its_bounds() -> None:
    percent = rig.types.int_range(0, 100)
    assert (percent("0"), percent("100")) == (0, 100)
    for bad in ("-1", "101", HUGE):
        with pytest.raises(ValueError, match=r"^must be a whole number from 0 to 100$"):
            percent(bad)
    with pytest.raises(ValueError, match=r"^must be a whole number$"):
        percent("1.5")


@pytest.mark.parametrize(("value", "reason"), [
    ("[::1", "the ] closing the IPv6 address is missing"),
    ("[::1]4000", "after ] comes :PORT or nothing"),
    ("[]:4000", "the host name is empty"),
    ("db:70000", "port '70000' is not a number from 1 to 65535"),
    ("db:x", "port 'x' is not a number from 1 to 65535"),
    (":4000", "the host name is empty"),
])
def test_a_malformed_host_is_one_usage_line(rig_runner: RigRunner, value: str,
                                            reason: str) -> None:
    run = rig_runner.run("--print-config", f"--host={value}", report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: argument --host: invalid value {value!r}: {reason} " \
        "(from command line)\n"


# --- names rig puts in SQL: refused before connecting when no server could store them ----------

@pytest.mark.parametrize(("value", "reason"), [
    ("", "give a database name"),
    ("  ", "give a database name"),
    (" db", "a database name cannot start or end with a space"),
    ("db ", "a database name cannot start or end with a space"),
    ("d\x00b", "holds a control character (\\x00): remove it"),
    ("d\nb", "holds a control character (\\n): remove it"),
    ("d\x85b", "a database name cannot hold control characters (\\x85)"),
    ("db\U0001F600", "a database name cannot hold characters beyond U+FFFF (such as emoji): "
     "servers store names in 3-byte UTF-8"),
    ("d" * 65, "a database name has at most 64 characters"),
])
def test_a_name_no_server_can_store_is_one_usage_line(rig_runner: RigRunner, value: str,
                                                      reason: str) -> None:
    run = rig_runner.run("--print-config", f"--database={value}", report=False)
    assert run.exit_code == 4
    assert run.stderr == f"rig: error: argument -D/--database: invalid value " \
        f"{value!r}: {reason} (from command line)\n"


def test_a_name_in_the_config_file_is_checked_the_same(rig_runner: RigRunner,
                                                      tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text('database = "a\\u0000b"\n')
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 4
    assert "holds a control character (\\x00): remove it" in run.stderr
    assert f"(from config {tmp_path / 'rig.toml'})" in run.stderr


def test_names_with_quotes_percent_and_unicode_are_accepted_as_they_are(
        rig_runner: RigRunner) -> None:
    for value in ("odd `name`; x", "50%_off", "Ünïcødé 数据库", "a'b\"c"):
        run = rig_runner.run("--print-config", f"--database={value}", report=False)
        assert run.exit_code == 0, run.stderr
        assert effective(run.stdout, "database ") == [f"database = {value}  # command line"]


@pytest.mark.parametrize(("key", "shown"), [
    ("user", "'ro\\x00ot'"), ("host", "'127.0.0.1\\x00:3306'"), ("password", "***"),
    ("python-demo-table", "'t\\x00'"), ("report-json", "'r\\x00.json'"),
])
def test_a_control_character_in_any_value_is_one_usage_line(
        rig_runner: RigRunner, tmp_path: Path, key: str, shown: str) -> None:
    """A NUL from a config file (TOML allows \\u0000) would be cut off or refused deep down;
    every option refuses it, and a secret's value is still not shown."""
    value = {"user": "ro\\u0000ot", "host": "127.0.0.1\\u0000:3306", "password": "pw\\u0000x",
             "python-demo-table": "t\\u0000", "report-json": "r\\u0000.json"}[key]
    (tmp_path / "rig.toml").write_text(f'{key} = "{value}"\n')
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 4
    assert f"invalid value {shown}: holds a control character (\\x00): remove it (from config " \
        f"{tmp_path / 'rig.toml'})" in run.stderr, run.stderr
    assert "pw" not in run.stderr
