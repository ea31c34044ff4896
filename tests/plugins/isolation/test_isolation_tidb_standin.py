"""TiDB's refusal of an isolation level (8048) is reported as ``unsupported``.

These tests run against a tiny **mysql-mimic stand-in** for TiDB written here, not a real TiDB:
it identifies itself as TiDB and refuses READ UNCOMMITTED and SERIALIZABLE with 8048 as TiDB does
(unless ``tidb_skip_isolation_level_check`` is set); it has no storage, so only levels it refuses
are run against it.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rig.testing import RigRunner

mysql_mimic = pytest.importorskip("mysql_mimic")
MysqlError = pytest.importorskip("mysql_mimic.errors").MysqlError

REFUSED = re.compile(r"set session transaction isolation level (serializable|read uncommitted)")
EMPTY = {
    re.compile(r"select table_name as name from information_schema\.tables .*"): ["name"],
    re.compile(r"select session_id, .* from information_schema\.tidb_trx .*"):
        ["SESSION_ID", "CURRENT_SQL_DIGEST_TEXT"],
    re.compile(r"select id, info from information_schema\.processlist .*"): ["ID", "INFO"],
}
OK = re.compile(r"(create|drop) (database|table) .*|insert into .*|use .*|begin.*|commit|"
                r"rollback|set session transaction isolation level .*|kill \d+")
UNKNOWN_TABLE = re.compile(r"show engine innodb status|.*(innodb_trx|data_lock_waits).*")


class TidbLikeSession(mysql_mimic.Session):  # type: ignore[misc]
    """Answers as TiDB v8.5 does for what the isolation plugin asks before running a test."""

    async def handle_query(self, sql: str, attrs: dict[str, str]) -> Any:
        text = re.sub(r"^\s*/\*.*?\*/\s*", "", sql).strip().rstrip(";").lower()
        if text == "select tidb_version()":
            return [("Release Version: v8.5.0\nEdition: Community\nStore: tikv",)], \
                ["tidb_version()"]
        if text == "select @@tidb_txn_mode":
            return [("pessimistic",)], ["@@tidb_txn_mode"]
        refused = REFUSED.fullmatch(text)
        if refused:
            level = refused.group(1).upper()
            raise MysqlError(
                f"The isolation level '{level}' is not supported. Set "
                "tidb_skip_isolation_level_check=1 to skip this error", code=8048)
        for pattern, columns in EMPTY.items():
            if pattern.fullmatch(text):
                return [], columns
        if UNKNOWN_TABLE.fullmatch(text):
            raise MysqlError("Table doesn't exist", code=1146)
        if OK.fullmatch(text):
            return None
        return await super().handle_query(sql, attrs)


def _session() -> Any:
    from mysql_mimic.variables import SYSTEM_VARIABLES, GlobalVariables, SessionVariables

    schema = dict(SYSTEM_VARIABLES)
    schema["version"] = (str, "8.0.11-TiDB-v8.5.0", False)
    schema["version_comment"] = (str, "TiDB Server (Apache License 2.0) Community Edition", False)
    schema["transaction_isolation"] = (str, "REPEATABLE-READ", True)
    return TidbLikeSession(SessionVariables(GlobalVariables(schema)))


@pytest.fixture
def tidb_like() -> Iterator[str]:
    """The stand-in, serving on 127.0.0.1; yields ``host:port``."""
    loop = asyncio.new_event_loop()
    server = mysql_mimic.MysqlServer(session_factory=_session)
    loop.run_until_complete(server.start_server(host="127.0.0.1", port=0))
    port = server.sockets()[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    server.close()
    loop.close()


@pytest.mark.tidb_standin
def test_levels_tidb_refuses_are_unsupported(rig_runner: RigRunner, tidb_like: str) -> None:
    """Runs against the mysql-mimic TiDB stand-in above, not a real TiDB."""
    run = rig_runner.run("--host", tidb_like, "--user", "root", "--plugin", "isolation",
                         "--levels", "read-uncommitted,serializable", "--tests", "g0,p4",
                         "--txn-mode", "optimistic", target_server=False)
    assert run.exit_code == 0, run.output
    section = run.section("isolation")
    for level in ("read-uncommitted", "serializable"):
        for test in ("g0", "p4"):
            cell = section["tests"][level][test]
            assert cell["result"] == "unsupported"
            assert cell["evidence"]["errors"][0]["code"] == 8048
            assert "8048" in cell["evidence"]["why"]
        assert section["anomalies"][level] == {"G0": "unsupported", "P4": "unsupported"}
    assert section["server"]["flavor"] == "tidb"
    assert section["server"]["tidb_txn_mode"] == "pessimistic"
    assert section["server"]["txn_mode"] == "optimistic"
    assert run.report is not None
    assert {c["verdict"] for c in run.report["checks"] if "/" in c["name"]} == {"skip"}
    assert "unsupported" in run.stdout
