"""``rig plugins new``, ``install`` and ``uninstall``: the third-party author's path, end to end.

The end-to-end test installs a generated package into rig's own Python with pip, runs it, runs
its tests against the test server, and uninstalls it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rig.cli.plugins.manage import pip_target
from rig.cli.plugins.scaffold import MAX_NAME_LENGTH
from rig.testing import RigRun, RigRunner, ServerDSN
from rig.version import __version__ as rig_version

GENERATED = ["README.md", "pyproject.toml", "rig_acme/__init__.py", "tests/test_acme.py"]


def rig(runner: RigRunner, *args: str) -> RigRun:
    return runner.run(*args, report=False)


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_new_creates_the_package(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "new", "acme")
    assert run.exit_code == 0, run.output
    root = rig_runner.workdir / "rig-plugin-acme"
    assert files_under(root) == GENERATED
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points."rig.plugins"]\nacme = "rig_acme"' in pyproject
    project = tomllib.loads(pyproject)["project"]
    assert project["name"] == "rig-plugin-acme"
    major, minor = (int(part) for part in rig_version.split(".")[:2])
    assert project["dependencies"] == [f"rig-core>={major}.{minor},<{major}.{minor + 1}"]
    assert project["optional-dependencies"] == {"test": ["pytest>=8.0"]}
    module = (root / "rig_acme" / "__init__.py").read_text()
    compile(module, "rig_acme/__init__.py", "exec")
    test_module = (root / "tests" / "test_acme.py").read_text()
    assert "rig_runner.run_on_server(" in test_module
    assert "rig_runner.run(" not in test_module


def test_the_generated_code_follows_the_naming_rule(rig_runner: RigRunner) -> None:
    assert rig(rig_runner, "plugins", "new", "my-check").exit_code == 0
    root = rig_runner.workdir / "rig-plugin-my-check"
    module = (root / "rig_my_check" / "__init__.py").read_text()
    assert 'group.addoption("--my-check-queries"' in module  # --<plugin>-<name>
    assert 'getoption("my_check_queries")' in module
    assert 'add_state("my_check_running_queries"' in module  # <plugin>_<what>
    assert 'rig.Key("my_check.answers")' in module  # "<plugin>.<what>"
    assert 'ctx.check("my_check_queries"' in module
    test_module = (root / "tests" / "test_my_check.py").read_text()
    assert '"RIG_MY_CHECK_QUERIES"' in test_module
    assert "RIG_MY_CHECK_QUERIES" in (root / "README.md").read_text()


def test_next_steps_install_the_test_extra_before_running_pytest(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "new", "acme")
    assert run.exit_code == 0, run.output
    install = "pip install -e './rig-plugin-acme[test]'"
    assert install in run.stdout
    assert run.stdout.index(install) < run.stdout.index("pytest rig-plugin-acme")
    readme = (rig_runner.workdir / "rig-plugin-acme" / "README.md").read_text()
    test_section = readme.split("## Test", 1)[1]
    assert test_section.index(install) < test_section.index("pytest rig-plugin-acme")
    other = rig(rig_runner, "plugins", "new", "acme", "--dir", "my plugins")
    assert "pip install -e './my plugins/rig-plugin-acme[test]'" in other.stdout
    assert "pytest 'my plugins/rig-plugin-acme'" in other.stdout


@pytest.mark.parametrize("name", ["acme", "my-check", "a" * MAX_NAME_LENGTH,
                                  "abcdefghi-" * 2 + "abcdefghij"])
def test_every_generated_line_fits_in_100_characters(rig_runner: RigRunner, name: str) -> None:
    run = rig(rig_runner, "plugins", "new", name)
    assert run.exit_code == 0, run.output
    root = rig_runner.workdir / f"rig-plugin-{name.replace('_', '-')}"
    long_lines = [f"{path.relative_to(root)}:{number}: {len(line)}"
                  for path in sorted(root.rglob("*")) if path.is_file()
                  for number, line in enumerate(path.read_text().splitlines(), 1)
                  if len(line) > 100]
    assert long_lines == []
    # rig's own lint rules, line length 100, on the generated Python (no config file read).
    linted = subprocess.run(
        [str(Path(sys.executable).with_name("ruff")), "check", "--isolated", "--no-cache",
         "--line-length", "100", "--target-version", "py311",
         "--select", "E,W,F,I,B,UP,SIM,RUF", "."],
        cwd=root, capture_output=True, text=True, timeout=60)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dashes_become_underscores(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "new", "my-check")
    assert run.exit_code == 0, run.output
    root = rig_runner.workdir / "rig-plugin-my-check"
    assert (root / "rig_my_check" / "__init__.py").is_file()
    assert 'my_check = "rig_my_check"' in (root / "pyproject.toml").read_text()
    assert '"--my-check-queries"' in (root / "rig_my_check" / "__init__.py").read_text()


def test_dry_run_lists_and_writes_nothing(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "new", "acme", "--dry-run", "--dir", "sub")
    assert run.exit_code == 0, run.output
    assert "would create sub/rig-plugin-acme/ (dry run, nothing written)" in run.stdout
    for name in GENERATED:
        assert f"  {name}\n" in run.stdout
    assert list(rig_runner.workdir.iterdir()) == []


def test_dir_is_created_when_missing(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "new", "acme", "--dir", "a/b")
    assert run.exit_code == 0, run.output
    assert files_under(rig_runner.workdir / "a" / "b" / "rig-plugin-acme") == GENERATED


def test_refuses_to_overwrite(rig_runner: RigRunner) -> None:
    existing = rig_runner.workdir / "rig-plugin-acme"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")
    for args in (["acme"], ["acme", "--dry-run"]):
        run = rig(rig_runner, "plugins", "new", *args)
        assert run.exit_code == 4
        assert f"{existing} already exists; rig plugins new never overwrites" in run.stderr
    assert files_under(existing) == ["mine.txt"]


@pytest.mark.parametrize(("name", "message"), [
    ("1acme", "plugin name '1acme' is not a valid Python identifier once dashes become "
              "underscores"),
    ("ac.me", "plugin name 'ac.me' is not a valid Python identifier"),
    ("acmé", "plugin name 'acmé' is not a valid Python identifier"),
    ("class", "plugin name 'class' is a Python keyword"),
    ("Acme", "plugin name 'Acme' must be lowercase letters and digits"),
    ("a--b", "plugin name 'a--b' must be lowercase letters and digits separated by single"),
    ("acme-", "plugin name 'acme-' must be lowercase"),
    ("rig-plugin-acme", "repeats the rig prefix: give the short name ('acme')"),
    ("a" * (MAX_NAME_LENGTH + 1),
     f"plugin name '{'a' * (MAX_NAME_LENGTH + 1)}' is longer than {MAX_NAME_LENGTH} characters: "
     "choose a shorter name"),
    ("basic", "a plugin named 'basic' is already installed (rig-plugin-basic)"),
])
def test_rejects_a_bad_name(rig_runner: RigRunner, name: str, message: str) -> None:
    run = rig(rig_runner, "plugins", "new", name)
    assert run.exit_code == 4
    assert message in run.stderr
    assert list(rig_runner.workdir.iterdir()) == []


def test_rejects_bad_arguments(rig_runner: RigRunner) -> None:
    (rig_runner.workdir / "file").write_text("")
    for args, message in [
        ([], "rig plugins new: the following arguments are required: NAME"),
        (["acme", "--dir", "file"], "file is not a directory: give a directory"),
        (["acme", "--force"], "rig plugins new: unrecognized arguments: --force"),
    ]:
        run = rig(rig_runner, "plugins", "new", *args)
        assert run.exit_code == 4, args
        assert message in run.stderr


def test_help_names_the_subcommands(rig_runner: RigRunner) -> None:
    listing = rig(rig_runner, "plugins", "--help")
    assert listing.exit_code == 0
    for line in ("rig plugins new NAME [--dir DIR] [--dry-run]",
                 "rig plugins install NAME|PATH", "rig plugins uninstall NAME"):
        assert line in listing.stdout
    for subcommand in ("new", "install", "uninstall"):
        run = rig(rig_runner, "plugins", subcommand, "--help")
        assert run.exit_code == 0
        assert f"usage: rig plugins {subcommand}" in run.stdout


def test_listing_still_works(rig_runner: RigRunner) -> None:
    run = rig(rig_runner, "plugins", "--json")
    assert run.exit_code == 0
    names = [plugin["name"] for plugin in json.loads(run.stdout)]
    assert "basic" in names and "python_demo" in names


@pytest.mark.parametrize(("target", "expected"), [
    ("acme", "rig-plugin-acme"),
    ("acme==0.2", "rig-plugin-acme==0.2"),
    ("rig-plugin-acme", "rig-plugin-acme"),
    ("Rig_Plugin_Acme>=1", "Rig_Plugin_Acme>=1"),
    ("./rig-plugin-acme", "./rig-plugin-acme"),
    ("dist/rig_plugin_acme-0.1.0-py3-none-any.whl", "dist/rig_plugin_acme-0.1.0-py3-none-any.whl"),
])
def test_install_targets(tmp_path: Path, target: str, expected: str) -> None:
    assert pip_target(target, tmp_path) == expected


def test_an_existing_directory_is_installed_as_a_path(tmp_path: Path) -> None:
    (tmp_path / "rig-plugin-acme").mkdir()
    assert pip_target("rig-plugin-acme", tmp_path) == "./rig-plugin-acme"


def test_install_and_uninstall_reject_bad_input(rig_runner: RigRunner) -> None:
    cases = [
        (["install"], "rig plugins install: the following arguments are required: NAME|PATH"),
        (["install", "-e", "acme"], "rig plugins install -e takes a PATH"),
        (["install", "./does-not-exist"], "pip install failed (pip exit code 1)"),
        (["uninstall", "nothing-like-this"],
         "no installed rig plugin is named 'nothing-like-this'; installed: "),
        (["uninstall"], "rig plugins uninstall: the following arguments are required: NAME"),
    ]
    for args, message in cases:
        run = rig(rig_runner, "plugins", *args)
        assert run.exit_code == 4, args
        assert message in run.stderr, run.output
    assert sys.executable in run_install_failure(rig_runner).stderr


def run_install_failure(runner: RigRunner) -> RigRun:
    run = rig(runner, "plugins", "install", "./does-not-exist")
    assert f"rig: running {sys.executable} -m pip install ./does-not-exist" in run.stdout
    return run


def test_an_unknown_plugin_names_rigs_python(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--plugin", "not_installed_anywhere")
    assert run.exit_code == 4
    assert "unknown plugin 'not_installed_anywhere'" in run.stderr
    assert f"install it into rig's Python ({sys.executable} -m pip install" in run.stderr


def _rig_command(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rig", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A freshly generated plugin with a unique name; uninstalled afterwards in any case."""
    name = f"scaffold_e2e_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    made = _rig_command("plugins", "new", name, cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    yield name, tmp_path / f"rig-plugin-{name.replace('_', '-')}"
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q",
                    f"rig-plugin-{name.replace('_', '-')}"], capture_output=True, timeout=120)


