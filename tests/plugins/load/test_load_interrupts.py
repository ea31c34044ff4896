"""Ctrl-C (and SIGTERM) sent to a real ``rig --plugin load`` while it fills its tables and while
it runs: exit 2, one ``rig: interrupted`` line and no handler error, and the ``rig_load``
database the run created is gone (the drop runs on a fresh session, after the interrupted
statements are killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rig.testing import ServerDSN

DEADLINE_S = 60.0
"""A backstop only: each wait ends as soon as what it waits for is seen."""
DATABASE = "rig_load"


def running(server: ServerDSN, like: str) -> bool:
    """Whether a statement matching ``like`` runs on the server (not this query itself)."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       "WHERE INFO LIKE %s AND INFO NOT LIKE %s", (like, "%PROCESSLIST%"))
        return bool(cursor.fetchone()[0])


def exists(server: ServerDSN, database: str) -> bool:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                       (database,))
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize(("moment", "args", "times"), [
    ("preparing", ["--load-table-size", "3000000"], 1),
    ("running", ["--load-table-size", "1000", "--load-duration", "120",
                 "--load-report-interval", "0.1"], 1),
    ("running", ["--load-table-size", "1000", "--load-duration", "120",
                 "--load-report-interval", "0.1", "--load-executor", "ray",
                 "--connections", "2"], 1),
    # twice at once, as `timeout` sends it (to rig, then to its process group) or an
    # impatient user: the scratch data is still dropped only once the workers stopped (Ray's
    # actors, outside rig's process, showed it: 1146 for the table dropped under them)
    ("running", ["--load-table-size", "1000", "--load-duration", "120",
                 "--load-report-interval", "0.1", "--connections", "2",
                 "--load-executor", "ray"], 2),
], ids=["preparing", "running", "running-on-ray", "running-signalled-twice"])
def test_an_interrupt_during_load_exits_2_and_drops_rig_load(
        rig_server: ServerDSN, tmp_path: Path, signum: int, moment: str,
        args: list[str], times: int) -> None:
    if rig_server.database is not None:
        pytest.skip("RIG_TEST_DSN names a database: the test account may not create rig_load")
    if exists(rig_server, DATABASE):
        pytest.skip(f"{DATABASE} exists on the test server: not this test's to touch")
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    env.update(rig_server.rig_env())
    child = subprocess.Popen(
        [sys.executable, "-m", "rig", *rig_server.rig_args(), "--plugin", "load", *args,
         "--report-json", str(report)],
        env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    stderr = child.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")),
                              daemon=True)
    reader.start()

    def reached() -> bool:
        if moment == "preparing":  # a batch of rows being inserted into the first table
            return running(rig_server, "INSERT INTO `rig_load`.`sbtest1`%")
        return any(" tps: " in line for line in list(lines))  # an interval measured

    try:
        deadline = time.monotonic() + DEADLINE_S
        while not reached():
            assert child.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, f"load never reached {moment}: {lines[-5:]}"
            time.sleep(0.02)
        for _ in range(times):
            child.send_signal(signum)
        child.wait(DEADLINE_S)
        reader.join(DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    err = "".join(lines)
    assert child.returncode == 2, err
    assert [line for line in err.splitlines() if line.startswith("rig: ")] == \
        ["rig: interrupted; the reports hold what ran"], err
    assert " raised " not in err and "Traceback" not in err
    assert not exists(rig_server, DATABASE)
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["scratch"]["left"] == []
    assert f"database {DATABASE} at {rig_server.address}" in data["scratch"]["dropped"]
    if moment == "running":  # what ran is reported, and nothing the interrupt cut short
        section = data["sections"]["load"]
        assert section["errors"]["total"] == 0, section["errors"]  # no table dropped under it
        assert section["latency_ms"]["min"] > 0
        assert all(interval["events"] > 0 for interval in section["intervals"]), \
            [(i["t_s"], i["events"]) for i in section["intervals"]]
        assert section["availability"]["stalls"] == []
