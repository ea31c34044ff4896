"""The TiDB lane of a test suite: where the real ``tidb-server`` comes from, and the line at the
end of the run that says the lane ran.

The ``tidb_server`` fixture (:mod:`rig.testing`) starts :func:`find_tidb_server`'s binary in a
sandbox (unistore) once per test session. Without one, the tests that need it are skipped with
one line naming how to get one (``bash scripts/tidb-server`` builds it from the Go module
proxy), unless ``RIG_REQUIRE_TIDB=1`` (CI sets it): then each such test fails, so the lane can
never skip silently. :class:`LaneTally` counts the outcomes of the tests marked ``tidb`` for
the summary line ``TiDB lane: tidb-server v8.5.6 (ae18096e0237) — N passed, M failed``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SERVER_VARIABLE = "RIG_TIDB_SERVER"
"""The path of the tidb-server binary to test against."""
REQUIRE_VARIABLE = "RIG_REQUIRE_TIDB"
"""``1``: a missing tidb-server fails the lane's tests instead of skipping them."""
CACHE_VARIABLE = "RIG_TIDB_CACHE"
"""Where ``scripts/tidb-server`` keeps its builds (as it reads it)."""
MARKER = "tidb"
BUILD_HINT = "build it with: bash scripts/tidb-server (needs Go >= 1.21 and the Go module proxy)"


def cache_root() -> Path:
    """The build cache of ``scripts/tidb-server``:
    ``${RIG_TIDB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/rig/tidb-server}``."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rig" / "tidb-server"


class TidbServerMissing(Exception):
    """No usable tidb-server binary; the message says where rig looked."""


def find_tidb_server() -> str:
    """The tidb-server to test against: ``$RIG_TIDB_SERVER``, else ``tidb-server`` on PATH,
    else the newest build in :func:`cache_root`. Raises :class:`TidbServerMissing`."""
    named = os.environ.get(SERVER_VARIABLE)
    if named:
        path = Path(named).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise TidbServerMissing(f"{SERVER_VARIABLE}={named} is not an executable file")
        return str(path)
    found = shutil.which("tidb-server")
    if found:
        return found
    builds = sorted(cache_root().glob("*/tidb-server"), key=lambda p: p.stat().st_mtime)
    builds = [path for path in builds if os.access(path, os.X_OK)]
    if builds:
        return str(builds[-1])
    raise TidbServerMissing(f"no tidb-server in {SERVER_VARIABLE}, on PATH or in {cache_root()}")


def required() -> bool:
    """Whether the lane must run (``RIG_REQUIRE_TIDB=1``)."""
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


@dataclass(eq=False)  # hashable: registered with pytest as a plugin
class LaneTally:
    """What the lane's tests did, and the summary line: a pytest plugin object (the test kit
    registers one per run)."""

    server: str | None = None
    """``tidb-server v8.5.6 (ae18096e0237)`` once the fixture started one."""
    missing: str | None = None
    """Why no tidb-server could be used, when none was."""
    results: dict[str, str] = field(default_factory=dict)
    """Test id → ``passed``, ``failed`` or ``skipped`` (a failure in any phase wins)."""
    left_out: int = 0
    """Tests of the lane deselected because there is no tidb-server."""

    def record(self, test: str, phase: str, outcome: str) -> None:
        """Count one phase (``setup``, ``call``, ``teardown``) of a test."""
        if outcome == "failed" or self.results.get(test) == "failed":
            self.results[test] = "failed"
        elif outcome == "skipped":
            self.results[test] = "skipped"
        elif phase == "call":
            self.results[test] = outcome

    def summary(self) -> str | None:
        """The line for the end of the run; ``None`` when the lane did not run and nothing
        failed (the skip already has its line)."""
        counts = {name: list(self.results.values()).count(name)
                  for name in ("passed", "failed", "skipped")}
        text = f"{counts['passed']} tests passed, {counts['failed']} failed"
        if counts["skipped"]:
            text += f", {counts['skipped']} skipped"
        if self.server is not None:
            return f"TiDB lane: {self.server} — {text}"
        if counts["failed"]:
            return f"TiDB lane: did not run ({self.missing}) — {text}"
        if self.left_out:
            return (f"TiDB lane: {self.left_out} tests not run: {self.missing}; {BUILD_HINT} "
                    f"(CI sets {REQUIRE_VARIABLE}=1 to make it mandatory)")
        return None

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Without a tidb-server (and unless it is required), leave the lane's tests out: one
        line at the end says so, instead of one skip line per test."""
        lane = [item for item in items if item.get_closest_marker(MARKER) is not None]
        if not lane or required():
            return
        try:
            find_tidb_server()
        except TidbServerMissing as exc:
            self.missing = str(exc)
            self.left_out = len(lane)
            items[:] = [item for item in items if item.get_closest_marker(MARKER) is None]
            config.hook.pytest_deselected(items=lane)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count the phases of the tests marked ``tidb``."""
        if MARKER in report.keywords:
            self.record(report.nodeid, report.when, report.outcome)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Write :meth:`summary`, if any."""
        line = self.summary()
        if line is not None:
            terminalreporter.write_line(line, bold=True)
