"""docs/plugin-guide.md stays true: every hook documented with its exact signature, no hook
documented that does not exist, the whole public API listed and nothing else, the core's options
with their dests, links that resolve, the example plugins in the guide working against a real
server with the messages the guide quotes, and the examples it points to working."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import pytest

import rig
from rig import hookspecs
from rig.builtin import BUILTINS
from rig.config.parser import CORE_OWNER
from rig.host.manager import PluginHost
from rig.session.bootstrap import build_parser
from rig.testing import RigRunner, ServerDSN, make_plugin

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


def section(text: str, heading: str, level: int = 2) -> str:
    """The text under the heading ``heading`` of ``level`` up to the next heading of that level
    or above."""
    marks = "#" * level
    match = re.search(rf"^{marks} {re.escape(heading)}\n(.*?)(?=^#{{1,{level}}} |\Z)", text,
                      re.M | re.S)
    assert match, f"the guide has no '{marks} {heading}' section"
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
    for name in documented:
        entry = section(reference, f"`{name}`", level=3)
        problems += [f"{name}: no '{label}' line" for label in ("Called", "Reaches", "Raises")
                     if f"**{label}**" not in entry]
    implemented = re.findall(r"@rig\.hookimpl(?:\([^)]*\))?\ndef (rig_\w+)\(", text)
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
    vague = text.replace("- **Reaches**: every loaded plugin.\n- **Does**: `pluginmanager", "- "
                         "**Does**: `pluginmanager", 1)
    assert "rig_addhooks: no 'Reaches' line" in hook_problems(vague, signatures)


def api_problems(text: str, exported: list[str]) -> list[str]:
    """Names ``rig`` exports that the API table lacks, and names it lists that ``rig`` does not
    export."""
    listed = section(text, "Public API and stability")
    rows = re.findall(r"^\| ((?:`[\w.]+`(?:, )?)+) \|", listed, re.M)
    names = {name for row in rows for name in re.findall(r"`([\w.]+)`", row)}
    problems = [f"rig exports {name}, the table does not list it" for name in exported
                if name not in names]
    problems += [f"the table lists {name}, which rig does not export" for name in sorted(names)
                 if name not in exported]
    return problems


def test_the_public_api_table_lists_exactly_what_rig_exports() -> None:
    assert api_problems(GUIDE.read_text(), list(rig.__all__)) == []


def test_the_api_check_catches_a_missing_and_a_removed_name() -> None:
    text = GUIDE.read_text()
    assert "rig exports Timeline, the table does not list it" in \
        api_problems(text.replace("| `Timeline`, ", "| "), list(rig.__all__))
    stale = text.replace("| `Secret` |", "| `Secret`, `open_raw` |")
    assert "the table lists open_raw, which rig does not export" in \
        api_problems(stale, list(rig.__all__))


def core_options() -> dict[str, str]:
    """Flag → dest of every setting of the built-in plugins and the bootstrap options."""
    host = PluginHost()
    host.register_builtins(BUILTINS)
    parser = build_parser(host, None)
    owners = {name for name, _module in BUILTINS} | {CORE_OWNER}
    return {info.flag: dest for dest, info in parser.options.items()
            if info.setting and info.owner in owners}


def option_table_problems(text: str, expected: dict[str, str]) -> list[str]:
    """What the guide's table of the core's options gets wrong."""
    table = section(section(text, "Options"), "The core's options", level=3)
    rows = dict(re.findall(r"^\| `(--[a-z-]+)` \| `(\w+)` \|", table, re.M))
    problems = [f"{flag} (dest {dest}) is missing" for flag, dest in expected.items()
                if flag not in rows]
    problems += [f"{flag}: the table says dest {rows[flag]}, it is {dest}"
                 for flag, dest in expected.items() if flag in rows and rows[flag] != dest]
    problems += [f"{flag} is not a setting of the core" for flag in rows if flag not in expected]
    return problems


def test_the_core_options_are_listed_with_their_dests() -> None:
    expected = core_options()
    assert {"--host", "--keep-tables", "--report-json", "--junit-xml", "--color",
            "--disable-plugin"} <= set(expected)
    assert "--help" not in expected and "--config" not in expected  # not settings
    assert option_table_problems(GUIDE.read_text(), expected) == []


def test_the_option_check_catches_a_missing_a_wrong_and_an_extra_row() -> None:
    text = GUIDE.read_text()
    expected = core_options()
    missing = re.sub(r"^\| `--keep-tables` .*\n", "", text, flags=re.M)
    assert "--keep-tables (dest keep_tables) is missing" in \
        option_table_problems(missing, expected)
    wrong = text.replace("| `--ssl-mode` | `ssl_mode` |", "| `--ssl-mode` | `sslmode` |")
    assert "--ssl-mode: the table says dest sslmode, it is ssl_mode" in \
        option_table_problems(wrong, expected)
    extra = text.replace("| `--port` |", "| `--ping-count` | `ping_count` | int |\n| `--port` |")
    assert "--ping-count is not a setting of the core" in option_table_problems(extra, expected)


def test_relative_links_resolve() -> None:
    targets = re.findall(r"\]\((\.\.?/[^)#]+)", GUIDE.read_text())
    assert targets
    broken = [t for t in targets if not (GUIDE.parent / t).exists()]
    assert broken == []


def test_the_config_table_example_is_what_rig_does(rig_runner: RigRunner) -> None:
    [toml] = re.findall(r"```toml\n(load-duration.*?)```", GUIDE.read_text(), re.S)
    (rig_runner.workdir / "rig.toml").write_text(toml)
    run = rig_runner.run("--print-config", report=False)
    assert run.exit_code == 0, run.output
    assert f"load-duration = 30.0  # config {rig_runner.workdir / 'rig.toml'}" in \
        run.stdout.splitlines()
    assert "unknown" not in run.stderr


# --- the example plugins of the guide, run as the guide says --------------------------------


def example(name: str) -> types.ModuleType:
    """The guide's code block marked ``<!-- example: NAME -->``, as a plugin module."""
    found = re.findall(rf"<!-- example: {name} -->\n```python\n(.*?)```", GUIDE.read_text(),
                       re.S)
    assert len(found) == 1, f"the guide has {len(found)} blocks marked 'example: {name}'"
    module = types.ModuleType(f"plugin_guide_{name}")
    exec(compile(found[0], f"{GUIDE}:example:{name}", "exec"), module.__dict__)
    return module


