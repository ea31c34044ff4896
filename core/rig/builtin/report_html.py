"""The built-in ``report_html`` plugin: ``--report-html FILE``, the run as one self-contained
page (no script, no style sheet and no font from the network; plots are inline SVG).

The page holds the run's facts (versions, servers, the effective options with their sources,
secrets masked, duration, exit code), every check with its verdict, the timeline, then each
plugin's section from the ``rig_html_section`` hook (its JSON section when it has no HTML one).
"""

from __future__ import annotations

import json
import time
from typing import Any

from rig import html, types
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.engine.results import RunErrorInfo, RunResult
from rig.errors import ConfigError, PluginError, os_reason
from rig.hookcall import call_each
from rig.hookspecs import hookimpl
from rig.html import HtmlSection, Markup, escape, table, tag
from rig.reportfile import write_atomically


@hookimpl
def rig_addoption(parser: OptionParser) -> None:
    parser.getgroup("reports").addoption(
        "--report-html", type=types.output_file, metavar="FILE",
        help="write a self-contained HTML report (plots, matrices, timeline) to FILE")


@hookimpl
def rig_write_report(result: RunResult, config: Config) -> None:
    path = config.getoption("report_html")
    if not path:
        return
    text = render(result, config)
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write --report-html {path}: {os_reason(exc)}",
                          hint="check the path and its directory's permissions") from None


def plugin_sections(result: RunResult, config: Config) -> list[tuple[str, HtmlSection]]:
    """``(plugin, section)`` from ``rig_html_section``, in ``--plugin`` order; a plugin that
    raises or returns something else gets an error box in its place (and the run exits 3);
    a plugin with a JSON section but no HTML one gets its JSON, shown."""
    sections: list[tuple[str, HtmlSection]] = []
    answered: set[str] = set()
    for call in call_each(config.pluginmanager, "rig_html_section",
                          order=config.selected_plugins, result=result, config=config):
        answered.add(call.plugin)
        error = call.error
        if error is None and call.result is not None and not isinstance(call.result,
                                                                         HtmlSection):
            error = PluginError(f"plugin {call.plugin!r} returned {type(call.result).__name__} "
                                "from rig_html_section", hint="return a rig.HtmlSection or None")
        if error is not None:
            result.errors.append(RunErrorInfo.from_error(error))
            sections.append((call.plugin, HtmlSection(call.plugin, tag(
                "p", f"This section could not be drawn: {error}", class_="error-box"))))
        elif call.result is not None:
            sections.append((call.plugin, call.result))
    for name, data in result.sections.items():
        if name not in answered:
            body = tag("pre", json.dumps(data, indent=2, ensure_ascii=False))
            sections.append((name, HtmlSection(name, html.details("the section's JSON", body))))
    return sections


def _run_range(result: RunResult) -> tuple[float, float]:
    ends = [e.at_s for e in result.timeline]
    return 0.0, max([result.duration_s, *ends, 1.0])


def facts(result: RunResult, config: Config) -> Markup:
    """The run's facts: when, how long, the exit code, versions, servers, options."""
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(result.started_at))
    code = int(result.exit_code)
    rows: list[list[object]] = [
        ["started", started],
        ["duration", f"{result.duration_s:.1f} s"],
        ["exit code", tag("span", f"{code} ({result.exit_code.name.lower()})",
                          class_="ok" if code == 0 else "bad")],
        ["rig", result.rig_version],
    ]
    if result.interrupted:
        rows.append(["interrupted", "yes: the report holds what ran"])
    parts = [table(["", ""], rows, class_="facts")]
    parts.append(tag("h3", "Plugins"))
    parts.append(table(["plugin", "distribution", "version"],
                       [[p.name, p.distribution or "built in", p.version or ""]
                        for p in result.plugins]))
    servers: dict[tuple[str, int], list[str]] = {}
    described: dict[tuple[str, int], tuple[str, str]] = {}
    for conn in result.connections:
        key = (conn.host, conn.port)
        servers.setdefault(key, []).append(conn.id)
        if conn.server is not None:
            described[key] = (conn.server.flavor.value, conn.server.version_string)
    if servers:
        parts.append(tag("h3", "Servers"))
        parts.append(table(["server", "flavour", "version", "connections"], [
            [f"{host}:{port}", *described.get((host, port), ("unknown", "")), " ".join(ids)]
            for (host, port), ids in servers.items()]))
    parts.append(html.details("Effective options and where each came from", table(
        ["option", "value", "source", "plugin"],
        [list(row) for row in config.effective_settings()], class_="options")))
    return html.join(parts)


