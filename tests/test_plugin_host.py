"""Plugin discovery, selection, disabling and failure isolation, through real entry points."""

from __future__ import annotations

import json
from pathlib import Path

import rig
from rig.testing import RigRunner

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
