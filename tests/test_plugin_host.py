"""Plugin discovery, selection, disabling and failure isolation, through real entry points."""

from __future__ import annotations

import json
from pathlib import Path

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
    run = rig_runner.run("plugins", "--json", target_server=False, report=False)
    assert run.exit_code == 0, run.stderr
    listed = {p["name"]: p for p in json.loads(run.stdout)}
    basic = listed["basic"]
    assert basic["distribution"] == "rig-plugin-basic"
    assert basic["version"] == "0.1.0"
    assert basic["status"] == "loaded"
    assert "measuring_latency" in basic["states"]
    assert "--ping-count" in basic["options"]
    assert "rig_addoption" in basic["hooks"]


def test_plugins_text_listing_shows_status_and_contributions(rig_runner: RigRunner) -> None:
    run = rig_runner.run("plugins", target_server=False, report=False)
    assert run.exit_code == 0
    assert "basic  rig-plugin-basic 0.1.0  loaded" in run.stdout
    assert "states:  measuring_latency, inspecting_session" in run.stdout


def test_default_plugin_is_basic(rig_runner: RigRunner) -> None:
    run = rig_runner.run()
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert [p["name"] for p in run.report["plugins"]] == ["basic"]
    assert "basic" in run.report["sections"]


def test_plugin_selected_by_distribution_name(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "rig-plugin-basic")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert run.report["plugins"][0]["distribution"] == "rig-plugin-basic"


def test_unknown_plugin_exits_4_listing_installed(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "nope", report=False)
    assert run.exit_code == 4
    assert "unknown plugin 'nope'; installed: basic" in run.stderr
    assert "-m pip install" in run.stderr  # says which Python rig runs in
    assert run.stderr.count("\n") == 1


def test_extra_installed_plugin_runs_after_basic(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-extra", "extra", "rig_extra_mod", EXTRA_PLUGIN)
    run = rig_runner.run("--plugin", "basic,extra")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    names = [s["name"] for s in run.report["connections"][0]["states"]]
    assert names[-3:] == ["inspecting_session", "extra_state", "completed"]
    assert {"name": "extra", "connection": "c1", "plugin": "extra", "verdict": "pass",
            "detail": "ran"} in run.report["checks"]


def test_disabled_plugin_is_never_imported(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path,
        marker_plugin_source) -> None:  # type: ignore[no-untyped-def]
    fake_dists.add("rig-plugin-marker", "marker", "rig_marker_mod",
                   marker_plugin_source("imported.txt"))
    for disable in (["-p", "no:marker"], ["--disable-plugin", "rig-plugin-marker"]):
        run = rig_runner.run(*disable)
        assert run.exit_code == 0, run.stderr
        assert not (tmp_path / "imported.txt").exists()
    listing = rig_runner.run("plugins", "--json", "-p", "no:marker", target_server=False,
                             report=False)
    status = {p["name"]: p["status"] for p in json.loads(listing.stdout)}
    assert status["marker"] == "disabled"
    assert not (tmp_path / "imported.txt").exists()


def test_selecting_a_disabled_plugin_is_a_usage_error(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "basic", "-p", "no:basic", report=False)
    assert run.exit_code == 4
    assert "plugin 'basic' (rig-plugin-basic 0.1.0) is selected but disabled" in run.stderr


def test_broken_plugin_costs_one_line_and_others_keep_working(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod",
                   "import a_module_that_does_not_exist\n", version="2.3.4")
    run = rig_runner.run()
    assert run.exit_code == 0, run.stderr
    errors = [line for line in run.stderr.splitlines() if "broken" in line]
    assert len(errors) == 1
    line = errors[0]
    assert "plugin 'broken' (rig-plugin-broken 2.3.4) failed to load" in line
    assert "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in line
    assert "pip install --force-reinstall rig-plugin-broken" in line
    assert "-p no:broken" in line
    assert "Traceback" not in run.stderr

    listing = rig_runner.run("plugins", "--json", target_server=False, report=False)
    broken = {p["name"]: p for p in json.loads(listing.stdout)}["broken"]
    assert broken["status"] == "failed"
    assert "a_module_that_does_not_exist" in broken["error"]


def test_broken_plugin_with_strict_plugins_exits_3(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", "raise RuntimeError('boom')\n")
    run = rig_runner.run("--strict-plugins", report=False)
    assert run.exit_code == 3
    assert "plugin 'broken' (rig-plugin-broken 0.1.0) failed to load: RuntimeError: boom" \
        in run.stderr


def test_selecting_a_failed_plugin_exits_3(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-broken", "broken", "rig_broken_mod", "raise RuntimeError('boom')\n")
    run = rig_runner.run("--plugin", "broken", report=False)
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
    run = rig_runner.run("plugins", "--json", target_server=False, report=False)
    future = {p["name"]: p for p in json.loads(run.stdout)}["future"]
    assert future["status"] == "failed"
    assert "unknown hook(s) rig_hook_from_the_future" in future["error"]


def test_version_lists_plugins_without_importing_them(
        rig_runner: RigRunner, fake_dists: FakeDistributions, tmp_path: Path,
        marker_plugin_source) -> None:  # type: ignore[no-untyped-def]
    fake_dists.add("rig-plugin-marker", "marker", "rig_marker_mod",
                   marker_plugin_source("imported.txt"), version="9.9.9")
    run = rig_runner.run("--version", target_server=False, report=False)
    assert run.exit_code == 0
    assert run.stdout.startswith("rig 0.1.0 (rig-core)")
    assert "  basic  rig-plugin-basic 0.1.0" in run.stdout
    assert "  marker  rig-plugin-marker 9.9.9" in run.stdout
    assert not (tmp_path / "imported.txt").exists()


def test_help_shows_each_plugins_options_in_its_own_group(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--help", target_server=False, report=False)
    assert run.exit_code == 0
    assert "basic:\n  basic plugin: round-trip latency" in run.stdout
    assert "--ping-count N" in run.stdout
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
    run = rig_runner.run("--plugin", "inline", plugins=[("inline", plugin)])
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    assert [c["name"] for c in run.report["checks"]] == ["connection", "inline"]


def test_a_plugin_whose_option_clashes_fails_alone(
        rig_runner: RigRunner, fake_dists: FakeDistributions) -> None:
    fake_dists.add("rig-plugin-clash", "clash", "rig_clash_mod", """
        import rig

        @rig.hookimpl
        def rig_addoption(parser):
            parser.getgroup("clash").addoption("--ping-count", type=int)
    """)
    run = rig_runner.run()
    assert run.exit_code == 0, run.stderr
    assert "plugin 'clash' (rig-plugin-clash 0.1.0) failed to load: plugin clash cannot add " \
           "option --ping-count already added by basic" in run.stderr
    listing = rig_runner.run("plugins", "--json", target_server=False, report=False)
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
    """'aaa' loads before 'load', which defines rig_load_workloads in rig_addhooks."""
    fake_dists.add("rig-plugin-aaa", "aaa", "rig_aaa_mod", """
        import rig

        @rig.hookimpl
        def rig_load_workloads(config):
            return []
    """)
    run = rig_runner.run("plugins", "--json", target_server=False, report=False)
    assert {p["name"]: p["status"] for p in json.loads(run.stdout)}["aaa"] == "loaded"
