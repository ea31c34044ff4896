"""The server chaos may hurt: the run's sandbox, or a local server the user named with explicit
consent (``--chaos-server-pid PID --chaos-server-start CMD --chaos-i-own-this-server``). Chaos
never touches another process."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol

import rig

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class ServerTarget(Protocol):
    """A server process chaos may kill, restart and pause."""

    host: str
    port: int

    def kill(self) -> None:
        """SIGKILL the server and wait until it is gone."""

    def revive(self) -> None:
        """Start it again after :meth:`kill`; return once it accepts connections."""

    def restart(self) -> None:
        """A graceful restart (SIGTERM, wait, start)."""

    def pause(self) -> None:
        """SIGSTOP."""

    def resume(self) -> None:
        """SIGCONT (also when not paused)."""


class SandboxTarget:
    """The run's ``--sandbox`` server."""

    def __init__(self, sandbox: rig.Sandbox) -> None:
        self.sandbox = sandbox
        self.host, self.port = sandbox.host, sandbox.port

    def kill(self) -> None:
        """SIGKILL the server and wait until it is gone."""
        self.sandbox.kill()

    def revive(self) -> None:
        """Start it again on the same port and data; return once it answers."""
        self.sandbox.revive()

    def restart(self) -> None:
        """A graceful restart on the same port and data."""
        self.sandbox.restart()

    def pause(self) -> None:
        """SIGSTOP."""
        self.sandbox.pause()

    def resume(self) -> None:
        """SIGCONT."""
        self.sandbox.resume()


class LocalServer:
    """A server on this machine that the user gave chaos: its pid, and the command that starts
    it again in the foreground (the new process becomes the server)."""

    def __init__(self, pid: int, start_command: str, host: str, port: int) -> None:
        self.pid = pid
        self.command = shlex.split(start_command)
        self.host, self.port = host, port
        self._started: subprocess.Popen[bytes] | None = None

    def _alive(self) -> bool:
        if self._started is not None:
            return self._started.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        with contextlib.suppress(OSError):  # a zombie child of ours is gone too
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            state = stat.rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        return True

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def _wait_gone(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self._alive() and time.monotonic() < deadline:
            if self._started is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._started.wait(0.05)
            else:
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server and wait until it is gone."""
        self._signal(signal.SIGKILL)
        self._wait_gone()

    def revive(self) -> None:
        """Run the start command and wait until the port accepts connections."""
        if self._alive():
            return
        self._started = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        self.pid = self._started.pid
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._started.poll() is not None:
                raise rig.PluginError(f"--chaos-server-start exited with "
                                      f"{self._started.returncode} instead of starting the "
                                      "server", hint="check the command (it must run the "
                                      "server in the foreground)")
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.host, self.port), 1.0):
                return
            time.sleep(0.1)
        raise rig.PluginError(f"the server started by --chaos-server-start did not listen on "
                              f"{self.host}:{self.port} within {READY_TIMEOUT_S:g}s",
                              hint="check the command and the server's log")

    def restart(self) -> None:
        """SIGTERM, wait until it is gone (SIGKILL after a while), start it again."""
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
        self._wait_gone()
        self.kill()
        self.revive()

    def pause(self) -> None:
        """SIGSTOP."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        self._signal(signal.SIGCONT)
