"""The common states every workflow starts with, and their handlers.

``initial → parsing_config → connecting → testing_connection → verifying_database →
getting_version``, then the selected plugins' states, then ``completed``.
"""

from __future__ import annotations

import time

from rig.connection import quote_identifier
from rig.context import CURRENT_DATABASE, Context, Key
from rig.errors import ConnectError
from rig.flavor import ServerInfo, detect_server
from rig.results import Verdict
from rig.states import (
    CONNECTING,
    GETTING_VERSION,
    INITIAL,
    PARSING_CONFIG,
    TESTING_CONNECTION,
    VERIFYING_DATABASE,
    StateRegistry,
)

DATABASE_EXISTS: Key[bool] = Key("rig.database_exists")
"""Whether ``--database`` exists (absent when no database was given)."""


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


class VerifyingDatabase:
    """Checks that ``--database`` exists and switches to it (quoted, so any name is safe)."""

    def execute(self, ctx: Context) -> None:
        name = ctx.settings.database
        if not name:
            return
        connection = ctx.require_connection()
        found = connection.scalar(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)
        )
        ctx.data[DATABASE_EXISTS] = found is not None
        if found is None:
            raise ConnectError(f"database {name!r} does not exist at {ctx.settings.address}",
                               hint="create it or check --database")
        connection.execute(f"USE {quote_identifier(name)}")
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


def register_common_states(registry: StateRegistry) -> None:
    """Add the common states to ``registry`` (done by the core before any plugin's)."""
    registry.current_plugin = "rig"
    registry.add_state(INITIAL, Initial(), description="start of the run")
    registry.add_state(PARSING_CONFIG, ParsingConfig(), description="settle connection settings")
    registry.add_state(CONNECTING, Connecting(), description="open the connection (with retry)")
    registry.add_state(TESTING_CONNECTION, TestingConnection(), description="SELECT 1")
    registry.add_state(VERIFYING_DATABASE, VerifyingDatabase(),
                       description="check --database exists and use it")
    registry.add_state(GETTING_VERSION, GettingVersion(), description="detect flavour and version")
