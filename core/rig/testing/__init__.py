"""rig's test kit, a pytest plugin (entry point ``pytest11``) for rig and plugin authors.

Fixtures:

- ``rig_server`` (session): a real server — the one in ``RIG_TEST_DSN``
  (``mysql://USER[:PASSWORD]@HOST:PORT/[DATABASE]``) or a throwaway sandbox started once.
- ``rig_database``: a database for one test: a new empty one (``rig_test_<hex>``), dropped
  afterwards; or, when ``RIG_TEST_DSN`` names a database, that database, in which the tables
  the test created are dropped afterwards (for accounts that may not create databases).
- ``rig_runner``: runs rig in-process and returns a :class:`RigRun` with the exit code, the
  output and the parsed JSON report: ``rig_runner.run(ARGS)`` runs exactly ``rig ARGS``;
  ``rig_runner.run_on_server(ARGS)`` adds ``rig_server``'s ``--host``/``--user`` (and its
  password in ``RIG_PASSWORD``). Plugin objects can be registered without installing them.
- ``tidb_server`` (session): a real ``tidb-server`` (unistore, TLS on) started once in a
  sandbox, from ``RIG_TIDB_SERVER``, PATH or the build cache of ``scripts/tidb-server``
  (:mod:`rig.testing.tidb_lane`); without one its tests are skipped with one line, or fail when
  ``RIG_REQUIRE_TIDB=1``. Mark such tests ``@pytest.mark.tidb``: the run ends with a line
  ``TiDB lane: tidb-server v8.5.6 (…) — N tests passed, M failed``.
- ``tidb_server_binary`` (session): just the path of that tidb-server (skipped or failed the
  same way), for a test that starts its own.
- ``tidb_database``, ``tidb_runner``: ``rig_database`` and ``rig_runner`` on ``tidb_server``.
- ``tidb_standin``: a protocol-level TiDB stand-in (:mod:`rig.testing.tidb_standin`), for what
  a unistore tidb-server cannot show.

pytest itself is not a dependency of rig-core: install ``rig-core[test]`` (or add pytest to
your plugin's ``test`` extra) to use the kit.

In-process runs write their logs to their own streams (:attr:`RigRun.stderr`); so that they are
not printed a second time, the kit removes loguru's *default* stderr sink (handler 0) when pytest
starts. Sinks a test adds itself are left alone.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pytest

from rig.testing.tidb_lane import (
    BUILD_HINT,
    MARKER,
    REQUIRE_VARIABLE,
    LaneTally,
    TidbServerMissing,
    find_tidb_server,
    required,
)

if TYPE_CHECKING:
    from rig.testing.tidb_standin import TidbStandin

DSN_VARIABLE = "RIG_TEST_DSN"
_TALLY = pytest.StashKey[LaneTally]()


@dataclass(frozen=True)
class ServerDSN:
    """Where a test server listens, and how to log in.

    - ``address``: ``host:port``;
    - :meth:`connect`: a PyMySQL connection to it (autocommit, no TLS), for a test to look at
      or prepare the server;
    - :meth:`rig_args`: ``--host ADDRESS --user USER`` for a rig command line, with
      :meth:`rig_env` giving ``RIG_PASSWORD`` when there is a password.
    """

    host: str
    port: int
    user: str = "root"
    password: str = ""
    database: str | None = None
    """The database of ``RIG_TEST_DSN``, if it names one (see ``rig_database``)."""
    sandbox: bool = False
    """Whether the server is a sandbox the test kit started (and owns)."""
    tls_ca: str | None = None
    """The CA that signed the server's certificate, when the kit gave it one
    (``tidb_server``), for ``--ssl-mode verify-identity --ssl-ca``."""

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def connect(self, **kwargs: Any) -> Any:
        """A PyMySQL connection to the server (autocommit on, TLS off); ``kwargs`` override
        PyMySQL's arguments (``database=...``)."""
        import pymysql

        options: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user,
                                   "password": self.password, "autocommit": True,
                                   "ssl_disabled": True}
        options.update(kwargs)
        return pymysql.connect(**options)

    def rig_args(self) -> list[str]:
        """``--host`` and ``--user`` for this server (the password goes in :meth:`rig_env`)."""
        return ["--host", self.address, "--user", self.user]

    def rig_env(self) -> dict[str, str]:
        """``RIG_PASSWORD`` when the server has one."""
        return {"RIG_PASSWORD": self.password} if self.password else {}


