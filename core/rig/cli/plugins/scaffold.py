"""``rig plugins new NAME``: the files of a new plugin package, as data, and their rendering.

The templates are ``string.Template`` texts (``${placeholder}``), so the generated Python may
use braces and ``%`` freely. :func:`plan` checks the name and the target and returns what would
be written; :func:`write` writes it. Nothing is ever overwritten.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rig.errors import UsageError

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")

MAX_NAME_LENGTH = 30
"""The longest NAME: every generated line then fits in 100 characters (ruff's limit in rig)."""


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the NAME given to ``rig plugins new``."""

    entry_point: str
    """``my_check``: what ``--plugin`` takes (dashes become underscores)."""
    distribution: str
    """``rig-plugin-my-check``: the pip name and the directory created."""
    package: str
    """``rig_my_check``: the import package."""
    option_prefix: str
    """``my-check``: options are ``--my-check-...`` (the naming rule)."""

    def install_target(self, directory: Path) -> str:
        """What ``pip install -e`` takes for the package created under ``directory``, with
        its ``test`` extra (pytest): ``./rig-plugin-acme[test]``."""
        path = (directory / self.distribution).as_posix()
        if not directory.is_absolute() and not path.startswith("."):
            path = f"./{path}"  # pip reads a bare word as a requirement name
        return f"{path}[test]"

    @classmethod
    def parse(cls, name: str) -> PluginNames:
        """Check ``name`` and derive the others; a bad name is a :class:`UsageError`."""
        if name.startswith(("rig-plugin-", "rig_plugin_", "rig-", "rig_")):
            short = re.sub(r"^rig[-_](plugin[-_])?", "", name)
            raise UsageError(f"plugin name {name!r} repeats the rig prefix",
                             hint=f"give the short name ({short!r}); "
                             f"rig adds rig-plugin- and rig_ itself")
        identifier = name.replace("-", "_")
        if keyword.iskeyword(identifier):
            raise UsageError(f"plugin name {name!r} is a Python keyword, so the package "
                             f"rig_{identifier} would be confusing to import and read",
                             hint="choose another name")
        if not identifier.isidentifier() or not name.isascii():
            raise UsageError(
                f"plugin name {name!r} is not a valid Python identifier once dashes become "
                "underscores", hint="use lowercase letters, digits, - and _, starting with a "
                "letter (e.g. acme or my-check)")
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"plugin name {name!r} must be lowercase letters and digits separated by single "
                "- or _, starting with a letter", hint="e.g. acme or my-check")
        if len(name) > MAX_NAME_LENGTH:
            raise UsageError(f"plugin name {name!r} is longer than {MAX_NAME_LENGTH} "
                             "characters", hint="choose a shorter name: every option and state "
                             "of the plugin repeats it")
        dashed = identifier.replace("_", "-")
        return cls(entry_point=identifier, distribution=f"rig-plugin-{dashed}",
                   package=f"rig_{identifier}", option_prefix=dashed)


def _core_requirement() -> str:
    from rig.version import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    return f"rig-core>={major}.{minor},<{major}.{minor + 1}"


def _values(names: PluginNames) -> dict[str, str]:
    return {
        "name": names.entry_point,
        "distribution": names.distribution,
        "package": names.package,
        "option": f"{names.option_prefix}-queries",
        "dest": f"{names.entry_point}_queries",
        "env": f"RIG_{names.entry_point.upper()}_QUERIES",
        "state": f"{names.entry_point}_running_queries",
        "core_requirement": _core_requirement(),
        "install_target": names.install_target(Path(".")),
    }


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "${distribution}"
version = "0.1.0"
description = "A rig plugin: ${name}"
readme = "README.md"
requires-python = ">=3.11"
keywords = ["rig-plugin", "tidb", "mysql", "mariadb"]
dependencies = ["${core_requirement}"]

# pip install -e '.[test]' installs pytest too: rig's test kit (rig.testing) needs it.
[project.optional-dependencies]
test = ["pytest>=8.0"]

# This line makes the package a rig plugin: rig finds it under this entry-point group,
# and --plugin ${name} selects it.
[project.entry-points."rig.plugins"]
${name} = "${package}"

[tool.setuptools]
packages = ["${package}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""

PLUGIN_MODULE = """\
\"""rig plugin ${name}: runs ``SELECT 1`` N times and checks the answers.

Generated by ``rig plugins new``; replace the state with your own. rig's plugin guide
(docs/plugin-guide.md) lists every hook and the public API. Import only ``rig``.

rig's naming rule, followed below: options are ``--<plugin>-<name>``, states
``<plugin>_<what>``, data keys ``"<plugin>.<what>"``.
\"""

from __future__ import annotations

from typing import Any

import rig

__version__ = "0.1.0"

PLUGIN = "${name}"

# Data one handler stores for the report, under a key named after the plugin.
ANSWERS: rig.Key[int] = rig.Key("${name}.answers")


class RunQueries:
    \"""Runs ``SELECT 1`` N times, each through rig's retry policy.

    N is ``--${option}``.
    \"""

    def execute(self, ctx: rig.Context) -> None:
        count = ctx.config.getoption("${dest}")
        answers = 0
        for _ in range(count):
            if ctx.cancelled:  # Ctrl-C: stop promptly
                return
            value = ctx.retry(lambda connection: connection.scalar("SELECT 1"),
                              operation="SELECT 1")
            answers += value == 1
        ctx.data[ANSWERS] = answers
        verdict = rig.Verdict.PASS if answers == count else rig.Verdict.FAIL
        ctx.check("${name}_queries", verdict,
                  f"{answers} of {count} queries returned 1")


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    # Each option also comes from the environment (${env})
    # and from rig.toml (queries = 5 in a [${name}] table).
    group = parser.getgroup(PLUGIN, "${name} plugin")
    group.addoption("--${option}", metavar="N",
                    type=rig.types.positive_int, default=3,
                    help="how many queries to run (default: %(default)s)")


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("${state}", RunQueries(),
                       description="run SELECT 1, N times")


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    # JSON types only: rig refuses anything else (a Decimal, a set…) with exit 3.
    return {conn.id: {"answers": conn.data.get(ANSWERS) if conn.data else None}
            for conn in result.connections}
"""

TEST_MODULE = """\
\"""Tests of the ${name} plugin against a real server, with rig's test kit.

The ``rig_runner`` fixture comes from rig's pytest plugin (``rig.testing``), which pytest loads
by itself once it is installed (``pip install -e '.[test]'``). ``rig_runner.run_on_server(ARGS)``
runs ``rig ARGS`` in-process against a throwaway server, or against the server in
RIG_TEST_DSN=mysql://USER[:PASSWORD]@HOST:PORT/. The plugin object is registered in-process, so
the tests run this source even before it is installed.
\"""

from __future__ import annotations

from rig.testing import RigRunner

import ${package}

NAME = "${name}"
OPTION = "--${option}"
PLUGINS = [(NAME, ${package})]


def test_the_queries_pass(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", NAME, OPTION, "2", plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.section(NAME) == {"c1": {"answers": 2}}
    assert run.report is not None
    checks = {check["name"]: check["verdict"] for check in run.report["checks"]}
    assert checks[f"{NAME}_queries"] == "pass"


def test_the_option_comes_from_the_environment(rig_runner: RigRunner) -> None:
    env = {"${env}": "4"}
    run = rig_runner.run_on_server("--plugin", NAME, env=env, plugins=PLUGINS)
    assert run.exit_code == 0, run.output
    assert run.section(NAME) == {"c1": {"answers": 4}}


def test_a_bad_count_is_a_usage_error(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("--plugin", NAME, OPTION, "0", plugins=PLUGINS)
    assert run.exit_code == 4
    assert f"rig: error: argument {OPTION}: invalid value '0'" in run.stderr
    assert "at least 1" in run.stderr
"""

README = """\
# ${distribution}

A plugin for rig. `rig --plugin ${name}`
runs rig's common states (connect, `SELECT 1`, flavour and version), then its own state
`${state}`,
which runs `SELECT 1` N times (default 3), each through rig's retry policy, with the check
`${name}_queries`.

## Install and run

Install it into the Python rig runs in, with its `test` extra (pytest, for its tests):

    pip install -e '${install_target}'
    rig plugins                        # lists ${name}
    rig --plugin ${name} --host 127.0.0.1:3306 --user root \\
        --${option} 5

(`rig plugins install -e '${install_target}'` does the same with
rig's own Python.)

N is `--${option}`. It also comes from the environment,
`${env}`,
or from `rig.toml`: `queries = 5` in a `[${name}]` table, or at the top level
`${option} = 5`.
The command line wins over the environment, which wins over the file.

## Test

The tests need pytest, which the `test` extra brings (the same install line as above):

    pip install -e '${install_target}'
    pytest ${distribution}

The tests use rig's test kit: a throwaway server (mariadbd, mysqld or tidb-server on PATH), or
the server in `RIG_TEST_DSN=mysql://USER[:PASSWORD]@HOST:PORT/`.
"""

TEMPLATES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "${package}/__init__.py": PLUGIN_MODULE,
    "tests/test_${name}.py": TEST_MODULE,
}
"""Relative path template → content template of every generated file."""


