"""Plugin discovery, selection, disabling and failure isolation, through real entry points."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import rig
from rig.testing import RigRunner, make_plugin

from fake_distributions import FakeDistributions

EXTRA_PLUGIN = """
    import rig

    def extra_state(ctx):
        ctx.check("extra", "pass", "ran")

    @rig.hookimpl
    def rig_register_states(registry):
        registry.add_state("extra_state", extra_state)
"""


def test_installed_plugin_is_listed_with_distribution_and_version(rig_runner: RigRunner) -> None:
    run = rig_runner.run("plugins", "--json", report=False)
    assert run.exit_code == 0, run.stderr
    listed = {p["name"]: p for p in json.loads(run.stdout)}
    basic = listed["basic"]
    assert basic["distribution"] == "rig-plugin-basic"
    assert basic["version"] == "0.2.0"
    assert basic["status"] == "loaded"
    assert "basic_measuring_latency" in basic["states"]
    assert "--basic-ping-count" in basic["options"]
    assert "rig_addoption" in basic["hooks"]


def test_plugins_text_listing_shows_status_and_contributions(rig_runner: RigRunner) -> None:
    run = rig_runner.run("plugins", report=False)
    assert run.exit_code == 0
    assert "basic  rig-plugin-basic 0.2.0  loaded" in run.stdout
    assert "states:  basic_measuring_latency, basic_inspecting_session" in run.stdout


def test_default_plugin_is_basic(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert [p["name"] for p in run.report["plugins"]] == ["basic"]
    assert "basic" in run.report["sections"]


def test_plugin_selected_by_distribution_name(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "rig-plugin-basic")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert run.report["plugins"][0]["distribution"] == "rig-plugin-basic"


def test_unknown_plugin_exits_4_listing_installed(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "nope", report=False)
    assert run.exit_code == 4
    assert "unknown plugin 'nope'; installed: basic" in run.stderr
    assert "-m pip install" in run.stderr  # says which Python rig runs in
    assert run.stderr.count("\n") == 1


def test_extra_installed_plugin_runs_after_basic(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-extra", "extra", "rig_extra_mod", EXTRA_PLUGIN)
    run = rig_runner.run_on_server("--plugin", "basic,extra")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    names = [s["name"] for s in run.report["connections"][0]["states"]]
    assert names[-3:] == ["basic_inspecting_session", "extra_state", "completed"]
    assert {"name": "extra", "connection": "c1", "plugin": "extra", "verdict": "pass",
            "detail": "ran"} in run.report["checks"]


def test_disabled_plugin_is_never_imported(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path,
        marker_plugin_source) -> None:  # type: ignore[no-untyped-def]
    fake_dists.add("rig-plugin-marker", "marker", "rig_marker_mod",
                   marker_plugin_source("imported.txt"))
    for disable in (["-p", "no:marker"], ["--disable-plugin", "rig-plugin-marker"]):
        run = rig_runner.run_on_server(*disable)
        assert run.exit_code == 0, run.stderr
        assert not (tmp_path / "imported.txt").exists()
    listing = rig_runner.run("plugins", "--json", "-p", "no:marker",
                             report=False)
    status = {p["name"]: p["status"] for p in json.loads(listing.stdout)}
    assert status["marker"] == "disabled"
    assert not (tmp_path / "imported.txt").exists()


def test_selecting_a_disabled_plugin_is_a_usage_error(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "basic", "-p", "no:basic", report=False)
    assert run.exit_code == 4
    assert "plugin 'basic' (rig-plugin-basic 0.2.0) is selected but disabled" in run.stderr


def test_broken_plugin_costs_one_line_and_others_keep_working(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod",
                   "import a_module_that_does_not_exist\n", version="2.3.4")
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if "broken" in line]
    assert len(errors) == 1
    line = errors[0]
    assert "plugin 'broken' (rig-plugin-broken 2.3.4) failed to load" in line
    assert "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in line
    assert "pip install --force-reinstall rig-plugin-broken" in line
    assert "-p no:broken" in line
    assert "Traceback" not in run.stderr

    listing = rig_runner.run("plugins", "--json", report=False)
    broken = {p["name"]: p for p in json.loads(listing.stdout)}["broken"]
    assert broken["status"] == "failed"
    assert "a_module_that_does_not_exist" in broken["error"]


def test_broken_plugin_with_strict_plugins_exits_3(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", "raise RuntimeError('boom')\n")
    run = rig_runner.run_on_server("--strict-plugins", report=False)
    assert run.exit_code == 3
    assert "plugin 'broken' (rig-plugin-broken 0.1.0) failed to load: RuntimeError: boom" \
        in run.stderr


def test_selecting_a_failed_plugin_exits_3(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", "raise RuntimeError('boom')\n")
    run = rig_runner.run_on_server("--plugin", "broken", report=False)
    assert run.exit_code == 3
    assert "is selected but failed to load: RuntimeError: boom" in run.stderr


def test_plugin_with_unknown_hook_is_refused(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-future", "future", "rig_future_mod", """
        import rig

        @rig.hookimpl
        def rig_hook_from_the_future(config):
            pass
    """)
    run = rig_runner.run("plugins", "--json", report=False)
    future = {p["name"]: p for p in json.loads(run.stdout)}["future"]
    assert future["status"] == "failed"
    assert "unknown hook(s) rig_hook_from_the_future" in future["error"]


def test_version_lists_plugins_without_importing_them(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path,
        marker_plugin_source) -> None:  # type: ignore[no-untyped-def]
    fake_dists.add("rig-plugin-marker", "marker", "rig_marker_mod",
                   marker_plugin_source("imported.txt"), version="9.9.9")
    run = rig_runner.run("--version", report=False)
    assert run.exit_code == 0
    assert run.stdout.startswith(f"rig {rig.__version__} (rig-core)")
    assert "  basic  rig-plugin-basic 0.2.0" in run.stdout
    assert "  marker  rig-plugin-marker 9.9.9" in run.stdout
    assert not (tmp_path / "imported.txt").exists()


def test_help_shows_each_plugins_options_in_its_own_group(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--help", report=False)
    assert run.exit_code == 0
    assert "basic:\n  basic plugin: round-trip latency" in run.stdout
    assert "--basic-ping-count N" in run.stdout
    assert "connection:" in run.stdout and "--ssl-mode MODE" in run.stdout


def test_in_process_plugin_object_registers_like_an_installed_one(
        rig_runner: RigRunner) -> None:
    import types

    import rig

    plugin = types.SimpleNamespace()

    def inline(ctx: rig.Context) -> None:
        ctx.check("inline", "pass", "ok")

    @rig.hookimpl
    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("inline", inline)

    plugin.rig_register_states = rig_register_states
    run = rig_runner.run_on_server("--plugin", "inline", plugins=[("inline", plugin)])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert [c["name"] for c in run.report["checks"]] == ["connection", "inline"]


def test_a_plugin_whose_option_clashes_fails_alone(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-clash", "clash", "rig_clash_mod", """
        import rig

        @rig.hookimpl
        def rig_addoption(parser):
            parser.getgroup("clash").addoption("--basic-ping-count", type=int)
    """)
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert "plugin 'clash' (rig-plugin-clash 0.1.0) failed to load: plugin clash cannot add " \
           "option --basic-ping-count: plugin basic already added it: prefix clash's options " \
           "with its name (--clash-…)" in run.stderr
    listing = rig_runner.run("plugins", "--json", report=False)
    assert {p["name"]: p["status"] for p in json.loads(listing.stdout)}["clash"] == "failed"


def test_output_into_a_closed_pipe_is_not_an_error() -> None:
    import subprocess
    import sys

    done = subprocess.run(f"{sys.executable} -m rig --help | head -1", shell=True,
                          capture_output=True, text=True, check=False,
                          executable="/bin/bash")
    assert done.stdout.startswith("usage: rig")
    assert "Error" not in done.stderr


def test_a_plugin_may_implement_a_hook_another_plugin_defines(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    """'aaa' loads before 'load', which defines load_workloads in rig_addhooks."""
    fake_dists.add("rig-plugin-aaa", "aaa", "rig_aaa_mod", """
        import rig

        @rig.hookimpl
        def load_workloads(config):
            return []
    """)
    run = rig_runner.run("plugins", "--json", report=False)
    assert {p["name"]: p["status"] for p in json.loads(run.stdout)}["aaa"] == "loaded"


OBSERVER_PLUGIN = """
    from pathlib import Path

    import rig

    @rig.hookimpl
    def rig_state_enter(state):
        with open({marker!r}, "a") as out:
            out.write(state + "\\n")
