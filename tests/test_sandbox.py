"""The sandbox starts a real throwaway server and leaves nothing behind, also after failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest

from rig.db.sandbox import Sandbox, find_server
from rig.errors import SandboxError
from rig.testing import RigRunner

from fake_distributions import FakeDistributions


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: its /proc status says Z
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_sandbox_serves_then_removes_process_and_directory() -> None:
    with Sandbox() as box:
        assert box.pid is not None and box.directory is not None
        pid, directory = box.pid, box.directory
        with pymysql.connect(host=box.host, port=box.port, user=box.user, ssl_disabled=True) \
                as conn, conn.cursor() as cursor:
            cursor.execute("SELECT @@port, @@bind_address")
            assert cursor.fetchone() == (box.port, "127.0.0.1")
    assert not alive(pid)
    assert not directory.exists()


def test_sandbox_is_removed_after_a_failure_inside() -> None:
    with pytest.raises(RuntimeError, match="test failure"), Sandbox() as box:
        pid, directory = box.pid, box.directory
        raise RuntimeError("test failure")
    assert pid is not None and not alive(pid)
    assert directory is not None and not directory.exists()


def test_no_server_installed_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as raised:
        find_server(search_path=str(tmp_path))
    assert "no database server found for --sandbox" in str(raised.value)
    assert "apt-get install mariadb-server" in str(raised.value)


def sandbox_dir_of(stderr: str) -> Path:
    """The directory the sandbox of a run says it started in."""
    line = next(line for line in stderr.splitlines() if "sandbox mariadb (" in line)
    return Path(line.split(") in ", 1)[1].split(" listening on ", 1)[0])


def test_cli_sandbox_runs_the_workflow_and_cleans_up(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox")
    assert run.exit_code == 0, run.stderr
    assert run.report is not None
    conn = run.report["connections"][0]
    assert conn["host"] == "127.0.0.1" and conn["server"]["flavor"] == "mariadb"
    directory = sandbox_dir_of(run.stderr)
    assert directory.name.startswith("rig-sandbox-")
    assert not directory.exists()
    assert not [p for p in os.popen("pgrep -af rig-sandbox-").read().splitlines()
                if str(conn["port"]) in p]


def test_cli_sandbox_cleans_up_after_a_failed_run(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--database", "absent_db")
    assert run.exit_code == 5
    assert not sandbox_dir_of(run.stderr).exists()


@pytest.mark.parametrize(("name", "reason"), [
    ("no/such/tidb-server", "no such file"),
    ("", "no such file"),  # a directory
    ("mariadbd", "not executable (chmod +x it)"),
])
def test_cli_sandbox_with_a_bad_binary_is_a_usage_error(rig_runner: RigRunner, tmp_path: Path,
                                                        name: str, reason: str) -> None:
    """A --sandbox-binary that is not an executable file is the user's to fix: one line,
    exit 4, before any server starts."""
    binary = tmp_path / name
    if name == "mariadbd":
        binary.write_text("#!/bin/sh\n")
    run = rig_runner.run("--sandbox", "--sandbox-binary", str(binary), report=False)
    assert run.exit_code == 4, run.output
    assert run.stderr.splitlines() == [
        f"rig: error: argument --sandbox-binary: invalid value '{binary}': {reason} "
        "(from command line)"]


def test_a_server_that_does_not_start_shows_its_log_and_no_deleted_directory(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    """The sandbox's directory is gone when the error is shown: the message carries the end
    of the server's log, and the fix names the binary, not the directory."""
    fake = tmp_path / "bin" / "mariadbd"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ERROR: this server refuses to start' >&2\nexit 1\n")
    fake.chmod(0o755)
    run = rig_runner.run("--sandbox", "--sandbox-binary", str(fake), report=False)
    assert run.exit_code == 5
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error: ")]
    assert errors == [
        "rig: error: the sandbox mariadb server did not start: ERROR: this server refuses to "
        f"start: check that {fake} runs as a server (--sandbox-binary), or test a running "
        "server with --host"], run.stderr
    assert "rig-sandbox-" not in run.stderr


PORT_REPORTING_SLEEPER = """
    from pathlib import Path
    import rig

    def sleeping(ctx):
        Path({marker!r}).write_text(str(ctx.settings.port))
        ctx.require_connection().query("SELECT SLEEP(120)")

    @rig.hookimpl
    def rig_register_states(registry):
        registry.add_state("sleeping", sleeping)
"""


def test_sigterm_during_a_sandbox_run_cleans_up_and_reports(
        fake_dists: FakeDistributions, tmp_path: Path) -> None:
    """`timeout 60 rig --sandbox …` or a cancelled CI job: SIGTERM acts like Ctrl-C."""
    marker = tmp_path / "port.txt"
    fake_dists.add("rig-plugin-sleeper", "sleeper", "rig_sleeper_mod",
                   PORT_REPORTING_SLEEPER.format(marker=str(marker)))
    report = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(fake_dists.root),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "rig", "--sandbox", "--plugin", "sleeper",
                             "--report-json", str(report)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():  # the sleeping state has begun
            assert time.monotonic() < deadline, "the sleeping state never began"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        port = int(marker.read_text())
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr
    assert json.loads(report.read_text())["interrupted"] is True
    assert not sandbox_dir_of(stderr).exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the server is gone


def _answers(box: Sandbox, timeout: float = 2.0) -> bool:
    try:
        pymysql.connect(host=box.host, port=box.port, user=box.user, ssl_disabled=True,
                        connect_timeout=timeout, read_timeout=timeout).close()
    except pymysql.err.OperationalError:
        return False
    return True


def test_sandbox_faults_kill_revive_pause_resume_keep_port_and_data() -> None:
    with Sandbox() as box:
        port = box.port
        with pymysql.connect(host=box.host, port=port, user=box.user, ssl_disabled=True,
                             autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute("CREATE DATABASE kept")
        pid = box.pid
        assert pid is not None
        box.kill()
        assert not alive(pid) and not _answers(box)
        box.revive()
        assert box.port == port and box.pid != pid
        with pymysql.connect(host=box.host, port=port, user=box.user, ssl_disabled=True) \
                as conn, conn.cursor() as cursor:
            assert cursor.execute("SHOW DATABASES LIKE 'kept'") == 1  # same data directory
        box.pause()
        assert box.paused and not _answers(box, timeout=0.5)
        box.resume()
        assert not box.paused and _answers(box)
        before = box.pid
        box.restart(crash=True)
        assert box.pid != before and _answers(box)
        box.pause()  # stopping a frozen server does not hang
    assert box.pid is None
