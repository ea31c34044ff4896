"""Precedence command line > environment > config file > default, for a core option and for a
plugin's option; sources in --print-config; bad values and files from every source."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig.testing import RigRunner


def effective(run_stdout: str, name: str) -> str:
    """The ``name = value  # source`` line of --print-config."""
    lines = [line for line in run_stdout.splitlines() if line.startswith(f"{name} = ")]
    assert len(lines) == 1, run_stdout
    return lines[0]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text('connect-timeout = 7\nbasic-ping-count = 7\n')
    return path


@pytest.mark.parametrize(
    ("args", "env", "use_file", "timeout_line", "ping_line"),
    [
        ([], {}, False, "connect-timeout = 10.0  # default", "basic-ping-count = 10  # default"),
        ([], {}, True, "connect-timeout = 7.0  # config {file}",
         "basic-ping-count = 7  # config {file}"),
        ([], {"RIG_CONNECT_TIMEOUT": "8", "RIG_BASIC_PING_COUNT": "8"}, True,
         "connect-timeout = 8.0  # env RIG_CONNECT_TIMEOUT",
         "basic-ping-count = 8  # env RIG_BASIC_PING_COUNT"),
        (["--connect-timeout", "9", "--basic-ping-count", "9"],
         {"RIG_CONNECT_TIMEOUT": "8", "RIG_BASIC_PING_COUNT": "8"}, True,
         "connect-timeout = 9.0  # command line", "basic-ping-count = 9  # command line"),
    ],
    ids=["default", "config-file", "env-over-file", "cli-over-env"],
)
def test_precedence_for_core_and_plugin_options(
        rig_runner: RigRunner, config_file: Path, args: list[str], env: dict[str, str],
        use_file: bool, timeout_line: str, ping_line: str) -> None:
    if not use_file:
        config_file.unlink()
    run = rig_runner.run_on_server("--print-config", *args, env=env, report=False)
    assert run.exit_code == 0, run.stderr
    assert effective(run.stdout, "connect-timeout") == timeout_line.format(file=config_file)
    assert effective(run.stdout, "basic-ping-count") == ping_line.format(file=config_file)


@pytest.mark.parametrize(("source", "expected"), [
    ("file", 7), ("env", 8), ("cli", 9),
])
def test_ping_count_from_each_source_is_what_runs(
        rig_runner: RigRunner, config_file: Path, source: str, expected: int) -> None:
    env = {"RIG_BASIC_PING_COUNT": "8"} if source in ("env", "cli") else {}
    args = ["--basic-ping-count", "9"] if source == "cli" else []
    run = rig_runner.run_on_server(*args, env=env)
    assert run.exit_code == 0, run.stderr
    assert run.section("basic")["c1"]["latency_ms"]["count"] == expected