def parse_dsn(text: str) -> ServerDSN:
    """``mysql://USER[:PASSWORD]@HOST:PORT/[DATABASE]`` → :class:`ServerDSN`."""
    url = urlparse(text)
    if url.scheme not in ("mysql", "tidb", "mariadb") or not url.hostname:
        raise ValueError(f"{DSN_VARIABLE} must look like mysql://USER[:PASSWORD]@HOST:PORT/[DB], "
                         f"got {url.scheme}://…")
    return ServerDSN(
        host=url.hostname, port=url.port or 3306, user=unquote(url.username or "root"),
        password=unquote(url.password or ""), database=url.path.lstrip("/") or None,
    )


@dataclass
class RigRun:
    """What one in-process run of rig produced."""

    exit_code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None = None
    args: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.stdout + self.stderr

    def section(self, plugin: str) -> Any:
        """The report section of ``plugin``."""
        assert self.report is not None, f"no JSON report; stderr: {self.stderr}"
        return self.report["sections"][plugin]


class RigRunner:
    """Runs rig in-process with a clean environment (no ``RIG_*`` from the caller's) in
    ``workdir`` (where ``rig.toml`` is looked for)."""

    def __init__(self, workdir: Path, server: ServerDSN | None = None) -> None:
        self.workdir = workdir
        self.server = server
        self._count = 0

    def run(self, *args: str, env: Mapping[str, str] | None = None,
            plugins: Iterable[tuple[str, Any]] = (), report: bool = True) -> RigRun:
        """Run exactly ``rig ARGS`` — plus ``--report-json`` when ``report`` (parsed into
        :attr:`RigRun.report`); ``env`` is the whole ``RIG_*`` environment of the run;
        ``plugins`` are ``(name, object)`` pairs registered as if installed."""
        from rig.cli import run

        self._count += 1
        argv = list(args)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
        report_path = self.workdir / f"rig-report-{self._count}.json"
        if report:
            argv += ["--report-json", str(report_path)]
        environ.update(env or {})
        out, err = io.StringIO(), io.StringIO()
        code = run(argv, environ=environ, plugins=plugins, cwd=self.workdir,
                   stdout=out, stderr=err)
        parsed = json.loads(report_path.read_text()) if report and report_path.exists() else None
        return RigRun(code, out.getvalue(), err.getvalue(), parsed, argv)

    def run_on_server(self, *args: str, env: Mapping[str, str] | None = None,
                      plugins: Iterable[tuple[str, Any]] = (), report: bool = True) -> RigRun:
        """:meth:`run` against the test server: ``rig --host ADDRESS --user USER ARGS`` with
        its password in ``RIG_PASSWORD``."""
        if self.server is None:
            raise RuntimeError("this RigRunner has no server; use run() with --host or "
                               "--sandbox")
        return self.run(*self.server.rig_args(), *args,
                        env={**self.server.rig_env(), **(env or {})}, plugins=plugins,
                        report=report)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``tidb_standin`` and ``tidb`` markers; remove loguru's default stderr sink
    (see the module's docstring)."""
    from loguru import logger

    config.addinivalue_line(
        "markers", "tidb_standin: runs against the mysql-mimic TiDB protocol stand-in "
        "(rig.testing.tidb_standin), not a real TiDB")
    config.addinivalue_line(
        "markers", f"{MARKER}: runs against a real tidb-server (the tidb_server fixture); "
        "counted in the 'TiDB lane' line at the end")
    config.stash[_TALLY] = LaneTally()
    config.pluginmanager.register(config.stash[_TALLY], "rig-tidb-lane")
    with contextlib.suppress(ValueError):
        logger.remove(0)


@pytest.fixture(scope="session")
def rig_server() -> Iterator[ServerDSN]:
    """A real server for the whole test session: ``RIG_TEST_DSN`` or a sandbox."""
    dsn = os.environ.get(DSN_VARIABLE)
    if dsn:
        yield parse_dsn(dsn)
        return
    from rig.db.sandbox import Sandbox

    with Sandbox() as box:
        yield ServerDSN(box.host, box.port, box.user, "", sandbox=True)


@pytest.fixture(scope="session")
def tidb_server_binary(request: pytest.FixtureRequest) -> str:
    """The path of the tidb-server to test against (see the module's docstring); skips the
    test, or fails it under ``RIG_REQUIRE_TIDB=1``, when there is none."""
    try:
        return find_tidb_server()
    except TidbServerMissing as exc:
        request.config.stash[_TALLY].missing = str(exc)
        if required():
            pytest.fail(f"TiDB lane: {exc}, and {REQUIRE_VARIABLE}=1 makes it mandatory; "
                        f"{BUILD_HINT}", pytrace=False)
        pytest.skip(f"TiDB lane: {exc}; {BUILD_HINT}")


@pytest.fixture(scope="session")
def tidb_server(request: pytest.FixtureRequest, tidb_server_binary: str) -> Iterator[ServerDSN]:
    """A real tidb-server (unistore, with a TLS certificate) for the whole test session (see
    the module's docstring)."""
    tally = request.config.stash[_TALLY]
    from rig.db.flavor import parse_tidb_version
    from rig.db.sandbox import Sandbox

    with Sandbox(server_binary=tidb_server_binary, tls=True) as box:
        assert box.tls_files is not None
        server = ServerDSN(box.host, box.port, box.user, "", sandbox=True,
                           tls_ca=str(box.tls_files.ca))
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT tidb_version()")
            facts = parse_tidb_version(str(cursor.fetchone()[0]))
        tally.server = (f"tidb-server {facts.get('Release Version', '?')} "
                        f"({facts.get('Git Commit Hash', '?')[:12]})")
        yield server


@pytest.fixture
def rig_database(rig_server: ServerDSN) -> Iterator[str]:
    """A database for one test (see the module's docstring)."""
    yield from _database(rig_server)


@pytest.fixture
def tidb_database(tidb_server: ServerDSN) -> Iterator[str]:
    """``rig_database`` on ``tidb_server``: a new empty database, dropped afterwards."""
    yield from _database(tidb_server)


def _database(server: ServerDSN) -> Iterator[str]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            if server.database:
                name = server.database
                tables = _tables(cursor, name)
                yield name
                for table in sorted(_tables(cursor, name) - tables):
                    cursor.execute(f"DROP TABLE IF EXISTS `{name}`.`{table}`")
                return
            name = f"rig_test_{uuid.uuid4().hex[:12]}"
            cursor.execute(f"CREATE DATABASE `{name}`")
            yield name
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        connection.close()


def _tables(cursor: Any, database: str) -> set[str]:
    cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                   (database,))
    return {str(row[0]) for row in cursor.fetchall()}


