"""Progress while load runs: sysbench-like interval lines in a pipe, one live line rewritten
in place on a terminal (rig run under a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from rig.testing import RigRunner, ServerDSN

INTERVAL_LINE = re.compile(
    r"\[ (?P<t>[\d.]+)s \] thds: 2 tps: \d+\.\d\d qps: \d+\.\d\d lat \(ms,95%\): \d+\.\d\d "
    r"err/s: 0\.00 reconn/s: 0\.00$")
LIVE_LINE = re.compile(
    rb"\r\x1b\[2Kload \[ [\d.]+s / 1\.5s \] thds: [12] qps: \d+ tps: \d+ p95: \d+\.\d\d ms "
    rb"p99: \d+\.\d\d ms errors: 0")
READ_TIMEOUT_S = 60.0


def test_in_a_pipe_every_interval_is_one_sysbench_like_line(rig_runner: RigRunner,
                                                            rig_database: str) -> None:
    run = rig_runner.run("--plugin", "load", "--database", rig_database, "--table-size", "200",
                         "--connections", "2", "--duration", "1", "--report-interval", "0.25")

    assert run.exit_code == 0, run.output
    found = [m for m in map(INTERVAL_LINE.search, run.stderr.splitlines()) if m]
    assert [float(m["t"]) for m in found] == [0.25, 0.5, 0.75, 1.0]
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    assert all(i["p99_ms"] >= i["p95_ms"] for i in run.section("load")["intervals"])


def read_until_closed(fd: int, deadline: float) -> bytes:
    """Everything written to the terminal until the last writer closes it (or the deadline)."""
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
    return b"".join(chunks)


def test_on_a_terminal_one_live_line_is_rewritten(rig_server: ServerDSN, rig_database: str,
                                                  tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    env.update(rig_server.rig_env())
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "rig", "--plugin", "load", *rig_server.rig_args(),
         "--database", rig_database, "--table-size", "200", "--connections", "2",
         "--ramp-up", "0.5", "--duration", "1", "--report-interval", "0.25",
         "--report-json", str(report)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    try:
        terminal = read_until_closed(master, time.monotonic() + READ_TIMEOUT_S)
        stdout, _ = child.communicate(timeout=READ_TIMEOUT_S)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()

    assert child.returncode == 0, terminal.decode(errors="replace")
    updates = LIVE_LINE.findall(terminal)
    intervals = json.loads(report.read_text())["sections"]["load"]["intervals"]
    assert len(updates) == len(intervals) == 6  # 2 of the ramp-up, 4 measured
    assert b"(ramp-up)" in terminal
    assert b"thds: 2 tps:" not in terminal  # no sysbench-like interval lines
    last = terminal.rindex(b"\r\x1b[2Kload [")
    assert terminal.index(b"\n", last) > last  # the live line ends before what follows
    assert b"load: point-select" in stdout
