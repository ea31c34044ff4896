"""Reports of a run: the console summary, ``--report-json`` and ``--junit-xml``."""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rig.results import ConnectionResult, RunResult, Verdict

_MARK = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.SKIP: "SKIP", Verdict.ERROR: "ERROR"}


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
        "errors": [{"message": e.message, "kind": e.kind} for e in result.errors],
        "sections": result.sections,
    }


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def write_json(result: RunResult, path: str) -> None:
    """Write ``--report-json``."""
    _write_atomically(path, json.dumps(report_json(result), indent=2, default=str) + "\n")


def write_junit(result: RunResult, path: str) -> None:
    """Write ``--junit-xml``: one testcase per check, classname ``rig.<plugin>.<connection>``."""
    suite = ET.Element(
        "testsuite", name="rig", tests=str(len(result.checks)),
        failures=str(result.count(Verdict.FAIL)), errors=str(result.count(Verdict.ERROR)),
        skipped=str(result.count(Verdict.SKIP)), time=f"{result.duration_s:.3f}",
    )
    for check in result.checks:
        case = ET.SubElement(
            suite, "testcase", name=check.name,
            classname=f"rig.{check.plugin or 'rig'}.{check.connection or 'run'}",
            time=f"{check.duration_s or 0.0:.3f}",
        )
        if check.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", message=check.detail).text = check.detail
        elif check.verdict is Verdict.ERROR:
            ET.SubElement(case, "error", message=check.detail).text = check.detail
        elif check.verdict is Verdict.SKIP:
            ET.SubElement(case, "skipped", message=check.detail)
    for conn in result.connections:
        if conn.error is not None:
            case = ET.SubElement(suite, "testcase", name="workflow",
                                 classname=f"rig.run.{conn.id}")
            ET.SubElement(case, "error", message=conn.error.message).text = conn.error.message
    suite.set("tests", str(len(suite)))
    suite.set("errors", str(len(suite.findall("testcase/error"))))
    ET.indent(suite)
    _write_atomically(path, ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")


def console_summary(result: RunResult, write: Callable[[str], None],
                    plugin_lines: Callable[[Callable[[str], None]], None] | None = None) -> None:
    """Print the end-of-run summary: per connection its server, states and checks; then the
    plugins' lines; then one result line."""
    plugins = ", ".join(f"{p.name} {p.version or ''}".strip() for p in result.plugins)
    write(f"rig {result.rig_version} · plugins: {plugins or 'none'}")
    for conn in result.connections:
        server = conn.server.describe() if conn.server else "server unknown"
        tls = f"TLS {conn.tls['version']}" if conn.tls else "TLS off"
        write(f"{conn.id}  {conn.user}@{conn.host}:{conn.port}  {server}  {tls}")
        if conn.states:
            write("    " + " → ".join(
                f"{s.name} {_ms(s.duration_s)}" if s.duration_s else s.name for s in conn.states
            ))
        for check in (c for c in result.checks if c.connection == conn.id):
            write(f"    {_MARK[check.verdict]:<5} {check.name}: {check.detail}")
        if conn.error is not None:
            write(f"    ERROR in {conn.error.state}: {conn.error.message}")
    if plugin_lines is not None:
        plugin_lines(write)
    counts = ", ".join(f"{result.count(v)} {name}" for v, name in (
        (Verdict.PASS, "passed"), (Verdict.FAIL, "failed"), (Verdict.SKIP, "skipped"),
        (Verdict.ERROR, "errors")) if result.count(v) or v is Verdict.PASS)
    status = "interrupted" if result.interrupted else f"exit {int(result.exit_code)}"
    write(f"result: {counts} in {result.duration_s:.2f}s ({status})")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 10 else f"{seconds:.1f}s"