def checks(result: RunResult) -> Markup:
    """Every check with its verdict: the counts, the checks that did not pass, then all of
    them (one click away when there are many)."""
    if not result.checks:
        return tag("p", "No check ran.", class_="muted")

    def rows(selected: list[Any]) -> Markup:
        return table(["check", "connection", "plugin", "verdict", "detail"], [
            [c.name, c.connection or "", c.plugin or "",
             tag("span", c.verdict.value, class_=f"verdict-{c.verdict.value}"), c.detail]
            for c in selected], class_="checks")

    counts: dict[str, int] = {}
    for check in result.checks:
        counts[check.verdict.value] = counts.get(check.verdict.value, 0) + 1
    summary = tag("p", ", ".join(f"{n} {v}" for v, n in counts.items()))
    failing = [c for c in result.checks if c.verdict.value != "pass"]
    if len(result.checks) <= 15:
        return summary + rows(result.checks)
    shown = rows(failing) if failing else Markup("")
    return summary + shown + html.details(f"all {len(result.checks)} checks",
                                          rows(result.checks))


def timeline(result: RunResult) -> Markup:
    """The timeline drawn, and its events listed one click away."""
    events = result.timeline
    if not events:
        return tag("p", "No timeline events.", class_="muted")
    listing = table(["at", "event", "kind", "source", "connection", "detail"], [
        [f"{e.at_s:.2f}s", e.name, e.kind.value, e.source, e.connection or "", e.detail]
        for e in events])
    return html.timeline_chart(events, x_range=_run_range(result)) + html.details(
        f"{len(events)} events", listing)


def render(result: RunResult, config: Config) -> str:
    """The whole page."""
    errors = [e.message for e in result.errors] + [
        c.error.message for c in result.connections
        if c.error is not None and c.error.kind != "interrupted"]
    sections = plugin_sections(result, config)
    errors += [e.message for e in result.errors if e.message not in errors]
    nav = html.join(tag("a", title, href=f"#section-{i}") + " · "
                    for i, title in enumerate(["Run", "Checks", "Timeline",
                                               *(s.title for _p, s in sections)]))
    body: list[Any] = [
        tag("h1", f"rig report: {', '.join(p.name for p in result.plugins) or 'common'}"),
        tag("p", nav, class_="muted"),
        tag("h2", "Run", id="section-0"), facts(result, config),
    ]
    if errors:
        body.append(tag("div", html.join(tag("p", f"rig: error: {m}") for m in
                                         dict.fromkeys(errors)), class_="error-box"))
    body += [tag("h2", "Checks", id="section-1"), checks(result),
             tag("h2", "Timeline", id="section-2"), timeline(result)]
    for index, (plugin, section) in enumerate(sections, start=3):
        body.append(tag("section", tag("h2", section.title, id=f"section-{index}")
                        + Markup(section.html), class_="plugin", data_plugin=plugin))
        if section.data is not None:
            body.append(html.json_script(dict(section.data), f"data-{plugin}"))
    title = f"rig report {time.strftime('%Y-%m-%d %H:%M', time.gmtime(result.started_at))}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{html.STYLE}</style></head><body>{html.join(body)}</body></html>\n")
