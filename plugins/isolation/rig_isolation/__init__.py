"""rig's isolation plugin: the Hermitage anomaly matrix, observed on real connections.

After the core's common states it claims a database (``--isolation-database``: created, or an
existing empty one), runs each Hermitage test (g0 … g2) at each isolation level on two or three
sessions driven in lockstep, each from a fresh table, and reports what it observed per test and
per anomaly, next to what the SQL standard promises. ``--isolation-expect FILE`` turns the run
into a regression check. rig drops the database it created at the end (unless
``--keep-tables``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rig
from rig_isolation import html_section, profile
from rig_isolation.catalog import TEST_IDS
from rig_isolation.matrix import render
from rig_isolation.workflow import RUN, CleanUp, IsolationRun, Judge, Prepare, TestIsolation

__version__ = "0.2.0"

PLUGIN = "isolation"


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    group = parser.getgroup(PLUGIN, "isolation plugin: the Hermitage anomaly matrix")
    group.addoption("--isolation-levels", type=rig.types.choice_list(list(rig.ISOLATION_LEVELS)),
                    default=list(rig.ISOLATION_LEVELS), metavar="LEVEL,...",
                    help="isolation levels to test (default: all four; on TiDB the two it "
                    "accepts, read-committed and repeatable-read)")
    group.addoption("--isolation-tests", type=rig.types.choice_list(list(TEST_IDS)),
                    default=list(TEST_IDS), metavar="TEST,...",
                    help=f"tests to run (default: all: {', '.join(TEST_IDS)})")
    group.addoption("--isolation-block-timeout", type=rig.types.positive_float, default=1.0,
                    metavar="SECONDS",
                    help="a step still running after this long counts as blocked where the "
                    "server cannot say it waits on a lock (default: %(default)s)")
    group.addoption("--isolation-block-detection", type=rig.types.choice(["server", "timeout"]),
                    default="server", metavar="server|timeout",
                    help="server: ask the server which sessions wait on a lock; timeout: "
                    "always wait --isolation-block-timeout (default: %(default)s)")
    group.addoption("--isolation-database", type=rig.types.identifier("database name"),
                    default="rig_isolation", metavar="NAME",
                    help="database to work in: created by the run (and dropped at the end "
                    "unless --keep-tables), or an existing empty one (default: %(default)s)")
    group.addoption("--isolation-txn-mode", type=rig.types.choice(["optimistic", "pessimistic"]),
                    metavar="optimistic|pessimistic",
                    help="TiDB: begin transactions with BEGIN OPTIMISTIC or BEGIN PESSIMISTIC "
                    "(default: --txn-mode)")
    group.addoption("--isolation-snapshot", type=rig.types.choice(["on", "off", "both"]),
                    metavar="on|off|both",
                    help="MariaDB: set innodb_snapshot_isolation in every session; both runs "
                    "the matrix twice (default: the server's setting)")
    group.addoption("--isolation-expect", default=profile.AUTO, metavar="FILE",
                    help="a profile (level -> test -> result, TOML or JSON, or a shipped name "
                    "such as mariadb-10.11): every difference fails the run; auto: the "
                    "shipped profile of the server tested, if there is one; none: no "
                    "comparison (default: %(default)s)")
    group.addoption("--isolation-save-profile", type=rig.types.output_file, metavar="FILE",
                    help="write the observed matrix as a profile (JSON if FILE ends in .json, "
                    "else TOML)")


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    if PLUGIN not in config.selected_plugins:
        return
    if not config.getoption("isolation_levels"):
        raise config.invalid("isolation_levels", "name at least one isolation level")
    if not config.getoption("isolation_tests"):
        raise config.invalid("isolation_tests", "name at least one test")
    connections = config.getoption("connections") * len(config.getoption("host"))
    room = rig.types.MAX_NAME - len(f"_c{connections}")
    if connections > 1 and len(config.getoption("isolation_database")) > room:
        raise config.invalid("isolation_database", f"at most {room} characters with "
                             f"{connections} connections: each gets its own database, "
                             f"named with _c1 … _c{connections} appended")
    expect = config.getoption("isolation_expect")
    if expect not in (profile.AUTO, profile.NONE):
        try:
            profile.load(expect)
        except profile.ProfileError as exc:
            raise config.invalid("isolation_expect", str(exc)) from None


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("isolation_preparing", Prepare(),
                       description="check the options against the server, claim the database")
    registry.add_state("isolation_testing", TestIsolation(),
                       description="run every test at every level on lockstep sessions")
    registry.add_state("isolation_judging", Judge(),
                       description="one check per (level, test); --isolation-expect; "
                       "--isolation-save-profile")
    registry.add_state("isolation_cleaning_up", CleanUp(), cleanup=True,
                       description="close the sessions, kill any left on the server")


def _runs(result: rig.RunResult) -> list[tuple[str, IsolationRun]]:
    return [(conn.id, run) for conn in result.connections
            if conn.data is not None and (run := conn.data.get(RUN)) is not None]


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any] | None:
    runs = _runs(result)
    if not runs:
        return None
    section = runs[0][1].section()
    if len(runs) > 1:
        section["connections"] = {conn_id: run.section() for conn_id, run in runs}
    return section


@rig.hookimpl
def rig_html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    return html_section.html_section(result)


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, write: Callable[[str], None]) -> None:
    for conn_id, run in _runs(result):
        server = run.server
        settings = ", ".join(f"{key}={server[key]}" for key in (
            "innodb_snapshot_isolation",) if key in server)
        if "txn_mode" in server:  # the mode the run began its transactions in
            mode = server["txn_mode"]
            settings = f"{mode} transactions" if mode != "server default" else \
                f"{server['tidb_txn_mode']} transactions (the server's tidb_txn_mode)"
        write(f"{conn_id}  isolation matrix on {server['flavor']} {server['version']}"
              + (f" ({settings})" if settings else "")
              + f": {sum(len(row) for row in run.tests.values())} tests in "
              f"{run.duration_s:.1f} s, blocked steps detected by {server['block_detection']}")
        for line in render(run.anomalies()):
            write("    " + line)
        write("    ! = weaker than the SQL standard promises for the level; prev-ro = prevented "
              "only for read-only transactions")
        if run.expect is not None:
            if run.differences:
                write(f"    {len(run.differences)} difference(s) from {run.expect}:")
                for difference in run.differences:
                    write(f"      {difference}")
            else:
                write(f"    matches {run.expect}")
