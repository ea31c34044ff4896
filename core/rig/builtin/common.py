"""The built-in ``common`` plugin: the connection options, the throwaway sandbox server, and the
states every workflow starts with.

``initial → parsing_config → connecting → testing_connection → verifying_database →
getting_version``, then the selected plugins' states, then ``completed``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from typing import Any

from rig import types
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.db.connection import quote_identifier
from rig.db.flavor import ServerInfo, detect_server
from rig.db.resilience import DatabaseError
from rig.db.sandbox import SANDBOX, Sandbox, executable_file
from rig.db.scratch import grant_hint
from rig.db.settings import DEFAULT_PORT, HostPort, SslMode, existing_file, parse_hosts
from rig.engine.context import CURRENT_DATABASE, Context
from rig.engine.machine import DEFAULT_MAX_TRANSITIONS
from rig.engine.results import Verdict
from rig.engine.states import (
    CONNECTING,
    GETTING_VERSION,
    INITIAL,
    PARSING_CONFIG,
    TESTING_CONNECTION,
    VERIFYING_DATABASE,
    StateRegistry,
)
from rig.errors import ConnectError, UsageError
from rig.hookspecs import hookimpl
from rig.secret import Secret

MAX_CONNECTIONS = 10000
"""``--connections`` at most: each connection is a thread and a server session."""
DEFAULT_HOST = HostPort("127.0.0.1", None)
"""No port of its own: ``--port`` (default 4000) applies, so ``rig --port 3306`` works."""
PROMPT = Secret("\x00prompt")
"""``--password`` given without a value: ask on the terminal."""


class _Hosts(argparse.Action):
    """``--host`` repeated or comma-separated: the values given replace the default."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        current = getattr(namespace, self.dest, None)
        given = list(values or [])
        if current is self.default or current is None:
            setattr(namespace, self.dest, given)
        else:
            setattr(namespace, self.dest, [*current, *given])


def _secret(text: str) -> Secret:
    return Secret(text)


_ssl_modes = types.choice([mode.value for mode in SslMode])


def _ssl_mode(text: str) -> SslMode:
    return SslMode(_ssl_modes(text))