def quoted(marker: str) -> list[str]:
    """The messages the guide quotes (indented lines) that start with ``marker``."""
    return [line.strip() for line in GUIDE.read_text().splitlines()
            if line.startswith(f"    {marker}")]


def _databases(server: ServerDSN, name: str) -> list[str]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                           "WHERE SCHEMA_NAME = %s", (name,))
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def test_the_scratch_example_leaves_nothing_behind(rig_runner: RigRunner,
                                                   rig_server: ServerDSN) -> None:
    name = f"rig_guide_{uuid.uuid4().hex[:8]}"
    run = rig_runner.run_on_server("--plugin", "acme", "--connections", "2", "--acme-rows", "3",
                                   "--acme-database", name, plugins=[("acme", example("scratch"))])
    assert run.exit_code == 0, run.output
    assert run.section("acme") == {"c1": 3, "c2": 3}
    assert run.report is not None
    scratch = run.report["scratch"]
    assert f"database {name} at {rig_server.address}" in scratch["created"]
    assert scratch["dropped"] == [f"database {name} at {rig_server.address}"]
    assert scratch["left"] == []
    assert _databases(rig_server, name) == []
    fills = sorted((event["connection"], event["kind"]) for event in run.report["timeline"]
                   if event["name"] == "acme.fill")
    assert fills == [("c1", "end"), ("c1", "start"), ("c2", "end"), ("c2", "start")]


