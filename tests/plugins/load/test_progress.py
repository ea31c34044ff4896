"""Progress while load runs: sysbench-like interval lines in a pipe, one live line rewritten
in place on a terminal (rig run under a pseudo-terminal), through the run's terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

from rig.testing import RigRunner, ServerDSN

INTERVAL_LINE = re.compile(
    r"\[ (?P<t>[\d.]+)s \] thds: 2 tps: \d+\.\d\d qps: \d+\.\d\d lat \(ms,95%\): \d+\.\d\d "
    r"err/s: 0\.00 reconn/s: 0\.00$")
LIVE_LINE = re.compile(  # the first is drawn as is, each next one over the last (\r, clear)
    rb"(?:^|\r\x1b\[2K)load \[ (?P<t>[\d.]+)s / 1\.5s \] thds: [12] qps: \d+ tps: \d+ "
    rb"p95: \d+\.\d\d ms p99: \d+\.\d\d ms errors: 0", re.MULTILINE)
COLUMNS = 200
READ_TIMEOUT_S = 60.0


def test_in_a_pipe_every_interval_is_one_sysbench_like_line(rig_runner: RigRunner,
                                                            rig_database: str) -> None:
    run = rig_runner.run_on_server(
        "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--connections", "2", "--load-duration", "1", "--load-report-interval", "0.25")

    assert run.exit_code == 0, run.output
    found = [m for m in map(INTERVAL_LINE.search, run.stderr.splitlines()) if m]
    assert [float(m["t"]) for m in found] == [0.25, 0.5, 0.75, 1.0]
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    assert all(i["p99_ms"] >= i["p95_ms"] for i in run.section("load")["intervals"])


def read_until(fd: int, deadline: float, done: Callable[[bytes], bool] | None = None,
               ) -> bytes:
    """What is written to the terminal until ``done(everything so far)`` is true, or else
    until the last writer closes it (or the deadline, a backstop)."""
    chunks: list[bytes] = []
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
        if done is not None and done(b"".join(chunks)):
            break
    return b"".join(chunks)


def start_on_a_terminal(rig_server: ServerDSN, *args: str) -> tuple[subprocess.Popen[bytes],
                                                                     int]:
    """rig with its stderr on a pseudo-terminal of COLUMNS columns; returns the process and
    the terminal's master side."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RIG_") and k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(rig_server.rig_env(), TERM="xterm")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "rig", *rig_server.rig_args(), *args],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                             env=env)
    os.close(slave)
    return child, master


def test_on_a_terminal_one_live_line_is_rewritten(rig_server: ServerDSN, rig_database: str,
                                                  tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    child, master = start_on_a_terminal(
        rig_server, "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--connections", "2", "--load-ramp-up", "0.5", "--load-duration", "1",
        "--load-report-interval", "0.25", "--report-json", str(report))
    try:
        terminal = read_until(master, time.monotonic() + READ_TIMEOUT_S)
        stdout, _ = child.communicate(timeout=READ_TIMEOUT_S)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()

    assert child.returncode == 0, terminal.decode(errors="replace")
    shown = sorted({float(t) for t in LIVE_LINE.findall(terminal)})  # redraws count once
    intervals = json.loads(report.read_text())["sections"]["load"]["intervals"]
    assert shown == [i["t_s"] for i in intervals] == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
    assert b"(ramp-up)" in terminal
    assert b"thds: 2 tps:" not in terminal  # no sysbench-like interval lines
    last = terminal.rindex(b"load [")
    assert terminal.index(b"\n", last) > last  # the live line ends before what follows
    assert b"load: point-select" in stdout


def test_ctrl_c_ends_the_live_line(rig_server: ServerDSN, rig_database: str) -> None:
    child, master = start_on_a_terminal(
        rig_server, "--plugin", "load", "--database", rig_database, "--load-table-size", "200",
        "--load-duration", "120", "--load-report-interval", "0.1")
    try:
        shown = read_until(master, time.monotonic() + READ_TIMEOUT_S,
                           lambda so_far: b"load [ " in so_far)
        assert b"load [ " in shown, shown.decode(errors="replace")[-2000:]
        child.send_signal(signal.SIGINT)
        terminal = shown + read_until(master, time.monotonic() + READ_TIMEOUT_S)
        child.communicate(timeout=READ_TIMEOUT_S)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()

    assert child.returncode == 2, terminal.decode(errors="replace")[-2000:]
    last = terminal.rindex(b"load [")
    assert b"\n" in terminal[last:]  # the live line was ended ...
    assert terminal.endswith(b"\n")  # ... and nothing is left on an unfinished line
    assert b"interrupted" in terminal[last:]
