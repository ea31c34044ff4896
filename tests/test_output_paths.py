"""Output paths (--report-json, --junit-xml, --log-file, a plugin's rig.types.output_file
option) are checked before the run starts: a directory, a path under a regular file or a
directory rig cannot write in is one usage line (exit 4), and no file is created or truncated
early."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

import rig
from rig.testing import RigRunner, make_plugin

OUTPUT_OPTIONS = ["--report-json", "--junit-xml", "--log-file"]


class Configured:
    """An in-process plugin that records whether the run got as far as rig_configure."""

    def __init__(self) -> None:
        self.called = False

    def plugin(self) -> object:
        def rig_configure(config: rig.Config) -> None:
            self.called = True

        return make_plugin(rig_configure=rig_configure)


def refused(rig_runner: RigRunner, *args: str, env: dict[str, str] | None = None) -> str:
    """Run with ``args``; assert the run was refused before it started, with one line and exit
    4; return that line."""
    probe = Configured()
    run = rig_runner.run_on_server(*args, env=env, report=False,
                                   plugins=[("probe", probe.plugin())])
    assert run.exit_code == 4, run.output
    assert not probe.called, "the run started"
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("rig: error: ")
    assert "Traceback" not in run.stderr
    return run.stderr.rstrip("\n")


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_a_directory_is_refused_before_the_run(rig_runner: RigRunner, tmp_path: Path,
                                               option: str) -> None:
    line = refused(rig_runner, option, str(tmp_path))
    assert line.startswith(f"rig: error: argument {option}: invalid value '{tmp_path}': "
                           "is a directory: ")
    assert line.endswith("(from command line)")


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_a_path_under_a_regular_file_is_refused(rig_runner: RigRunner, tmp_path: Path,
                                                option: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    target = blocker / "sub" / "out"
    line = refused(rig_runner, option, str(target))
    assert f"argument {option}: invalid value '{target}': {blocker} is not a directory: " \
        in line
    assert blocker.read_text() == "keep me"


def _can_create_in(directory: str) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=directory)
    except OSError as exc:
        assert exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS), exc
        return False
    os.close(fd)
    os.unlink(name)
    return True


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_a_directory_that_cannot_be_written_is_refused(rig_runner: RigRunner,
                                                       option: str) -> None:
    """sysfs refuses new files even to root (EACCES, or EROFS where it is mounted read-only)."""
    if _can_create_in("/sys"):
        pytest.skip("this machine lets the tests create files in /sys")
    line = refused(rig_runner, option, "/sys/rig-out/report")
    assert f"argument {option}: invalid value '/sys/rig-out/report': cannot create a file " \
        "in /sys: " in line
    assert ("permission denied" in line) or ("read-only file system" in line)
    assert not Path("/sys/rig-out").exists()


def test_the_source_of_a_bad_path_is_named(rig_runner: RigRunner, tmp_path: Path) -> None:
    line = refused(rig_runner, env={"RIG_JUNIT_XML": str(tmp_path)})
    assert line.endswith("(from env RIG_JUNIT_XML)")
    (tmp_path / "rig.toml").write_text(f'log-file = "{tmp_path}"\n')
    line = refused(rig_runner)
    assert line.endswith(f"(from config {tmp_path / 'rig.toml'})")


def test_existing_files_are_kept_when_the_run_is_refused(rig_runner: RigRunner,
                                                         tmp_path: Path) -> None:
    report, junit, log = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "rig.log"
    for path in (report, junit, log):
        path.write_text("from the last run\n")
    refused(rig_runner, "--report-json", str(report), "--junit-xml", str(junit),
            "--log-file", str(log), "--basic-ping-count", "0")
    assert [p.read_text() for p in (report, junit, log)] == ["from the last run\n"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.xml", "rig.log"]


def test_missing_directories_are_created_and_the_check_leaves_nothing_behind(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = rig_runner.run_on_server("--report-json", str(out / "a" / "r.json"),
                                   "--junit-xml", str(out / "b" / "r.xml"),
                                   "--log-file", str(out / "c" / "rig.log"), report=False)
    assert run.exit_code == 0, run.output
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert found == ["a/r.json", "b/r.xml", "c/rig.log"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_plugins_output_file_option(rig_runner: RigRunner, tmp_path: Path) -> None:
    written: list[str] = []

    def rig_addoption(parser: rig.OptionParser) -> None:
        parser.getgroup("acme").addoption("--acme-dump", type=rig.types.output_file,
                                          metavar="FILE")

    def rig_configure(config: rig.Config) -> None:
        written.append(config.getoption("acme_dump"))

    acme = make_plugin(rig_addoption=rig_addoption, rig_configure=rig_configure)
    run = rig_runner.run_on_server("--acme-dump", str(tmp_path), plugins=[("acme", acme)],
                                   report=False)
    assert run.exit_code == 4
    assert run.stderr == (f"rig: error: argument --acme-dump: invalid value '{tmp_path}': is a "
                          "directory: name a file in it (from command line)\n")
    assert written == []
    run = rig_runner.run_on_server("--plugin", "acme", "--acme-dump", "~/dump.txt",
                                   plugins=[("acme", acme)], report=False)
    assert run.exit_code == 0, run.output
    assert written == [str(Path("~/dump.txt").expanduser())]


def test_a_report_that_fails_when_written_exits_4_and_the_others_are_written(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    """The path was fine when the run began; a state made it a directory meanwhile."""
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"

    def take_the_path(ctx: rig.Context) -> None:
        report.mkdir()

    plugin = make_plugin(
        rig_register_states=lambda registry: registry.add_state("taking", take_the_path))
    run = rig_runner.run_on_server("--plugin", "taker", "--report-json", str(report),
                                   "--junit-xml", str(junit), plugins=[("taker", plugin)],
                                   report=False)
    assert run.exit_code == 4
    assert f"rig: error: cannot write --report-json {report}: is a directory: " in run.stderr
    assert junit.read_text().startswith("<?xml")