def test_plugin_option_in_a_table_named_after_the_plugin(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("[basic]\nping_count = 3\n")
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert run.section("basic")["c1"]["latency_ms"]["count"] == 3


def test_explicit_config_option_and_user_config_dir(rig_runner: RigRunner, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("basic-ping-count = 4\n")
    run = rig_runner.run_on_server("--print-config", "--config", str(other), report=False)
    assert effective(run.stdout, "basic-ping-count") == f"basic-ping-count = 4  # config {other}"

    user_dir = tmp_path / "xdg" / "rig"
    user_dir.mkdir(parents=True)
    (user_dir / "rig.toml").write_text("basic-ping-count = 5\n")
    run = rig_runner.run_on_server("--print-config", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                         report=False)
    assert effective(run.stdout, "basic-ping-count").startswith("basic-ping-count = 5  # config ")


def test_password_is_masked_in_print_config(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--print-config", env={"RIG_PASSWORD": "hunter2-secret"},
                                   report=False)
    assert effective(run.stdout, "password") == "password = ***  # env RIG_PASSWORD"
    assert "hunter2-secret" not in run.output


def test_repeatable_plugin_option_from_env(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--print-config", env={"RIG_PLUGIN": "basic"}, report=False)
    assert effective(run.stdout, "plugin") == "plugin = basic  # env RIG_PLUGIN"


@pytest.mark.parametrize(("args", "env", "file_text", "message"), [
    (["--basic-ping-count", "abc"], {}, None,
     "argument --basic-ping-count: invalid value 'abc': must be a whole number "
     "(from command line)"),
    ([], {"RIG_BASIC_PING_COUNT": "0"}, None,
     "argument --basic-ping-count: invalid value '0': must be a whole number from 1 to "
     "1000000 (from env RIG_BASIC_PING_COUNT)"),
    ([], {}, "basic-ping-count = -2\n",
     "argument --basic-ping-count: invalid value '-2': must be a whole number from 1 to "
     "1000000 (from config {file})"),
    ([], {"RIG_CONNECT_TIMEOUT": "soon"}, None,
     "argument --connect-timeout: invalid value 'soon': must be a number "
     "(from env RIG_CONNECT_TIMEOUT)"),
    (["--ssl-mode", "maybe"], {}, None,
     "argument --ssl-mode: invalid value 'maybe': choose from disabled, preferred, required, "
     "verify-ca, verify-identity (from command line)"),
    (["--host", "db:99999"], {}, None,
     "argument --host: invalid value 'db:99999': port '99999' is not a number from 1 to 65535"),
    (["--ssl-ca", "/no/such/ca.pem"], {}, None,
     "argument --ssl-ca: invalid value '/no/such/ca.pem': no such file (from command line)"),
    (["--log-level", "LOUD"], {}, None, "argument --log-level: invalid value 'LOUD'"),
    (["--bogus-option"], {}, None, "unrecognized arguments: --bogus-option"),
])
def test_invalid_value_exits_4_naming_option_value_and_source(
        rig_runner: RigRunner, tmp_path: Path, args: list[str], env: dict[str, str],
        file_text: str | None, message: str) -> None:
    if file_text is not None:
        (tmp_path / "rig.toml").write_text(file_text)
    run = rig_runner.run_on_server(*args, env=env, report=False)
    assert run.exit_code == 4
    assert message.format(file=tmp_path / "rig.toml") in run.stderr
    assert run.stderr.startswith("rig: error: ")
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.output


def test_config_file_with_syntax_error_exits_4_naming_the_file(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text("basic-ping-count = \n[basic\n")
    run = rig_runner.run_on_server(report=False)
    assert run.exit_code == 4
    assert f"config file {path} is not valid TOML" in run.stderr
    assert "line 1" in run.stderr


def test_missing_explicit_config_file_exits_4(rig_runner: RigRunner, tmp_path: Path) -> None:
    run = rig_runner.run_on_server("--config", str(tmp_path / "absent.toml"), report=False)
    assert run.exit_code == 4
    assert f"config file {tmp_path / 'absent.toml'} not found" in run.stderr


def test_unknown_config_keys_and_tables_are_warned_about(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_text("ping-cuont = 3\n[basic]\nbogus = 1\n[nosuchplugin]\nx = 1\n")
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert f"unknown key 'ping-cuont' in config file {path}" in run.stderr
    assert f"unknown key '[basic] bogus' in config file {path}" in run.stderr
    assert f"unknown table [nosuchplugin] in config file {path}" in run.stderr


def test_print_config_lists_settings_only_with_real_defaults(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 0, run.stderr
    names = [line.split(" = ")[0] for line in run.stdout.splitlines()]
    for command_only in ("help", "version", "p", "print-config", "config"):
        assert command_only not in names
    assert effective(run.stdout, "host") == "host = 127.0.0.1  # default"
    assert effective(run.stdout, "port") == "port = 4000  # default"
    assert effective(run.stdout, "keep-tables") == "keep-tables = false  # default"


def test_command_line_only_options_have_no_environment_variable(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--host", "127.0.0.1:1", "--retry-attempts", "1",
                         env={"RIG_PRINT_CONFIG": "1", "RIG_VERSION": "1", "RIG_HELP": "1"},
                         report=False)
    assert run.exit_code == 5  # it ran: it neither printed its config, nor its version, nor help
    assert run.stdout == ""
    assert "connection refused by 127.0.0.1:1" in run.stderr


def test_a_plugin_table_takes_keys_without_the_plugins_prefix(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("[basic]\nping-count = 3\n[rig]\nconnect-timeout = 6\n")
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 0, run.stderr
    path = tmp_path / "rig.toml"
    assert effective(run.stdout, "basic-ping-count") == f"basic-ping-count = 3  # config {path}"
    assert effective(run.stdout, "connect-timeout") == f"connect-timeout = 6.0  # config {path}"
    assert "unknown" not in run.stderr


def test_a_table_key_wins_over_the_same_top_level_key(rig_runner: RigRunner,
                                                       tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text("basic-ping-count = 4\n[basic]\nping-count = 5\n")
    run = rig_runner.run("--print-config", report=False)
    assert effective(run.stdout, "basic-ping-count").startswith("basic-ping-count = 5  #")


def test_a_secret_options_bad_value_is_never_shown(rig_runner: RigRunner,
                                                   tmp_path: Path) -> None:
    (tmp_path / "rig.toml").write_text('password = ["Top-Secret-1", "x"]\n')
    run = rig_runner.run("--print-config", report=False)
    assert "Top-Secret-1" not in run.output


def test_required_and_unset_options_say_how_to_set_them(rig_runner: RigRunner) -> None:
    import rig
    from rig.testing import make_plugin

    def rig_addoption(parser: rig.OptionParser) -> None:
        parser.getgroup("needy").addoption("--needy-target", help="what to check")

    def rig_configure(config: rig.Config) -> None:
        config.require("needy_target")

    needy = make_plugin(rig_addoption=rig_addoption, rig_configure=rig_configure)
    run = rig_runner.run_on_server("--plugin", "needy", plugins=[("needy", needy)],
                                   report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: argument --needy-target is required by plugin needy: " \
        "give --needy-target VALUE, set RIG_NEEDY_TARGET, or needy-target = ... in rig.toml\n"

    def invalid(config: rig.Config) -> None:
        raise config.invalid("needy_target", "name the table to check")

    unset = make_plugin(rig_addoption=rig_addoption, rig_configure=invalid)
    run = rig_runner.run_on_server("--plugin", "needy", plugins=[("needy", unset)],
                                   report=False)
    assert run.stderr == "rig: error: argument --needy-target: not set: name the table to " \
        "check: give --needy-target VALUE, set RIG_NEEDY_TARGET, or needy-target = ... in " \
        "rig.toml\n"


_OPENED: list[str] = []
_HOOKED: list[bool] = []


def _count_opens(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and args and str(args[0]).endswith("read-once.toml"):
        _OPENED.append(str(args[0]))


def test_the_config_file_is_read_once_per_run(rig_runner: RigRunner, tmp_path: Path) -> None:
    import sys

    path = tmp_path / "read-once.toml"
    path.write_text("[basic]\nping-count = 2\n")
    if not _HOOKED:  # audit hooks cannot be removed: one per process (pytest may run twice)
        sys.addaudithook(_count_opens)
        _HOOKED.append(True)
    _OPENED.clear()
    run = rig_runner.run_on_server("--config", str(path))
    assert run.exit_code == 0, run.stderr
    assert run.section("basic")["c1"]["latency_ms"]["count"] == 2
    opened = list(_OPENED)
    assert opened == [str(path)]


@pytest.mark.parametrize(("text", "message"), [
    ("[basic]\nping-count = [1, 2]\n",
     "config file {file}: [basic] ping-count is a list, but --basic-ping-count takes one value "
     "(N): write one value, without [ ]"),
    ("connect-timeout = []\n",
     "config file {file}: connect-timeout is a list, but --connect-timeout takes one value "
     "(SECONDS): write one value, without [ ]"),
    ("keep-tables = [true]\n",
     "config file {file}: keep-tables is a list, but --keep-tables takes one value (true or "
     "false): write one value, without [ ]"),
    ("keep-tables = 5\n",
     "config file {file}: keep-tables = 5, but --keep-tables is a flag: write keep-tables = "
     "true or keep-tables = false"),
    ("verbose = 'loud'\n",
     "config file {file}: verbose = loud, but --verbose counts: write verbose = a whole number "
     "from 0 to 100"),
    ("[[basic]]\nping-count = 3\n",
     "config file {file}: [[basic]] is an array of tables, which rig does not support: "
     "write [basic]"),
    ("plugin = [{name = 'basic'}]\n",
     "config file {file}: [[plugin]] is an array of tables, which rig does not support: "
     "write [plugin]"),
    ("[basic]\nx = [{a = 1}]\n",
     "config file {file}: [basic] x holds a table inside a list: "
     "write a value or a list of values"),
    ("plugin = [['basic']]\n",
     "config file {file}: plugin holds a list inside a list: write a value or a list of values"),
    ("plugin = ['basic', {a = 1}]\n",
     "config file {file}: plugin holds a table inside a list: "
     "write a value or a list of values"),
    ("host = {name = 'db'}\n",
     "config file {file}: [host] is a table, but --host takes a value: "
     "write host = HOST[:PORT] at the top level"),
    ("[basic.deeper]\nx = 1\n",
     "config file {file}: [basic] deeper is a table nested too deep: options sit at the top "
     "level or in a table named after their plugin"),
], ids=["list-for-number", "empty-list", "list-for-flag", "number-for-flag", "word-for-count",
        "array-of-tables",
        "inline-array-of-tables", "tables-in-a-list", "nested-list", "mixed-list",
        "table-for-value", "nested-table"])
def test_a_config_file_shape_rig_cannot_use_is_one_line(
        rig_runner: RigRunner, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rig.toml"
    path.write_text(text)
    run = rig_runner.run_on_server(report=False)
    assert run.exit_code == 4, run.output
    assert run.stderr == f"rig: error: {message.format(file=path)}\n"


def test_a_config_file_that_is_not_utf8_says_how_to_fix_it(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_bytes(b'user = "caf\xe9"\n')
    run = rig_runner.run_on_server(report=False)
    assert run.exit_code == 4
    assert run.stderr == (f"rig: error: config file {path} is not UTF-8 text (byte 0xe9 at "
                          "offset 11): save it as UTF-8\n")


def test_a_directory_given_as_the_config_file_is_named_so(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    run = rig_runner.run_on_server("--config", str(tmp_path), report=False)
    assert run.exit_code == 4
    assert run.stderr == (f"rig: error: config file {tmp_path} is a directory: give the path "
                          "of a TOML file to --config (or RIG_CONFIG)\n")
