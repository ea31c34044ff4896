"""The command as a user meets it: the password prompt on a real terminal, log formats, help."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import rig
from rig.testing import RigRunner, ServerDSN

PROMPT_SECRET = "Prompted-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def prompt_user(rig_server: ServerDSN) -> Iterator[str]:
    name = f"rig_prompt_{uuid.uuid4().hex[:6]}"
    with rig_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%%", "localhost"):
            cursor.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY %s", (PROMPT_SECRET,))
    yield name
    with rig_server.connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{name}'@'%', '{name}'@'localhost'")


def read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    """Read from a pty until ``marker`` appears (bounded in time)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{marker!r} never appeared; got {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            seen += chunk
    return seen


def _take_terminal() -> None:
    """In the child, after setsid: make its stdin (the pty) its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_password_prompt_on_a_terminal_is_hidden_and_works(
        rig_server: ServerDSN, prompt_user: str) -> None:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "--host", rig_server.address, "--user", prompt_user,
         "--password"], stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("RIG_")},
        # its own session, with the pty as its controlling terminal: getpass opens /dev/tty,
        # which would otherwise be the terminal pytest runs in
        start_new_session=True, preexec_fn=_take_terminal)
    os.close(secondary)
    try:
        read_until(primary, b"Password: ")
        os.write(primary, PROMPT_SECRET.encode() + b"\n")
        rest = read_until(primary, b"result: ")
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(primary)
    assert proc.returncode == 0, rest
    assert PROMPT_SECRET.encode() not in rest  # not echoed, not printed


def start_prompting(rig_server: ServerDSN, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """rig asking for its password on a real terminal (a pty it controls), at the prompt."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "--host", rig_server.address, "--password", *args],
        stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("RIG_")},
        start_new_session=True, preexec_fn=_take_terminal)
    os.close(secondary)
    read_until(primary, b"Password: ")
    return proc, primary


def test_end_of_input_at_the_password_prompt_is_one_usage_line(
        rig_server: ServerDSN, tmp_path: Path) -> None:
    proc, primary = start_prompting(rig_server, "--report-json", str(tmp_path / "r.json"))
    try:
        os.write(primary, b"\x04")  # Ctrl-D
        rest = read_until(primary, b"\r\n", timeout=30) + read_until(primary, b"@@end@@", 30)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(primary)
    assert proc.returncode == 4, rest
    lines = [line for line in rest.decode().splitlines() if line.strip()]
    assert lines == ["rig: error: no password was given at the prompt (end of input): type it, "
                     "or set RIG_PASSWORD or --password=VALUE"], rest


def test_ctrl_c_at_the_password_prompt_exits_2_with_the_reports(
        rig_server: ServerDSN, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc, primary = start_prompting(rig_server, "--report-json", str(report))
    try:
        os.write(primary, b"\x03")  # Ctrl-C: SIGINT from the terminal
        rest = read_until(primary, b"@@end@@", timeout=30)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        os.close(primary)
    assert proc.returncode == 2, rest
    lines = [line for line in rest.decode().splitlines() if line.strip()]
    assert lines == ["rig: interrupted; the reports hold what ran"], rest
    assert json.loads(report.read_text())["interrupted"] is True


def test_json_log_format_writes_one_object_per_line(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-v", "--log-format", "json")
    assert run.exit_code == 0, run.stderr
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert records
    transition = next(r for r in records if "→" in r["record"]["message"])
    assert transition["record"]["extra"]["conn"] == "c1"
    assert transition["record"]["level"]["name"] == "DEBUG"


def test_stdlib_logging_from_plugins_reaches_rigs_log(rig_runner: RigRunner) -> None:
    import logging

    def chatty(ctx: rig.Context) -> None:
        logging.getLogger("some.library").warning("message from the standard library")

    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("chatting", chatty)

    plugin = types.SimpleNamespace(rig_register_states=rig.hookimpl(rig_register_states))
    run = rig_runner.run_on_server("--plugin", "chatty", plugins=[("chatty", plugin)])
    assert run.exit_code == 0, run.stderr
    line = next(line for line in run.stderr.splitlines() if "standard library" in line)
    assert "WARNING" in line


def test_quiet_twice_hides_the_summary(rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-qq")
    assert run.exit_code == 0
    assert run.stdout == ""