"""


def test_an_installed_plugin_that_is_not_selected_observes_nothing(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path) -> None:
    marker = tmp_path / "observed.txt"
    fake_dists.add("rig-plugin-watcher", "watcher", "rig_watcher_mod",
                   OBSERVER_PLUGIN.format(marker=str(marker)))
    run = rig_runner.run_on_server("--plugin", "basic")
    assert run.exit_code == 0, run.stderr
    assert not marker.exists()  # loaded (its options would show in --help) but not selected
    selected = rig_runner.run_on_server("--plugin", "basic,watcher")
    assert selected.exit_code == 0, selected.stderr
    assert marker.read_text().splitlines()[-1] == "completed"


ALL_INSTALLED = "basic,isolation,job_monitor,load,python_demo"


def test_rig_core_alone_runs_the_common_workflow_and_points_at_basic(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--disable-plugin", ALL_INSTALLED)
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert run.report["plugins"] == []
    assert [s["name"] for s in run.report["connections"][0]["states"]] == [
        "initial", "parsing_config", "connecting", "testing_connection", "verifying_database",
        "getting_version", "completed"]
    assert "pip install rig-plugin-basic adds latency, TLS and session checks" in run.stdout


def test_built_in_plugins_are_listed_with_all(rig_runner: RigRunner) -> None:
    run = rig_runner.run("plugins", "--json", "--all", report=False)
    assert run.exit_code == 0, run.stderr
    listed = {p["name"]: p for p in json.loads(run.stdout)}
    for name in ("common", "report_json", "junit_xml", "terminal"):
        assert listed[name]["builtin"] is True
        assert listed[name]["status"] == "loaded"
    assert "--host" in listed["common"]["options"]
    assert "--report-json" in listed["report_json"]["options"]
    assert "rig_write_report" in listed["terminal"]["hooks"]
    plain = rig_runner.run("plugins", "--json", report=False)
    assert "common" not in {p["name"] for p in json.loads(plain.stdout)}


def test_the_terminal_reporter_can_be_turned_off(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-p", "no:terminal")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert run.report is not None and run.report["exit_code"] == 0


def test_without_the_json_reporter_its_option_is_gone(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-p", "no:report_json")  # the kit adds --report-json
    assert run.exit_code == 4
    assert run.stderr == "rig: error: unrecognized arguments: --report-json " \
        f"{run.args[-1]}: see rig --help\n"


def test_the_common_plugin_cannot_be_turned_off(rig_runner: RigRunner) -> None:
    run = rig_runner.run("-p", "no:common", report=False)
    assert run.exit_code == 4
    assert run.stderr == "rig: error: -p no:common: 'common' is an essential built-in plugin " \
        "(the connection and the common states) and cannot be disabled: drop -p no:common\n"


def test_a_built_in_plugin_cannot_be_selected(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "terminal", report=False)
    assert run.exit_code == 4
    assert "'terminal' is one of rig's built-in plugins, always active" in run.stderr


# --- the plugin host: what `rig plugins` and the error lines say about each plugin ---------------

BUILT_INS = ("common", "report_json", "junit_xml", "terminal")


def listed(runner: RigRunner, *args: str, **kwargs: Any) -> dict[str, dict[str, Any]]:
    """``rig plugins --json --all ARGS`` by plugin name."""
    run = runner.run("plugins", "--json", "--all", *args, report=False, **kwargs)
    assert run.exit_code == 0, run.stderr
    return {p["name"]: p for p in json.loads(run.stdout)}


def error_lines(stderr: str) -> list[str]:
    """The log lines at ERROR, without their time stamp and level."""
    return [line.split(" ERROR   - - ", 1)[1] for line in stderr.splitlines()
            if " ERROR   - - " in line]


def test_built_in_plugins_come_from_rig_core(rig_runner: RigRunner) -> None:
    plugins = listed(rig_runner)
    for name in BUILT_INS:
        assert {k: plugins[name][k] for k in ("distribution", "version", "module", "builtin")} \
            == {"distribution": "rig-core", "version": rig.__version__,
                "module": f"rig.builtin.{name}", "builtin": True}


def test_a_disabled_built_in_is_listed_as_disabled_and_the_next_ones_still_load(
        rig_runner: RigRunner) -> None:
    plugins = listed(rig_runner, "-p", "no:report_json")
    assert plugins["report_json"]["status"] == "disabled"
    assert plugins["report_json"]["options"] == []
    assert plugins["junit_xml"]["status"] == "loaded"
    assert plugins["terminal"]["status"] == "loaded"


def test_built_ins_are_not_disabled_by_the_name_of_rig_core(rig_runner: RigRunner) -> None:
    plugins = listed(rig_runner, "--disable-plugin", "rig-core")
    assert {name: plugins[name]["status"] for name in BUILT_INS} == dict.fromkeys(
        BUILT_INS, "loaded")


def test_an_installed_plugin_named_like_a_built_in_is_never_imported(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path,
        marker_plugin_source) -> None:  # type: ignore[no-untyped-def]
    fake_dists.add("rig-plugin-common", "common", "rig_fake_common",
                   marker_plugin_source("imported.txt"))
    plugins = listed(rig_runner)
    assert plugins["common"]["distribution"] == "rig-core"
    assert plugins["common"]["status"] == "loaded"
    for name in ALL_INSTALLED.split(","):  # those after it, in name order, are still there
        assert plugins[name]["status"] == "loaded", name
    assert not (tmp_path / "imported.txt").exists()


def test_disabling_a_plugin_that_is_not_installed_is_a_warning(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-p", "no:nosuch", "--disable-plugin", "rig-plugin-basic")
    assert run.exit_code == 0, run.stderr
    warnings = [line.split(" WARNING - - ", 1)[1] for line in run.stderr.splitlines()
                if " WARNING - - " in line]
    # basic's distribution name is known: only the unknown name is warned about
    assert warnings == ["-p no:nosuch / --disable-plugin nosuch: no such plugin is installed"]
    assert run.report is not None and run.report["plugins"] == []


def test_an_unknown_plugin_lists_the_installed_ones_with_their_status(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", "nope", "-p", "no:load", report=False)
    assert run.exit_code == 4
    assert run.stderr == (
        "rig: error: unknown plugin 'nope'; installed: basic, chaos, consistency, isolation, "
        f"job_monitor, load (disabled), python_demo: install it into rig's Python "
        f"({sys.executable} -m pip install ...) or see 'rig plugins'\n")


def test_an_unknown_plugin_when_none_is_installed(
        rig_runner: RigRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import rig.host.manager

    monkeypatch.setattr(rig.host.manager, "installed_plugins", list)  # rig-core alone
    run = rig_runner.run_on_server("--plugin", "basic", report=False)
    assert run.exit_code == 4
    assert run.stderr.startswith("rig: error: unknown plugin 'basic'; installed: none: ")


def test_selecting_a_built_in_or_a_disabled_plugin_says_what_to_do(
        rig_runner: RigRunner) -> None:
    builtin = rig_runner.run_on_server("--plugin", "terminal", report=False)
    assert builtin.stderr == "rig: error: 'terminal' is one of rig's built-in plugins, always " \
        "active: --plugin selects an installed plugin; see rig plugins\n"
    disabled = rig_runner.run_on_server("--plugin", "basic", "-p", "no:basic", report=False)
    assert disabled.stderr == "rig: error: plugin 'basic' (rig-plugin-basic 0.2.0) is " \
        "selected but disabled: drop -p no:basic / --disable-plugin\n"


BROKEN = "raise RuntimeError('boom')\n"
BROKEN_LINE = "plugin 'broken' (rig-plugin-broken 0.1.0) failed to load: RuntimeError: boom; " \
    "fix: reinstall it (pip install --force-reinstall rig-plugin-broken) or disable it with " \
    "-p no:broken"


def test_a_broken_plugin_costs_exactly_one_line_and_selecting_it_exits_3(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", BROKEN)
    run = rig_runner.run_on_server("--plugin", "broken", report=False)
    assert run.exit_code == 3
    assert error_lines(run.stderr) == [BROKEN_LINE]
    assert run.stderr.splitlines()[-1] == "rig: error: plugin 'broken' (rig-plugin-broken " \
        "0.1.0) is selected but failed to load: RuntimeError: boom: see 'rig plugins'"
    assert "Traceback" not in run.stderr


def test_strict_plugins_makes_a_broken_plugin_the_one_error(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", BROKEN)
    run = rig_runner.run_on_server("--strict-plugins", report=False)
    assert run.exit_code == 3
    assert run.stderr == f"rig: error: {BROKEN_LINE}: (--strict-plugins)\n"


def test_verbose_shows_the_traceback_of_a_plugin_that_failed_to_import(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", BROKEN)
    run = rig_runner.run_on_server("-v")
    assert run.exit_code == 0, run.stderr
    assert "traceback of plugin broken\nTraceback (most recent call last):" in run.stderr
    assert "raise RuntimeError('boom')" in run.stderr


def _failing_addhooks(pluginmanager: Any) -> None:
    raise ValueError("no hooks today")


def test_a_plugin_whose_addhooks_raises_is_not_left_registered(rig_runner: RigRunner) -> None:
    configured: list[str] = []
    plugin = make_plugin(rig_addhooks=_failing_addhooks,
                         rig_configure=lambda config: configured.append("faulty"))
    run = rig_runner.run_on_server("-v", plugins=[("faulty", plugin)])
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr) == [
        "plugin 'faulty' failed to load: rig_addhooks raised ValueError: no hooks today; fix: "
        "disable it with -p no:faulty"]
    assert "traceback of plugin faulty\nTraceback (most recent call last):" in run.stderr
    assert configured == []  # its other hooks never run


def _rig_addhooks(pluginmanager: Any) -> None:
    """A hook that works: not the cause of the failure below."""


def _unconfigure_with_a_wrong_argument(config: Any, colour: str) -> None:
    """``colour`` is no argument of rig_unconfigure: pluggy refuses the plugin."""


@pytest.mark.parametrize("with_addhooks", [True, False], ids=["with-addhooks", "without"])
def test_a_plugin_pluggy_refuses_costs_one_line_and_leaves_nothing_behind(
        rig_runner: RigRunner, with_addhooks: bool) -> None:
    hooks: dict[str, Any] = {
        # registered before pluggy reaches the refused rig_unconfigure (name order)
        "rig_addoption": lambda parser: parser.addoption("--wrong-flag"),
        "rig_unconfigure": _unconfigure_with_a_wrong_argument,
    }
    if with_addhooks:
        hooks["rig_addhooks"] = _rig_addhooks
    run = rig_runner.run_on_server("--wrong-flag", "1", plugins=[("wrong", make_plugin(**hooks))],
                                   report=False)
    assert run.exit_code == 4  # its option is gone with it
    assert run.stderr.splitlines()[-1] == "rig: error: unrecognized arguments: --wrong-flag 1: " \
        "see rig --help"
    assert error_lines(run.stderr) == [  # pluggy's three lines made one
        "plugin 'wrong' failed to load: PluginValidationError: Plugin 'wrong' for hook "
        "'rig_unconfigure'; hookimpl definition: _unconfigure_with_a_wrong_argument(config: "
        "'Any', colour: 'str') -> 'None'; Argument(s) {'colour'} are declared in the hookimpl "
        "but can not be found in the hookspec; fix: disable it with -p no:wrong"]


def test_a_plugin_whose_import_fails_an_assertion_fails_alone(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-asserting", "asserting", "rig_asserting_mod",
                   "assert False, 'needs Python 4'\n")
    run = rig_runner.run_on_server()
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr) == [
        "plugin 'asserting' (rig-plugin-asserting 0.1.0) failed to load: AssertionError: needs "
        "Python 4; fix: reinstall it (pip install --force-reinstall rig-plugin-asserting) or "
        "disable it with -p no:asserting"]
    assert run.report is not None  # the plugins after it (in name order) loaded and ran
    assert [p["name"] for p in run.report["plugins"]] == ["basic"]
    verbose = rig_runner.run_on_server("-v", report=False)
    assert "traceback of plugin asserting\nTraceback (most recent call last):" in verbose.stderr


def test_a_plugin_that_failed_to_register_is_not_left_in_the_plugin_manager(
        rig_runner: RigRunner) -> None:
    seen: list[bool] = []

    def rig_addoption(parser: rig.OptionParser, pluginmanager: Any) -> None:
        seen.append(pluginmanager.has_plugin("faulty"))

    run = rig_runner.run("--print-config", plugins=[
        ("faulty", make_plugin(rig_addhooks=_failing_addhooks)),
        ("watcher", make_plugin(rig_addoption=rig_addoption))], report=False)
    assert run.exit_code == 0, run.stderr
    assert seen == [False]


def test_a_plugin_host_records_failures_unless_it_is_strict(
        fake_dists: FakeDistributions) -> None:
    from rig.host.manager import PluginHost

    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", BROKEN)
    lenient = PluginHost()
    lenient.discover()
    lenient.load()
    assert lenient.infos["broken"].status == "failed"
    assert lenient.infos["broken"].error == "RuntimeError: boom"
    strict = PluginHost(strict=True)
    strict.discover()
    with pytest.raises(rig.PluginError, match=r"plugin 'broken' .* failed to load"):
        strict.load()


def test_a_plugin_whose_command_registration_fails_costs_one_line(
        rig_runner: RigRunner) -> None:
    def rig_register_commands(commands: Any) -> None:
        raise ValueError("no {commands} today")

    run = rig_runner.run("--help", plugins=[("cmd", make_plugin(
        rig_register_commands=rig_register_commands))], report=False)
    assert run.exit_code == 0, run.stderr
    (line,) = error_lines(run.stderr)
    assert line.startswith("plugin 'cmd' failed in rig_register_commands: ValueError: no "
                           "{commands} today (at ")
    assert line.endswith("): run with -v for the traceback")


def test_a_plugin_with_unknown_hooks_is_rejected_and_its_hooks_never_run(
        rig_runner: RigRunner) -> None:
    configured: list[str] = []
    plugin = make_plugin(ghost_tick=lambda: None, ghost_tock=lambda: None,
                         rig_configure=lambda config: configured.append("ghost"))
    run = rig_runner.run_on_server("-v", plugins=[("ghost", plugin)])
    assert run.exit_code == 0, run.stderr
    assert error_lines(run.stderr) == [
        "plugin 'ghost' failed to load: implements unknown hook(s) ghost_tick, ghost_tock (it "
        f"may need a newer rig-core than {rig.__version__}, or a plugin that defines them); "
        "fix: disable it with -p no:ghost"]
    assert "traceback of plugin ghost" not in run.stderr  # nothing raised: no traceback
    assert configured == []


def test_an_in_process_plugin_is_listed_with_its_module(rig_runner: RigRunner) -> None:
    import types

    module = types.ModuleType("acme_inline_checks")
    module.rig_configure = rig.hookimpl(lambda config: None)  # type: ignore[attr-defined]
    plugins = listed(rig_runner, plugins=[("inline", module)])
    assert {k: plugins["inline"][k] for k in ("distribution", "version", "module", "status",
                                               "builtin", "hooks")} == {
        "distribution": None, "version": None, "module": "acme_inline_checks",
        "status": "loaded", "builtin": False, "hooks": ["rig_configure"]}


def test_an_in_process_plugin_replaces_the_installed_one_of_that_name(
        rig_runner: RigRunner) -> None:
    import types

    plugin = types.SimpleNamespace(rig_report=rig.hookimpl(lambda: {"replaced": True}))
    run = rig_runner.run_on_server("--plugin", "basic", plugins=[("basic", plugin)])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert run.section("basic") == {"replaced": True}
    names = [s["name"] for s in run.report["connections"][0]["states"]]
    assert "basic_measuring_latency" not in names  # the installed basic is gone


def test_minus_vv_traces_each_hook_call_and_what_it_raised(rig_runner: RigRunner) -> None:
    def rig_configure(config: rig.Config) -> None:
        raise ValueError("traced")

    run = rig_runner.run_on_server("-vv", "--plugin", "basic,loud",
                                   plugins=[("loud", make_plugin(rig_configure=rig_configure))])
    assert run.exit_code == 3
    traced = [line.split(" TRACE   - - ", 1)[1] for line in run.stderr.splitlines()
              if " TRACE   - - hook " in line]
    assert "hook rig_configure done (raised ValueError)" in traced
    assert "hook rig_unconfigure done" in traced
    calls = [line for line in traced if line.startswith("hook rig_configure → ")]
    assert calls and "'loud'" in calls[0] and "'common'" in calls[0]


def test_rig_plugins_asks_each_plugin_for_its_states_with_no_plugin_selected(
        rig_runner: RigRunner) -> None:
    def rig_register_states(registry: rig.StateRegistry, config: rig.Config) -> None:
        registry.add_state(f"lister_{len(config.selected_plugins)}_selected", lambda ctx: None)

    plugins = listed(rig_runner, plugins=[("lister", make_plugin(
        rig_register_states=rig_register_states))])
    assert plugins["lister"]["status"] == "loaded"
    assert plugins["lister"]["states"] == ["lister_0_selected"]