@hookimpl
def rig_addoption(parser: OptionParser) -> None:
    conn = parser.getgroup("connection")
    conn.addoption("--host", action=_Hosts, type=parse_hosts, default=[DEFAULT_HOST],
                   metavar="HOST[:PORT]",
                   help=f"server to test (default: {DEFAULT_HOST}, on --port); repeat or "
                   "comma-separate for several")
    conn.addoption("-P", "--port", type=types.int_range(1, 65535), default=DEFAULT_PORT,
                   help="port for hosts given without one (default: %(default)s)")
    conn.addoption("-u", "--user", default="root", help="user name (default: %(default)s)")
    conn.addoption("--password", nargs="?", const=PROMPT, type=_secret, secret=True,
                   metavar="PASSWORD",
                   help="password; without a value, prompt for it (hidden). Prefer "
                   "RIG_PASSWORD or the config file: a command line is visible to others")
    conn.addoption("-D", "--database", type=types.identifier("database name"),
                   help="database to use (must exist)")
    conn.addoption("--connect-timeout", type=types.positive_float, default=10.0,
                   metavar="SECONDS", help="connect timeout (default: %(default)s)")
    conn.addoption("--connections", type=types.int_range(1, MAX_CONNECTIONS), default=1,
                   metavar="N", help="connections to open to each host, each running the "
                   "workflow (default: %(default)s)")
    conn.addoption("--sandbox", action="store_true",
                   help="start a throwaway local server (tidb-server, mariadbd or mysqld), run "
                   "against it, and remove it afterwards")
    conn.addoption("--sandbox-binary", type=executable_file, metavar="PATH",
                   help="server binary for --sandbox (default: the first of tidb-server, "
                   "mariadbd, mysqld on PATH or in /usr/sbin)")

    tls = parser.getgroup("TLS")
    tls.addoption("--ssl-mode", type=_ssl_mode, default=SslMode.PREFERRED, metavar="MODE",
                  help="disabled, preferred, required, verify-ca or verify-identity (default: "
                  "preferred; TiDB Cloud: verify-identity)")
    tls.addoption("--ssl-ca", type=existing_file, metavar="FILE",
                  help="CA certificate file for verify-ca/verify-identity (default: the "
                  "system CA bundle)")

    run = parser.getgroup("run")
    run.addoption("--retry-attempts", type=types.positive_int, default=3, metavar="N",
                  help="attempts for an operation that fails transiently, the first "
                  "included (default: %(default)s)")
    run.addoption("--retry-max-time", type=types.positive_float, default=30.0,
                  metavar="SECONDS", help="give up retrying after this long "
                  "(default: %(default)s)")
    run.addoption("--breaker-threshold", type=types.positive_int, default=5, metavar="N",
                  help="consecutive failures that open a server's circuit breaker "
                  "(default: %(default)s)")
    run.addoption("--breaker-cooldown", type=types.positive_float, default=1.0,
                  metavar="SECONDS", help="an open breaker lets one trial call through at "
                  "a time, at most this often, at the callers' retry pace (default: "
                  "%(default)s)")
    run.addoption("--max-transitions", type=types.positive_int,
                  default=DEFAULT_MAX_TRANSITIONS, metavar="N",
                  help="end a workflow in error after this many transitions "
                  "(default: %(default)s)")
    run.addoption("--duration", type=types.positive_float, metavar="SECONDS",
                  help="how long plugins that run for a time run (load, consistency); a "
                  "plugin's own option, such as --load-duration, overrides it (default: each "
                  "plugin's own)")
    run.addoption("--txn-mode", type=types.choice(["optimistic", "pessimistic"]),
                  metavar="optimistic|pessimistic",
                  help="TiDB: begin the transactions plugins run (isolation, consistency) "
                  "with BEGIN OPTIMISTIC or BEGIN PESSIMISTIC (default: the server's "
                  "tidb_txn_mode)")
    run.addoption("--keep-tables", action="store_true",
                  help="keep the databases and tables the run created (default: drop them "
                  "at the end; rig never drops what it did not create)")


@hookimpl(tryfirst=True)
def rig_configure(config: Config) -> None:
    """Settle where to connect before other plugins look: the password prompt, and the
    sandbox (started here, so every plugin's ``rig_configure`` sees its address)."""
    option = config.option
    if option.sandbox:
        for dest in ("host", "port", "user", "password"):
            if config.source(dest) != "default":
                raise UsageError(f"--sandbox starts its own server, but --{dest} (from "
                                 f"{config.source(dest)}) names another server or login",
                                 hint="drop one of them")
    if option.password is PROMPT:
        option.password = Secret(_prompt_password())
    if not option.sandbox:
        return
    sandbox = Sandbox(server_binary=option.sandbox_binary)
    config.stash[SANDBOX] = sandbox
    sandbox.start()
    option.host = [HostPort(sandbox.host, sandbox.port)]
    option.user, option.password = sandbox.user, None


@hookimpl(trylast=True)
def rig_unconfigure(config: Config) -> None:
    """Remove the sandbox server, after every report is written."""
    sandbox = config.stash.pop(SANDBOX)
    if sandbox is not None:
        sandbox.stop()


def _prompt_password() -> str:
    """Ask for the password without echo, like ``mysql -p``."""
    if not sys.stdin.isatty():
        raise UsageError(
            "--password was given without a value and there is no terminal to ask on",
            hint="set RIG_PASSWORD, or pass --password=VALUE",
        )
    try:
        return getpass.getpass("Password: ")
    except (EOFError, KeyboardInterrupt) as exc:
        _end_prompt_line()  # what follows starts on a line of its own, as after Enter
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError("no password was given at the prompt (end of input)",
                         hint="type it, or set RIG_PASSWORD or --password=VALUE") from None


