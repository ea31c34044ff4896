"""The examples in examples/ work: the multi-connection scripts and the library example run
against the test server, and the example rig.toml is accepted with the values it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from rig.testing import RigRunner, ServerDSN

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _schemas_like(server: ServerDSN, pattern: str) -> list[str]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                           "WHERE SCHEMA_NAME LIKE %s", (pattern,))
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


@pytest.mark.parametrize("name", ["simple_multi_connection", "multi_connection_example"])
def test_example_runs_with_every_connection_passing(
        name: str, rig_server: ServerDSN, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example(name)

    code = example.main([*rig_server.rig_args(), "--connections", "4"])

    out = capsys.readouterr().out
    assert code == 0, out
    [result] = [line for line in out.splitlines() if line.startswith("result: ")]
    assert "failed" not in result and "errors" not in result and "(exit 0)" in result
    assert out.count("PASS  connection") == 4


def test_the_jobs_example_leaves_no_scratch_database(
        rig_server: ServerDSN, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("multi_connection_example")

    code = example.main([*rig_server.rig_args(), "--connections", "3"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS  jobs: 10/10 jobs done" in out
    assert _schemas_like(rig_server, "rig\\_jobs\\_example\\_%") == []


def test_the_library_example_reads_the_report(
        rig_server: ServerDSN, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("drive_rig")

    code = example.main(rig_server.rig_args())

    out = capsys.readouterr().out
    assert code == 0, out
    assert "c1: mariadb" in out or "c1: mysql" in out or "c1: tidb" in out
    assert "PASS  latency: 20 pings" in out  # the script's --basic-ping-count
    assert "states entered: {'c1': 9}" in out
    assert "rig exit code 0 (OK)" in out


def test_the_example_config_file_sets_what_it_says(rig_runner: RigRunner) -> None:
    config = EXAMPLES / "rig.toml"
    run = rig_runner.run("--config", str(config), "--print-config", report=False)
    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    # [basic] ping-count and [python_demo] rows: keys without the plugin's prefix in its table.
    assert f"basic-ping-count = 20  # config {config}" in lines
    assert f"python-demo-rows = 500  # config {config}" in lines
    assert f"python-demo-table = rig_demo  # config {config}" in lines
    assert f"plugin = basic, python_demo  # config {config}" in lines
    assert "unknown" not in run.stderr
