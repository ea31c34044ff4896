"""The multi-connection examples run against the test server."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from rig.testing import ServerDSN

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
