"""rig's basic plugin: what a person checking a database wants to see.

After the core's common states (connect, ``SELECT 1``, ``--database``, flavour and version) it
times ``--basic-ping-count`` round trips and inspects the session: current user, TLS, database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import rig

__version__ = "0.2.0"

PLUGIN = "basic"


@dataclass(frozen=True)
class SessionFacts:
    """What ``inspecting_session`` found."""

    current_user: str
    tls_version: str | None
    tls_cipher: str | None
    database: str | None
    database_exists: bool | None


PINGS: rig.Key[list[float]] = rig.Key("basic.pings_ms")
FACTS: rig.Key[SessionFacts] = rig.Key("basic.session")


class MeasureLatency:
    """Times ``--basic-ping-count`` round trips with COM_PING (no SQL parsing on the server)."""

    def execute(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        count = ctx.config.getoption("basic_ping_count")
        timings = []
        for _ in range(count):
            if ctx.cancelled:
                break
            start = time.perf_counter()
            connection.raw.ping(reconnect=False)
            timings.append((time.perf_counter() - start) * 1000.0)
        for value in timings:
            ctx.metrics.observe("ping", value)
        ctx.data[PINGS] = timings
        stats = rig.summarize(timings)
        ctx.check("latency", rig.Verdict.PASS,
                  f"{stats['count']} pings: min {stats['min']:.3f} ms, median "
                  f"{stats['median']:.3f} ms, p99 {stats['p99']:.3f} ms")


class InspectSession:
    """Current user, TLS in use and cipher, and whether ``--database`` exists."""

    def execute(self, ctx: rig.Context) -> None:
        connection = ctx.require_connection()
        user = str(connection.scalar("SELECT CURRENT_USER()"))
        tls = connection.tls()
        database = ctx.settings.database
        facts = SessionFacts(
            current_user=user,
            tls_version=tls.version if tls else None,
            tls_cipher=tls.cipher if tls else None,
            database=database,
            database_exists=True if database else None,  # verifying_database stops otherwise
        )
        ctx.data[FACTS] = facts
        if tls:
            ctx.check("tls", rig.Verdict.PASS, f"{tls.version} {tls.cipher}")
        else:
            ctx.check("tls", rig.Verdict.SKIP,
                      f"not in use (--ssl-mode {ctx.settings.ssl_mode}; "
                      "the server offers none or it is disabled)")


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    group = parser.getgroup(PLUGIN, "basic plugin: round-trip latency")
    group.addoption("--basic-ping-count", type=rig.types.int_range(1, 1_000_000), default=10,
                    metavar="N", help="round trips to time (default: %(default)s; at most a "
                    "million: each one's time is kept)")


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("basic_measuring_latency", MeasureLatency(),
                       description="time --basic-ping-count round trips")
    registry.add_state("basic_inspecting_session", InspectSession(),
                       description="current user, TLS, database")


def _connection_section(conn: rig.ConnectionResult) -> dict[str, Any]:
    data = conn.data
    pings = data.get(PINGS) if data else None
    facts = data.get(FACTS) if data else None
    server = conn.server
    return {
        "server": None if server is None else {
            "flavor": server.flavor.value,
            "version": server.version_text,
            "version_string": server.version_string,
            "release": server.tidb.get("Release Version"),
            "edition": server.tidb.get("Edition"),
            "store": server.tidb.get("Store"),
        },
        "latency_ms": rig.summarize(pings) if pings else None,
        "session": asdict(facts) if facts else None,
    }


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any]:
    return {conn.id: _connection_section(conn) for conn in result.connections}


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, write: Callable[[str], None]) -> None:
    for conn in result.connections:
        section = _connection_section(conn)
        facts, latency = section["session"], section["latency_ms"]
        if not facts and not latency:
            continue
        parts = []
        if latency:
            parts.append(f"latency min {latency['min']:.3f} / median {latency['median']:.3f} / "
                         f"p99 {latency['p99']:.3f} ms over {latency['count']} pings")
        if facts:
            parts.append(f"user {facts['current_user']}")
            parts.append(f"database {facts['database'] or '(none)'}")
        write(f"{conn.id}  " + " · ".join(parts))