@dataclass(frozen=True)
class Scaffold:
    """What ``rig plugins new`` writes: a root directory and its files with their text."""

    root: Path
    files: dict[Path, str]


def plan(name: str, directory: Path) -> Scaffold:
    """The package for plugin ``name`` under ``directory``; a bad name, an existing target or a
    ``directory`` that is not a directory is a :class:`UsageError`."""
    names = PluginNames.parse(name)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--dir {directory} is not a directory", hint="give a directory")
    root = directory / names.distribution
    if root.exists() or root.is_symlink():
        raise UsageError(f"{root} already exists; rig plugins new never overwrites",
                         hint="remove it, or choose another --dir or NAME")
    values = _values(names)
    files = {
        root / Template(path).substitute(values): Template(text).substitute(values)
        for path, text in TEMPLATES.items()
    }
    return Scaffold(root, files)


def write(scaffold: Scaffold) -> None:
    """Create the files of ``scaffold``; an OS error is a :class:`UsageError` naming the path."""
    try:
        scaffold.root.parent.mkdir(parents=True, exist_ok=True)
        scaffold.root.mkdir()
        for path, text in scaffold.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as stream:
                stream.write(text)
    except OSError as exc:
        where = exc.filename or scaffold.root
        raise UsageError(f"cannot create {where}: {exc.strerror}",
                         hint="check --dir and its permissions") from None
