"""Ctrl-C (SIGINT) and SIGTERM at every moment of a run, sent to a real ``rig`` process: exit 2,
one ``rig: interrupted…`` line and no traceback; once the options are parsed the reports are
written; what the run started (a sandbox server, its directory, scratch data) is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rig import interrupts
from rig.testing import ServerDSN

from fake_distributions import FakeDistributions

DEADLINE_S = 60.0
"""A backstop only: every wait ends as soon as what it waits for is observed."""
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def wait_for(condition: Callable[[], object], what: str,
             proc: subprocess.Popen[str] | None = None) -> object:
    """Poll ``condition`` until it is true; fail naming ``what`` after the backstop, or at
    once when ``proc`` ended first."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = condition()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"rig ended before {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


class Rig:
    """``python -m rig ARGS`` in a subprocess, with SIGINT at its default (a test runner may
    ignore it, and a child inherits that)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rig", *args], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def handles_sigterm(self) -> bool:
        """Whether rig's own SIGTERM handler is installed (``SigCgt`` in /proc): the first
        moment rig's code runs."""
        status = Path(f"/proc/{self.proc.pid}/status")
        try:
            text = status.read_text()
        except FileNotFoundError:
            return False
        caught = next(line for line in text.splitlines() if line.startswith("SigCgt:"))
        return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))

    def interrupt(self, signum: int) -> tuple[int, str]:
        """Send ``signum``; the exit code and stderr."""
        self.proc.send_signal(signum)
        _stdout, stderr = self.proc.communicate(timeout=DEADLINE_S)
        return self.proc.returncode, stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def start_rig(tmp_path: Path, fake_dists: FakeDistributions
              ) -> Iterator[Callable[..., Rig]]:
    started: list[Rig] = []

    def start(*args: str, **env: str) -> Rig:
        environ = {**{k: v for k, v in os.environ.items() if not k.startswith("RIG_")},
                   "PYTHONPATH": str(fake_dists.root),
                   "XDG_CACHE_HOME": str(tmp_path / "cache"), **env}
        started.append(Rig(list(args), environ))
        return started[-1]

    yield start
    for rig in started:
        rig.kill()


def rig_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("rig:")]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_as_soon_as_rig_handles_it_exits_2_with_one_line(
        start_rig: Callable[..., Rig], tmp_path: Path, signum: int) -> None:
    """The earliest moment rig can answer: its SIGTERM handler is in place (before that,
    Python is still starting and the signal acts as it does on any program)."""
    report = tmp_path / "r.json"
    rig = start_rig("--host", "127.0.0.1:1", "--report-json", str(report))
    wait_for(rig.handles_sigterm, "rig's SIGTERM handler", rig.proc)
    code, stderr = rig.interrupt(signum)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(rig_lines(stderr)) == 1, stderr
    assert rig_lines(stderr)[0].startswith("rig: interrupted"), stderr
    if report.exists():  # the options were parsed by then: the report holds what ran
        assert json.loads(report.read_text())["interrupted"] is True


SLOW_IMPORT = """
    import time
    from pathlib import Path
    Path({marker!r}).write_text("importing")
    time.sleep(120)
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_plugins_load_exits_2_before_any_report_is_known(
        start_rig: Callable[..., Rig], fake_dists: FakeDistributions, tmp_path: Path,
        signum: int) -> None:
    marker, report = tmp_path / "importing", tmp_path / "r.json"
    fake_dists.add("rig-plugin-slow", "slow", "rig_slow_mod",
                   SLOW_IMPORT.format(marker=str(marker)))
    rig = start_rig("--host", "127.0.0.1:1", "--report-json", str(report))
    wait_for(marker.exists, "the plugin's import", rig.proc)
    code, stderr = rig.interrupt(signum)
    assert code == 2, stderr
    assert rig_lines(stderr) == ["rig: interrupted"], stderr
    assert "Traceback" not in stderr
    assert not report.exists()  # the options were not parsed yet: no report path is known


SLOW_CONFIGURE = """
    import time
    from pathlib import Path
    import rig

    @rig.hookimpl
    def rig_configure(config):
        Path({marker!r}).write_text("configuring")
        time.sleep(120)
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_plugins_configure_writes_the_reports(
        start_rig: Callable[..., Rig], fake_dists: FakeDistributions, tmp_path: Path,
        signum: int) -> None:
    marker, report, junit = tmp_path / "configuring", tmp_path / "r.json", tmp_path / "r.xml"
    fake_dists.add("rig-plugin-slowconf", "slowconf", "rig_slowconf_mod",
                   SLOW_CONFIGURE.format(marker=str(marker)))
    rig = start_rig("--host", "127.0.0.1:1", "--plugin", "slowconf",
                    "--report-json", str(report), "--junit-xml", str(junit))
    wait_for(marker.exists, "the plugin's rig_configure", rig.proc)
    code, stderr = rig.interrupt(signum)
    assert code == 2, stderr
    assert rig_lines(stderr) == ["rig: interrupted; the reports hold what ran"], stderr
    data = json.loads(report.read_text())
    assert (data["interrupted"], data["exit_code"], data["connections"]) == (True, 2, [])
    assert junit.exists()


