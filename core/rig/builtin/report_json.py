"""The built-in ``report_json`` plugin: ``--report-json FILE``, the whole run as JSON."""

from __future__ import annotations

import json
from typing import Any

from rig import types
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.engine.results import ConnectionResult, RunResult
from rig.errors import ConfigError, os_reason
from rig.hookspecs import hookimpl
from rig.reportfile import write_atomically


@hookimpl
def rig_addoption(parser: OptionParser) -> None:
    parser.getgroup("reports").addoption("--report-json", type=types.output_file, metavar="FILE",
                                         help="write the JSON report to FILE")


@hookimpl
def rig_write_report(result: RunResult, config: Config) -> None:
    path = config.getoption("report_json")
    if path:
        text = json.dumps(report_json(result), indent=2, ensure_ascii=False) + "\n"
        try:
            write_atomically(path, text)
        except OSError as exc:
            raise ConfigError(f"cannot write --report-json {path}: {os_reason(exc)}",
                              hint="check the path and its directory's permissions") from None


def _server_json(conn: ConnectionResult) -> dict[str, Any] | None:
    if conn.server is None:
        return None
    server = conn.server
    data: dict[str, Any] = {
        "flavor": server.flavor.value,
        "version": server.version_text,
        "version_string": server.version_string,
        "version_comment": server.version_comment,
        "default_isolation": server.default_isolation,
    }
    if server.tidb:
        data["tidb"] = server.tidb
    return data


def report_json(result: RunResult) -> dict[str, Any]:
    """The JSON report as a dict."""
    return {
        "rig_version": result.rig_version,
        "exit_code": int(result.exit_code),
        "interrupted": result.interrupted,
        "duration_s": round(result.duration_s, 6),
        "plugins": [
            {"name": p.name, "distribution": p.distribution, "version": p.version}
            for p in result.plugins
        ],
        "connections": [
            {
                "id": conn.id,
                "host": conn.host,
                "port": conn.port,
                "user": conn.user,
                "server": _server_json(conn),
                "tls": conn.tls,
                "final_state": conn.final_state,
                "states": [
                    {"name": s.name, "duration_s": round(s.duration_s, 6), "outcome": s.outcome,
                     "plugin": s.plugin}
                    for s in conn.states
                ],
                "metrics": conn.metrics,
                "error": (
                    {"message": conn.error.message, "state": conn.error.state,
                     "kind": conn.error.kind, "path": list(conn.error.path),
                     "exit_code": int(conn.error.exit_code)}
                    if conn.error else None
                ),
            }
            for conn in result.connections
        ],
        "checks": [
            {"name": c.name, "connection": c.connection, "plugin": c.plugin,
             "verdict": c.verdict.value, "detail": c.detail}
            for c in result.checks
        ],
        "errors": [{"message": e.message, "kind": e.kind, "exit_code": int(e.exit_code)}
                   for e in result.errors],
        "timeline": [event.as_json() for event in result.timeline],
        "scratch": result.scratch,
        "sections": result.sections,
    }
