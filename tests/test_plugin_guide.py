"""docs/plugin-guide.md stays true: every hook documented with its exact signature, no hook
documented that does not exist, the whole public API listed, links that resolve, and the
examples it points to work against a real server."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rig
from rig import hookspecs
from rig.testing import RigRunner, ServerDSN

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugin-guide.md"
EXAMPLES = ROOT / "examples"


def hook_signatures() -> dict[str, str]:
    """``def rig_x(arg: Type, ...) -> Return`` of every hookspec, as written in the source."""
    signatures = {}
    for name, function in vars(hookspecs).items():
        if name.startswith("rig_") and hasattr(function, f"{hookspecs.PROJECT_NAME}_spec"):
            signature = inspect.signature(function)
            params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
            signatures[name] = f"def {name}({params}) -> {signature.return_annotation}"
    return signatures


def section(text: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"the guide has no '## {heading}' section"
    return match.group(1)


def hook_problems(text: str, signatures: dict[str, str]) -> list[str]:
    """What is wrong with the hooks the guide documents."""
    reference = section(text, "Hook reference")
    documented = re.findall(r"^### `(\w+)`", reference, re.M)
    problems = [f"{name} is documented but is not a hook" for name in documented
                if name not in signatures]
    problems += [f"{name} is not documented under '### `{name}`'" for name in signatures
                 if name not in documented]
    problems += [f"{name}: the exact signature `{sig}` is missing" for name, sig
                 in signatures.items() if sig not in reference]
    implemented = re.findall(r"@rig\.hookimpl\ndef (rig_\w+)\(", text)
    problems += [f"an example implements {name}, which is not a hook" for name in implemented
                 if name not in signatures]
    return problems


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    assert hook_problems(GUIDE.read_text(), hook_signatures()) == []


def test_the_check_catches_a_missing_a_changed_and_an_invented_hook() -> None:
    text = GUIDE.read_text()
    signatures = hook_signatures()
    without = re.sub(r"### `rig_unconfigure`.*?```\n\n", "", text, flags=re.S)
    assert "rig_unconfigure is not documented under '### `rig_unconfigure`'" in \
        hook_problems(without, signatures)
    changed = dict(signatures, rig_configure="def rig_configure(config: Config, x: int) -> None")
    assert any("rig_configure: the exact signature" in p for p in hook_problems(text, changed))
    invented = text + "\n```python\n@rig.hookimpl\ndef rig_made_up(config):\n    pass\n```\n"
    assert "an example implements rig_made_up, which is not a hook" in \
        hook_problems(invented, signatures)


def test_the_public_api_is_listed() -> None:
    listed = section(GUIDE.read_text(), "Public API and stability")
    missing = [name for name in rig.__all__ if f"`{name}`" not in listed]
    assert missing == [], f"rig exports these, the guide does not list them: {missing}"


def test_relative_links_resolve() -> None:
    targets = re.findall(r"\]\((\.\.?/[^)#]+)", GUIDE.read_text())
    assert targets
    broken = [t for t in targets if not (GUIDE.parent / t).exists()]
    assert broken == []


def test_the_example_config_file_is_accepted(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--config", str(EXAMPLES / "rig.toml"), "--print-config", report=False)
    assert run.exit_code == 0, run.output
    assert "demo-rows = 500  # config" in run.stdout
    assert "plugin = basic, python_demo  # config" in run.stdout
    assert "unknown" not in run.stderr


def _test_env(server: ServerDSN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    password = f":{server.password}" if server.password else ""
    env["RIG_TEST_DSN"] = f"mysql://{server.user}{password}@{server.address}/"
    return env


def test_the_example_plugin_passes_its_own_tests(rig_server: ServerDSN, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "custom_plugin")],
        cwd=tmp_path, env=_test_env(rig_server), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


@pytest.mark.parametrize(("args", "code", "expected"), [
    ([], 0, "rig exit code 0 (OK)"),
    (["--bogus"], 4, "unrecognized arguments: --bogus"),
])
def test_the_library_example_drives_rig(rig_server: ServerDSN, args: list[str], code: int,
                                        expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    env.update(rig_server.rig_env())
    done = subprocess.run([sys.executable, str(EXAMPLES / "drive_rig.py"),
                           *rig_server.rig_args(), *args],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stdout + done.stderr
    assert expected in done.stdout + done.stderr
    if code == 0:
        assert re.search(r"c1: mariadb|c1: mysql|c1: tidb", done.stdout)
        assert "PASS  latency" in done.stdout
        assert "states entered: {'c1': 9}" in done.stdout