@pytest.fixture
def rig_runner(tmp_path: Path, rig_server: ServerDSN) -> RigRunner:
    """Runs rig in-process: ``rig_runner.run(ARGS)`` exactly, or
    ``rig_runner.run_on_server(ARGS)`` against ``rig_server``."""
    return RigRunner(tmp_path, rig_server)


@pytest.fixture
def tidb_runner(tmp_path: Path, tidb_server: ServerDSN) -> RigRunner:
    """``rig_runner`` on ``tidb_server``: ``tidb_runner.run_on_server(ARGS)``."""
    return RigRunner(tmp_path, tidb_server)


@pytest.fixture(name="tidb_standin")
def tidb_standin_fixture() -> Iterator[TidbStandin]:
    """A TiDB **stand-in** (mysql-mimic, not TiDB) on 127.0.0.1 and a free port, stopped after
    the test; see :mod:`rig.testing.tidb_standin`. Its layouts, privileges and refused
    isolation levels are attributes the test may change (``tidb_standin.import_layout = 21``).
    Mark such tests ``@pytest.mark.tidb_standin``. (The function has another name than the
    fixture, so that importing the submodule ``rig.testing.tidb_standin`` cannot shadow it.)"""
    from rig.testing.tidb_standin import TidbStandin

    with TidbStandin() as standin:
        yield standin


def make_plugin(**hooks: Any) -> Any:
    """A plugin object made of plain hook functions, to register in-process with
    ``rig_runner.run(..., plugins=[(name, make_plugin(...))])``::

        def boom(ctx):
            raise RuntimeError("injected")

        breaker = make_plugin(
            rig_register_states=lambda registry: registry.add_state("breaking", boom))

    Each keyword is a hook's name; a function already marked with ``@rig.hookimpl(...)`` keeps
    its options (``tryfirst``, ``wrapper``). A ``rig_*`` name that is not one of rig's hooks is
    a ``ValueError`` (a misspelt hook would otherwise silently never run); other names are left
    for hooks that plugins add in ``rig_addhooks``.
    """
    from rig import hookspecs

    marker = f"{hookspecs.PROJECT_NAME}_impl"
    unknown = sorted(name for name in hooks
                     if name.startswith("rig_") and not hasattr(getattr(hookspecs, name, None),
                                                                 f"{hookspecs.PROJECT_NAME}_spec"))
    if unknown:
        raise ValueError(f"make_plugin: {', '.join(unknown)} is not a rig hook; see "
                         "rig.hookspecs")
    namespace: dict[str, Any] = {
        name: staticmethod(fn if hasattr(fn, marker) else hookspecs.hookimpl(fn))
        for name, fn in hooks.items()}
    namespace["__repr__"] = lambda self: f"<in-process plugin: {', '.join(sorted(hooks))}>"
    return type("InProcessPlugin", (), namespace)()