def processes_using(directory: Path) -> list[str]:
    """Command lines of the processes that name ``directory`` (the sandbox's server and its
    installer's bootstrap server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next(line for line in (entry / "status").read_text().splitlines()
                         if line.startswith("State:"))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
        if str(directory) in command and "Z" not in state.split()[1]:
            found.append(command)
    return found


def sandbox_directory(root: Path) -> Path | None:
    return next(root.glob("rig-sandbox-*"), None)


@pytest.mark.parametrize("moment", ["initialising", "starting"])
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_the_sandbox_starts_stops_it_and_removes_everything(
        start_rig: Callable[..., Rig], tmp_path: Path, moment: str, signum: int) -> None:
    """While mariadb-install-db runs its bootstrap server (``initialising``), or while the
    server starts (``starting``): the processes are killed, the directory is removed, exit 2
    with one line and the reports."""
    sandboxes, report = tmp_path / "tmp", tmp_path / "r.json"
    sandboxes.mkdir()
    rig = start_rig("--sandbox", "--report-json", str(report), TMPDIR=str(sandboxes))

    def reached() -> Path | None:
        directory = sandbox_directory(sandboxes)
        if directory is None:
            return None
        if moment == "initialising":
            return directory if any("--bootstrap" in c for c in processes_using(directory)) \
                else None
        return directory if (directory / "server.log").exists() else None

    directory = wait_for(reached, f"the sandbox {moment}", rig.proc)
    assert isinstance(directory, Path)
    code, stderr = rig.interrupt(signum)
    assert code == 2, stderr
    assert rig_lines(stderr) == ["rig: interrupted; the reports hold what ran"], stderr
    assert "Traceback" not in stderr
    assert processes_using(directory) == []
    assert not directory.exists(), (stderr, sorted(p.name for p in directory.rglob("*")))
    assert json.loads(report.read_text())["interrupted"] is True


HOLDER = """
    import rig

    class Holding:
        def execute(self, ctx):
            connection = ctx.require_connection()
            ctx.scratch.database(connection, {database!r})
            ctx.scratch.create_table(connection, {database!r}, "held", "(id INT)")
            connection.execute("INSERT INTO `{database}`.held VALUES (1)")
            connection.query("SELECT SLEEP(120) AS rig_hold_probe FROM `{database}`.held")

    class CleaningUp:
        def execute(self, ctx):
            thread = ctx.require_connection().scalar("SELECT CONNECTION_ID()")
            ctx.check("holder_cleanup", "pass", f"server thread {{thread}}")

    @rig.hookimpl
    def rig_register_states(registry):
        registry.add_state("holder_holding", Holding())
        registry.add_state("holder_cleaning_up", CleaningUp(), cleanup=True)
"""


def schemata(server: ServerDSN, name: str) -> int:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                       (name,))
        return int(cursor.fetchone()[0])


def running(server: ServerDSN, like: str) -> int:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
                       (like,))
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_after_an_interrupt_cleanup_uses_a_fresh_session_and_drops_what_the_run_created(
        start_rig: Callable[..., Rig], fake_dists: FakeDistributions, rig_server: ServerDSN,
        tmp_path: Path, signum: int) -> None:
    """The interrupted session's statement still holds its table on the server: the cleanup
    state gets a new session, and the run's own statement is killed so that dropping the
    scratch database does not wait for it."""
    database = f"rig_held_{signum}_{os.getpid()}"
    assert schemata(rig_server, database) == 0
    fake_dists.add("rig-plugin-holder", "holder", "rig_holder_mod",
                   HOLDER.format(database=database))
    report = tmp_path / "r.json"
    rig = start_rig(*rig_server.rig_args(), "--plugin", "holder",
                    "--report-json", str(report), **rig_server.rig_env())
    try:
        wait_for(lambda: running(rig_server, "SELECT SLEEP(120) AS rig_hold_probe%"),
                 "the holding statement", rig.proc)
        code, stderr = rig.interrupt(signum)
        assert code == 2, stderr
        assert rig_lines(stderr) == ["rig: interrupted; the reports hold what ran"], stderr
        assert schemata(rig_server, database) == 0
        assert running(rig_server, "SELECT SLEEP(120) AS rig_hold_probe%") == 0
        data = json.loads(report.read_text())
        assert data["scratch"]["left"] == []
        check = next(c for c in data["checks"] if c["name"] == "holder_cleanup")
        assert check["verdict"] == "pass"
    finally:
        with rig_server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")


def test_only_the_first_signal_interrupts_the_run_stops_in_order_after_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # `timeout` signals rig and then its process group: a second KeyboardInterrupt used to
    # cut the connections' wait short, and the scratch tables were dropped under running
    # workers (tests/plugins/load/test_load_interrupts.py, signalled twice)
    monkeypatch.setattr(interrupts, "_received", threading.Event())
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    interrupts.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)  # recorded; the run is already stopping
        signal.raise_signal(signal.SIGTERM)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert interrupts.received()