def test_the_scratch_example_never_touches_a_database_that_holds_something(
        rig_runner: RigRunner, rig_server: ServerDSN, rig_database: str) -> None:
    connection = rig_server.connect(database=rig_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE precious (id INT PRIMARY KEY)")
        run = rig_runner.run_on_server("--plugin", "acme", "--acme-database", rig_database,
                                       plugins=[("acme", example("scratch"))])
        assert run.exit_code == 4, run.output
        assert f"database {rig_database!r} at {rig_server.address} already exists and holds " \
               "1 object(s) (base table precious)" in run.stderr
        assert "choose another --acme-database, or empty it" in run.stderr
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = %s", (rig_database,))
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()


def test_the_scratch_example_keeps_its_tables_when_asked(rig_runner: RigRunner,
                                                         rig_server: ServerDSN) -> None:
    name = f"rig_guide_{uuid.uuid4().hex[:8]}"
    try:
        run = rig_runner.run_on_server("--plugin", "acme", "--acme-database", name,
                                       "--keep-tables", plugins=[("acme", example("scratch"))])
        assert run.exit_code == 0, run.output
        assert run.report is not None and run.report["scratch"]["dropped"] == []
        assert _databases(rig_server, name) == [name]
    finally:
        connection = rig_server.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            connection.close()


def test_the_required_option_example_says_what_the_guide_says(rig_runner: RigRunner) -> None:
    plugin = [("acme", example("require"))]
    unselected = rig_runner.run("--help", plugins=plugin, report=False)
    assert unselected.exit_code == 0  # the option breaks no run that does not select acme
    missing = rig_runner.run("--plugin", "acme", plugins=plugin, report=False)
    wrong = rig_runner.run("--plugin", "acme", "--acme-endpoint", "ftp://x", plugins=plugin,
                           report=False)

    def unset_invalid(config: rig.Config) -> None:
        raise config.invalid("acme_endpoint", "give an http:// or https:// URL")

    unset = rig_runner.run("--plugin", "acme", report=False, plugins=[
        ("acme", make_plugin(rig_addoption=plugin[0][1].rig_addoption,
                             rig_configure=unset_invalid))])
    assert (missing.exit_code, wrong.exit_code, unset.exit_code) == (4, 4, 4)
    messages = quoted("rig: error: argument --acme-endpoint")
    assert len(messages) == 3
    for message, run in zip(messages, (missing, wrong, unset), strict=True):
        assert message in run.stderr.splitlines(), run.stderr


def test_the_reporter_example_writes_its_file(rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "checks.csv"
    plugin = [("acme_csv", example("reporter"))]
    run = rig_runner.run_on_server("--plugin", "basic,acme_csv", "--acme-csv-file", str(path),
                                   plugins=plugin)
    assert run.exit_code == 0, run.output
    lines = path.read_text().splitlines()
    assert lines[0] == "connection,plugin,check,verdict,detail"
    assert any(line.startswith("c1,common,connection,pass,") for line in lines)
    assert any(line.startswith("c1,basic,latency,pass,") for line in lines)
    bad = rig_runner.run_on_server("--plugin", "acme_csv", "--acme-csv-file",
                                   str(tmp_path / "no" / "such" / "dir.csv"), plugins=plugin)
    assert bad.exit_code == 4
    assert "No such file or directory: check the path" in bad.stderr
    assert bad.report is not None  # the other reporters still wrote


def test_the_command_example_runs(rig_runner: RigRunner) -> None:
    plugin = [("acme", example("command"))]
    run = rig_runner.run("acme", "--count", "3", plugins=plugin, report=False)
    assert (run.exit_code, run.stdout) == (0, "items_c1\nitems_c2\nitems_c3\n")
    listed = rig_runner.run("--help", plugins=plugin, report=False)
    assert re.search(r"^  acme +list the tables acme would create \(acme\)$", listed.stdout,
                     re.M)
    bad = rig_runner.run("acme", "--bogus", plugins=plugin, report=False)
    assert bad.exit_code == 4
    assert bad.stderr.splitlines() == [
        "rig: error: rig acme: unrecognized arguments: --bogus: see rig acme --help"]


def test_the_wrapper_example_wraps_every_other_section(rig_runner: RigRunner,
                                                       rig_server: ServerDSN) -> None:
    def acme_report() -> dict[str, Any]:
        return {"n": 1}

    run = rig_runner.run_on_server(
        "--plugin", "basic,acme,stamp",
        plugins=[("acme", make_plugin(rig_report=acme_report)), ("stamp", example("wrapper"))])
    assert run.exit_code == 0, run.output
    assert run.section("acme") == {"n": 1, "host": rig_server.host}
    assert run.section("basic")["host"] == rig_server.host
    assert run.report is not None and "stamp" not in run.report["sections"]


def test_the_quoted_json_and_clash_messages_are_rigs(rig_runner: RigRunner) -> None:
    from decimal import Decimal

    def report() -> dict[str, Any]:
        return {"total": Decimal("1.5")}

    run = rig_runner.run_on_server("--plugin", "acme",
                                   plugins=[("acme", make_plugin(rig_report=report))])
    assert run.exit_code == 3
    [message] = quoted("rig: error: plugin 'acme' returned a report section that is not JSON")
    assert message in run.stderr.splitlines()

    def limit(parser: rig.OptionParser) -> None:
        parser.getgroup("limits").addoption("--limit", type=int, default=1)

    clash = rig_runner.run("--plugin", "alpha", "--help", report=False, plugins=[
        ("alpha", make_plugin(rig_addoption=limit)), ("beta", make_plugin(rig_addoption=limit))])
    text = GUIDE.read_text()
    block = text[text.index("    plugin 'beta' failed to load"):]
    quoted_clash = " ".join(line.strip() for line in block[:block.index("\n\n")].splitlines())
    assert quoted_clash in clash.stderr


# --- the examples the guide points to ------------------------------------------------------


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
    assert re.search(r"\b[1-9]\d* passed", done.stdout)
    assert not re.search(r"failed|error|skipped", done.stdout.splitlines()[-1])


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


# --- every option the docs name exists ---------------------------------------------------


DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "docs" / "user-guide.md",
        ROOT / "docs" / "troubleshooting.md", GUIDE]
NOT_RIGS = {
    "--test",             # bash scripts/setup --test
    "--timeout", "--strict-markers", "--force-reinstall",  # pytest's and pip's
    "--ping-count",       # a 0.1 name, quoted as what no longer works
    "--x", "--y",         # placeholders in the troubleshooting table
    "--bogus",            # the guide's example of a bad argument
}
"""Flags the docs show that are not rig's, on purpose."""


def rig_flags() -> set[str]:
    """Every flag of ``rig`` (every installed plugin's included) and of ``rig plugins …``."""
    import argparse

    from rig.session.bootstrap import load_plugins

    options = argparse.Namespace(disable_plugin=[], plugin_directives=[],
                                 strict_plugins=False, verbose=0)
    flags = set(build_parser(load_plugins(options), None).flags())
    flags |= {"--json", "--all", "--dir", "--dry-run", "--upgrade", "--editable"}
    return flags


def unknown_flags(text: str, known: set[str]) -> list[str]:
    """Flags in ``text`` that are neither rig's nor allowed; the guide's example plugins'
    (``--acme-…``, ``--beta-…``, ``--my-check-…``, ``--count``, ``--limit``) are allowed."""
    found = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*[a-z0-9])", text))
    examples = re.compile(r"--(acme|beta|my-check)(-|$)|--(count|limit)$")
    return sorted(flag for flag in found - known - NOT_RIGS if not examples.match(flag))


def test_every_option_the_docs_name_exists() -> None:
    known = rig_flags()
    problems = {}
    for path in DOCS:
        text = path.read_text()
        if path == GUIDE:  # the migration notes list the 0.1 names on purpose
            text = text.replace(section(text, "Migrating from 0.1 to 0.2"), "")
        unknown = unknown_flags(text, known)
        if unknown:
            problems[path.name] = unknown
    assert problems == {}


def test_the_flag_check_catches_an_old_name() -> None:
    assert unknown_flags("rig --demo-rows 5 --basic-ping-count 3",
                         rig_flags()) == ["--demo-rows"]