def test_a_generated_plugin_installs_runs_and_passes_its_tests(
        generated: tuple[str, Path], rig_server: ServerDSN, tmp_path: Path) -> None:
    name, package = generated
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    installed = _rig_command("plugins", "install", package.name, "--", "--no-deps",
                             "--no-build-isolation", "-q", cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"rig: new plugins: {name}" in installed.stdout

    listed = _rig_command("plugins", "--json", cwd=tmp_path, env=env)
    entry = next(p for p in json.loads(listed.stdout) if p["name"] == name)
    assert entry["status"] == "loaded"
    assert entry["distribution"] == package.name
    assert entry["states"] == [f"{name}_running_queries"]

    ran = _rig_command("--plugin", name, *rig_server.rig_args(), cwd=tmp_path,
                       env={**env, **rig_server.rig_env()})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"PASS  {name}_queries: 3 of 3 queries returned 1" in ran.stdout

    password = f":{rig_server.password}" if rig_server.password else ""
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", package.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**env, "RIG_TEST_DSN": f"mysql://{rig_server.user}{password}@"
                                    f"{rig_server.address}/"})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout

    removed = _rig_command("plugins", "uninstall", name, cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    listed = _rig_command("plugins", "--json", cwd=tmp_path, env=env)
    assert name not in [p["name"] for p in json.loads(listed.stdout)]