def _end_prompt_line() -> None:
    """End the ``Password: `` line on the terminal getpass wrote it to, as Enter would."""
    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\n")
    except OSError:
        pass


class Initial:
    """Marks the start of a connection's run."""

    def execute(self, ctx: Context) -> None:
        ctx.log.debug("starting")


class ParsingConfig:
    """Settles this connection's settings from the run's configuration."""

    def execute(self, ctx: Context) -> None:
        settings = ctx.settings
        ctx.log.debug("target {} as {} (TLS {}, database {})", settings.address, settings.user,
                      settings.ssl_mode, settings.database or "none")


class Connecting:
    """Opens the connection, retrying transient failures (refused while the server starts,
    too many connections) with backoff, behind the server's circuit breaker."""

    def execute(self, ctx: Context) -> None:
        start = time.perf_counter()
        connection = ctx.connect()
        ctx.metrics.observe("connect", (time.perf_counter() - start) * 1000)
        ctx.log.debug("connected to {} (server thread {})", ctx.settings.address,
                      connection.server_thread_id)


class TestingConnection:
    """One round trip (``SELECT 1``) proves the session works."""

    def execute(self, ctx: Context) -> None:
        connection = ctx.require_connection()
        start = time.perf_counter()
        value = connection.scalar("SELECT 1")
        elapsed_ms = (time.perf_counter() - start) * 1000
        if value != 1:
            ctx.check("connection", Verdict.FAIL, f"SELECT 1 returned {value!r}")
            return
        ctx.check("connection", Verdict.PASS,
                  f"{ctx.settings.user}@{ctx.settings.address}, SELECT 1 in {elapsed_ms:.2f} ms")


ER_DBACCESS_DENIED = 1044
ER_BAD_DB = 1049


class VerifyingDatabase:
    """Checks that ``--database`` exists and switches to it (quoted, so any name is safe)."""

    def execute(self, ctx: Context) -> None:
        name = ctx.settings.database
        if not name:
            return
        connection = ctx.require_connection()
        try:
            connection.execute(f"USE {quote_identifier(name)}")
        except DatabaseError as exc:
            where = ctx.settings.address
            if exc.code == ER_BAD_DB:
                raise ConnectError(f"database {name!r} does not exist at {where}",
                                   hint="create it or check --database") from None
            if exc.code == ER_DBACCESS_DENIED:  # also the answer for a missing one
                raise ConnectError(f"user {ctx.settings.user!r} may not use database {name!r} "
                                   f"at {where}, or it does not exist",
                                   hint=f"{grant_hint(connection, name)}, or check "
                                   "--database") from None
            raise
        ctx.data[CURRENT_DATABASE] = name
        ctx.check("database", Verdict.PASS, f"{name!r} exists")


class GettingVersion:
    """Detects the server's flavour, version and features (:class:`rig.ServerInfo`)."""

    def execute(self, ctx: Context) -> None:
        connection = ctx.require_connection()
        server: ServerInfo = detect_server(connection)
        ctx.server = server
        ctx.result.server = server
        tls = connection.tls()
        ctx.result.tls = {"version": tls.version, "cipher": tls.cipher} if tls else None
        ctx.log.debug("{} at {} ({}), TLS {}", server.describe(), ctx.settings.address,
                      server.version_string, f"{tls.version} {tls.cipher}" if tls else "off")


@hookimpl
def rig_register_states(registry: StateRegistry) -> None:
    registry.add_state(INITIAL, Initial(), description="start of the run")
    registry.add_state(PARSING_CONFIG, ParsingConfig(), description="settle connection settings")
    registry.add_state(CONNECTING, Connecting(), description="open the connection (with retry)")
    registry.add_state(TESTING_CONNECTION, TestingConnection(), description="SELECT 1")
    registry.add_state(VERIFYING_DATABASE, VerifyingDatabase(),
                       description="check --database exists and use it")
    registry.add_state(GETTING_VERSION, GettingVersion(), description="detect flavour and version")
