"""The built-in ``terminal`` plugin: the console summary at the end of a run — per connection
its server, states and checks, every plugin's ``rig_terminal_summary`` lines, and one result
line. ``-p no:terminal`` or ``-qq`` leaves only the ``rig: error:`` lines."""

from __future__ import annotations

from collections.abc import Callable

from rig.config.config import Config
from rig.engine.results import RunErrorInfo, RunResult, Verdict
from rig.hookcall import call_each
from rig.hookspecs import hookimpl
from rig.terminal import Terminal

_MARK = {Verdict.PASS: ("PASS", "green"), Verdict.FAIL: ("FAIL", "red"),
         Verdict.SKIP: ("SKIP", "yellow"), Verdict.ERROR: ("ERROR", "red"),
         Verdict.UNKNOWN: ("UNKNOWN", "yellow")}
BASIC_NOTE = ("note: only the common workflow ran (no --plugin given and rig-plugin-basic is "
              "not installed); pip install rig-plugin-basic adds latency, TLS and session "
              "checks")


@hookimpl(trylast=True)
def rig_write_report(result: RunResult, config: Config) -> None:
    got_somewhere = result.checks or any(c.error is None for c in result.connections)
    if not got_somewhere or config.getoption("quiet", 0) >= 2:
        return
    summary(result, config, config.terminal)


def summary(result: RunResult, config: Config, terminal: Terminal) -> None:
    """Print the end-of-run summary."""
    write = terminal.line
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
            mark, color = _MARK[check.verdict]
            write(f"    {terminal.style(f'{mark:<5}', color)} {check.name}: {check.detail}")
        if conn.error is not None:
            write(f"    {terminal.style('ERROR', 'red')} in {conn.error.state}: "
                  f"{conn.error.message}")
    for call in call_each(config.pluginmanager, "rig_terminal_summary",
                          order=config.selected_plugins, result=result, config=config,
                          write=write, terminal=terminal):
        if call.error is not None:
            result.errors.append(RunErrorInfo.from_error(call.error))
    timeline_lines(result, write)
    if not config.selected_plugins:
        write(BASIC_NOTE)
    counts = ", ".join(f"{result.count(v)} {name}" for v, name in (
        (Verdict.PASS, "passed"), (Verdict.FAIL, "failed"), (Verdict.SKIP, "skipped"),
        (Verdict.ERROR, "errors"), (Verdict.UNKNOWN, "undecided"))
        if result.count(v) or v is Verdict.PASS)
    status = "interrupted" if result.interrupted else f"exit {int(result.exit_code)}"
    write(f"result: {counts} in {result.duration_s:.2f}s ({status})")


TIMELINE_SHOWN = 20


def timeline_lines(result: RunResult, write: Callable[[str], None]) -> None:
    """The run's timeline events: one line each, the first :data:`TIMELINE_SHOWN` of them."""
    events = result.timeline
    if not events:
        return
    write(f"timeline: {len(events)} event(s)")
    for event in events[:TIMELINE_SHOWN]:
        where = f" {event.connection}" if event.connection else ""
        kind = "" if event.kind == "instant" else f" {event.kind}"
        write(f"    {event.at_s:8.3f}s{where} {event.name}{kind}"
              + (f": {event.detail}" if event.detail else ""))
    if len(events) > TIMELINE_SHOWN:
        write(f"    … {len(events) - TIMELINE_SHOWN} more in --report-json")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms" if seconds < 10 else f"{seconds:.1f}s"
