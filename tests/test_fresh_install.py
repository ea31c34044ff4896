"""rig-core alone, installed into a fresh virtual environment the way a user would
(``pip install ./``): not a dead end — ``rig --sandbox`` runs the common workflow, exits 0 and
says which plugin adds more. Needs PyPI for rig-core's dependencies (as installing it does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_rig_core_alone_in_a_fresh_venv_runs_the_common_workflow(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy, so that building leaves nothing in the checkout
    skip = shutil.ignore_patterns(".venv*", ".git", ".mutation", "build", "*.egg-info",
                                  "__pycache__")

    def ignore(directory: str, names: list[str]) -> set[str]:
        top_level = {"plugins", "tests", "docs", "examples"} if Path(directory) == REPO else set()
        return set(skip(directory, names)) | (top_level & set(names))

    shutil.copytree(REPO, source, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIG_", "PYTHON"))}
    env["HOME"] = str(tmp_path)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, timeout=900, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    rig = str(venv / "bin" / "rig")

    listing = subprocess.run([rig, "plugins"], capture_output=True, text=True, timeout=60,
                             env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout == "no rig plugins installed (pip install rig-plugin-basic)\n"

    report = tmp_path / "report.json"
    run = subprocess.run([rig, "--sandbox", "--report-json", str(report)], capture_output=True,
                         text=True, timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pip install rig-plugin-basic adds latency, TLS and session checks" in run.stdout
    data = json.loads(report.read_text())
    assert data["plugins"] == []
    assert [s["name"] for s in data["connections"][0]["states"]] == [
        "initial", "parsing_config", "connecting", "testing_connection", "verifying_database",
        "getting_version", "completed"]
    assert {c["name"]: c["verdict"] for c in data["checks"]} == {"connection": "pass"}
