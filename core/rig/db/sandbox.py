"""A throwaway database server for ``rig --sandbox`` and the test fixtures.

It starts the first of tidb-server, mariadbd or mysqld found on PATH (or in /usr/sbin,
/usr/local/mysql/bin) in a new temporary directory, on a free port bound to 127.0.0.1, and
removes process and directory when done, also after a failure or Ctrl-C. The server dies with
its parent (``PR_SET_PDEATHSIG``) even if rig is killed.

The installer (``mariadb-install-db``, which runs a bootstrap server of its own) and the server
each run in a process group of their own: stopping kills the whole group and waits until none
of its processes is left before the directory is removed, so nothing writes into a directory
being removed. A start that fails or is interrupted kills at once (the data is thrown away).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from loguru import logger

from rig import interrupts
from rig.data import Key
from rig.errors import SandboxError

SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")
CANDIDATES = ("tidb-server", "mariadbd", "mysqld")
START_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
INSTALL_HINT = ("install a server: apt-get install mariadb-server (Debian/Ubuntu), or put "
                "tidb-server, mariadbd or mysqld on PATH")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_kind(binary: str) -> str:
    """``tidb``, ``mariadb`` or ``mysql``: what ``binary`` is (mysqld may be MariaDB's)."""
    name = Path(binary).name
    if name.startswith("tidb"):
        return "tidb"
    if name.startswith("mariadb"):
        return "mariadb"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    return "mariadb" if "mariadb" in version.lower() else "mysql"


def executable_file(text: str) -> str:
    """An option type (``--sandbox-binary``): a path to an executable file."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    if not os.access(path, os.X_OK):
        raise ValueError("not executable (chmod +x it)")
    return str(path)


def find_server(binary: str | None = None, search_path: str | None = None) -> tuple[str, str]:
    """``(kind, binary)`` of the server to start: ``binary`` if given, else the first of
    tidb-server, mariadbd, mysqld on ``search_path`` (default: ``$PATH`` plus the usual sbin
    directories). Raises :class:`SandboxError` naming the package to install."""
    if binary is not None:
        if not (Path(binary).is_file() and os.access(binary, os.X_OK)):
            raise SandboxError(f"sandbox server binary {binary} not found or not executable",
                               hint="check --sandbox-binary")
        return server_kind(binary), binary
    if search_path is None:
        search_path = os.pathsep.join([os.environ.get("PATH", ""), *SEARCH_DIRS])
    for name in CANDIDATES:
        found = shutil.which(name, path=search_path)
        if found is not None:
            return server_kind(found), found
    raise SandboxError("no database server found for --sandbox", hint=INSTALL_HINT)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie does not: it writes nothing,
    and an orphan's zombie waits for init, which may never reap it in a container)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def end_group(process: subprocess.Popen[bytes] | subprocess.Popen[str], *,
              graceful: bool) -> None:
    """End ``process`` — the leader of its own process group — and every process of its group
    (children it left behind included): SIGTERM and up to :data:`STOP_TIMEOUT_S` to go when
    ``graceful``, then SIGKILL; returns once none of them runs."""
    pgid = process.pid
    if process.poll() is not None and not _group_alive(pgid):
        return  # all gone: the group's id is free, and may be another's soon
    if graceful and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class TlsFiles:
    """The CA and server certificate of a sandbox started with ``tls=True``."""

    ca: Path
    cert: Path
    key: Path


@dataclass
class Sandbox:
    """A throwaway server. Use as a context manager::

        with Sandbox() as box:
            pymysql.connect(host=box.host, port=box.port, user=box.user)

    Tests inject faults with it: :meth:`restart` (a clean or, with ``crash=True``, a kill -9
    restart on the same port and data), :meth:`kill` then :meth:`revive`, :meth:`pause` then
    :meth:`resume` (SIGSTOP / SIGCONT). The server dies with the thread that started it, so
    call these from that thread (the test's) and run rig in another one.
    """

    server_binary: str | None = None
    """The server to start; default: the first found by :func:`find_server`."""
    tls: bool = False
    """Give the server a certificate (needs the ``trustme`` package)."""
    host: str = "127.0.0.1"
    user: str = "root"
    port: int = 0
    kind: str = ""
    binary: str = ""
    directory: Path | None = None
    start_seconds: float = 0.0
    tls_files: TlsFiles | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _paused: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process else None

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` froze the server (and :meth:`resume` has not run yet)."""
        return self._paused

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Find a server, initialise a data directory, start it and wait until it answers."""
        began = time.perf_counter()
        self.kind, self.binary = find_server(self.server_binary)
        self.directory = Path(tempfile.mkdtemp(prefix="rig-sandbox-"))
        try:
            if self.tls:
                self.tls_files = self._make_certificates()
            self._initialise()
            for _attempt in range(3):  # a port taken between choosing and binding: retry
                self.port = free_port()
                self._launch()
                if self._wait_ready():
                    break
                self._terminate()
            else:
                raise SandboxError(f"the sandbox {self.kind} server did not start: "
                                   f"{self._log_tail()}",  # its directory goes just after
                                   hint=f"check that {self.binary} runs as a server "
                                   "(--sandbox-binary), or test a running server with --host")
        except BaseException:  # a failure or Ctrl-C: no graceful shutdown for a discarded server
            self.stop(graceful=False)
            raise
        self.start_seconds = time.perf_counter() - began
        logger.info("sandbox {} ({}) in {} listening on {} (started in {:.2f}s)", self.kind,
                    self.binary, self.directory, self.address, self.start_seconds)

    def _make_certificates(self) -> TlsFiles:
        try:
            import trustme
        except ImportError:
            raise SandboxError("a TLS sandbox needs the trustme package",
                               hint="pip install trustme") from None
        assert self.directory is not None
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        files = TlsFiles(self.directory / "ca.pem", self.directory / "server.pem",
                         self.directory / "server-key.pem")
        ca.cert_pem.write_to_path(str(files.ca))
        cert.cert_chain_pems[0].write_to_path(str(files.cert))
        cert.private_key_pem.write_to_path(str(files.key))
        return files

    @property
    def _datadir(self) -> Path:
        assert self.directory is not None
        return self.directory / "data"

    @property
    def _tmpdir(self) -> Path:
        """The server's own temporary directory, inside the sandbox (never the shared /tmp,
        where other programs may clean up the server's temporary tables)."""
        assert self.directory is not None
        path = self.directory / "tmp"
        path.mkdir(exist_ok=True)
        return path

    def _user_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _initialise(self) -> None:
        if self.kind == "tidb":
            return
        if self.kind == "mariadb":
            installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
            if installer is None:
                raise SandboxError("mariadb-install-db not found",
                                   hint="apt-get install mariadb-server")
            command = [installer, "--no-defaults", f"--datadir={self._datadir}",
                       "--auth-root-authentication-method=normal", "--skip-test-db",
                       f"--tmpdir={self._tmpdir}", *self._user_args()]
        else:
            command = [self.binary, "--no-defaults", "--initialize-insecure",
                       f"--datadir={self._datadir}", *self._user_args()]
        installer_process: subprocess.Popen[str] | None = None
        try:
            with interrupts.deferred():
                installer_process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL, text=True, start_new_session=True)
            stdout, stderr = installer_process.communicate(timeout=INSTALL_TIMEOUT_S)
        except BaseException:  # timed out or interrupted: its bootstrap server goes too
            if installer_process is not None:
                end_group(installer_process, graceful=False)
            raise
        end_group(installer_process, graceful=False)  # whatever it left running
        if installer_process.returncode != 0:
            tail = (stderr or stdout).strip().splitlines()[-3:]
            raise SandboxError(f"initialising the sandbox data directory failed: "
                               f"{' / '.join(tail)}")

    def _launch(self) -> None:
        assert self.directory is not None
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - owned by the child
        if self.kind == "tidb":
            command = [self.binary, "-config", str(self._tidb_config()), "-P", str(self.port),
                       "-host", self.host, "-store", "unistore",
                       "-path", str(self.directory / "tidb"), "-status", str(free_port()),
                       "-status-host", self.host, "-log-file", str(self.directory / "tidb.log")]
        else:
            command = [
                self.binary, "--no-defaults", f"--datadir={self._datadir}",
                f"--port={self.port}", f"--bind-address={self.host}",
                f"--socket={self.directory / 'server.sock'}",
                f"--pid-file={self.directory / 'server.pid'}",
                f"--log-error={self.directory / 'server.log'}",
                f"--tmpdir={self._tmpdir}",
                "--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--max-connections=500",
                *self._user_args(),
            ]
            if self.kind == "mariadb":
                command += ["--skip-log-bin"]
            if self.tls_files is not None:
                command += [f"--ssl-ca={self.tls_files.ca}", f"--ssl-cert={self.tls_files.cert}",
                            f"--ssl-key={self.tls_files.key}"]
        # PR_SET_PDEATHSIG fires when the *thread* that started the server ends, so it is
        # only armed from the main thread, whose end is the process's.
        in_main_thread = threading.current_thread() is threading.main_thread()
        with interrupts.deferred():
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent if in_main_thread else None)
            log.close()

    def _tidb_config(self) -> Path:
        """tidb-server's config file: every path it writes to inside the sandbox directory
        (its defaults are ``/tmp/tidb``, ``/tmp/tidb-PORT.sock``, a temporary-storage directory
        under ``/tmp`` and a slow log in the working directory), and the TLS files."""
        assert self.directory is not None
        path = self.directory / "tidb.toml"
        quoted = {"temp-dir": self._tmpdir, "tmp-storage-path": self.directory / "tmp-storage",
                  "socket": self.directory / "tidb.sock"}
        lines = [f"{key} = {json.dumps(str(value))}" for key, value in quoted.items()]
        lines += ["[log]", f"slow-query-file = {json.dumps(str(self.directory / 'slow.log'))}"]
        if self.tls_files is not None:
            lines += ["[security]", f"ssl-ca = {json.dumps(str(self.tls_files.ca))}",
                      f"ssl-cert = {json.dumps(str(self.tls_files.cert))}",
                      f"ssl-key = {json.dumps(str(self.tls_files.key))}"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def _wait_ready(self) -> bool:
        import pymysql

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            interrupts.check()
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                pymysql.connect(host=self.host, port=self.port, user=self.user, password="",
                                connect_timeout=2, ssl_disabled=True).close()
                return True
            except pymysql.err.OperationalError:
                time.sleep(0.05)
        return False

    def restart(self, *, crash: bool = False) -> None:
        """Stop the server and start it again on the same port with the same data, as a
        server restart in the middle of a run would; with ``crash``, kill it (SIGKILL) rather
        than shut it down, so it recovers its data as after a crash."""
        if crash:
            self.kill()
        else:
            self._terminate()
        self.revive()

    def kill(self) -> None:
        """Kill the server (SIGKILL, as the OOM killer would) and wait until it is gone; the
        port and the data directory stay, for :meth:`revive`."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(STOP_TIMEOUT_S)

    def revive(self) -> None:
        """Start the server again on the same port with the same data (after :meth:`kill`);
        returns once it answers."""
        if self._process is not None and self._process.poll() is None:
            return
        self._launch()
        if not self._wait_ready():
            raise SandboxError(f"the sandbox {self.kind} server did not restart: "
                               f"{self._log_tail()}")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers, as with a
        hung server or a stalled VM, until :meth:`resume`."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Let a server frozen by :meth:`pause` run again (SIGCONT)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)
        self._paused = False

    def _log_tail(self) -> str:
        assert self.directory is not None
        log = self.directory / "server.log"
        if self.kind == "tidb" and (self.directory / "tidb.log").exists():
            log = self.directory / "tidb.log"  # stdout holds only a panic, if any
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        errors = [line for line in lines if "ERROR" in line or "FATAL" in line] or lines
        distinct = list(dict.fromkeys(errors))  # each start attempt appends the same lines
        return " / ".join(distinct[-3:]) or "no log"

    def _terminate(self, *, graceful: bool = True) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if self._paused:  # a frozen server would never act on SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)
            self._paused = False
        end_group(process, graceful=graceful)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server (``graceful``: SIGTERM first, else SIGKILL at once), wait until no
        process it started runs, and remove its directory; safe to call twice."""
        self._terminate(graceful=graceful)
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
            if directory.exists():
                logger.warning("could not remove the sandbox directory {}; remove it by hand",
                               directory)


SANDBOX: Key[Sandbox] = Key("rig.sandbox")
"""The run's sandbox server (``--sandbox``) in ``config.stash``, started by the built-in
``common`` plugin's ``rig_configure`` (before any other plugin's) and removed last: a plugin that
hurts the server (the chaos plugin) reads it as ``config.stash.get(rig.SANDBOX)``."""
