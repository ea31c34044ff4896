"""Drawing for the HTML report and the dashboard: escaping, tables and time plots as inline SVG.

The plots are SVG drawn here, in Python: no JavaScript chart library, so a report opens with no
network, is small (a one-hour run's series are a few hundred kilobytes), is the same bytes for
the same data, and can be tested by reading the markup. Tooltips are SVG ``<title>`` elements.

Everything a plugin hands in is text and is escaped; only :class:`Markup` (what these helpers
return) is inserted as it is. A plugin's section is an :class:`HtmlSection`, returned from the
``rig_html_section`` hook::

    @rig.hookimpl
    def rig_html_section(result, config):
        points = [(1.0, 10.0), (2.0, 12.5)]
        chart = rig.html.line_chart({"rows/s": points}, title="Rows per second",
                                    periods=rig.html.periods(result.timeline))
        return rig.HtmlSection("acme", chart + rig.html.table(["key", "value"], [["a", 1]]))
"""

from __future__ import annotations

import html as _html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rig.timeline import EventKind, TimelineEvent, TimelinePeriod, pair

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")
"""The colours of the series of a plot, in order."""


class Markup(str):
    """A fragment of HTML that is safe to insert as it is (built by these helpers, or
    escaped by the caller). Any other ``str`` is escaped when inserted."""

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, str(to_html(other))))

    def __radd__(self, other: str) -> Markup:
        return Markup(str(to_html(other)) + str(self))


def escape(value: object) -> Markup:
    """``value`` as text in HTML (``&``, ``<``, ``>``, ``"`` and ``'`` escaped); a
    :class:`Markup` is returned unchanged."""
    if isinstance(value, Markup):
        return value
    return Markup(_html.escape("" if value is None else str(value), quote=True))


def to_html(value: object) -> Markup:
    """``value`` as it goes into a page: :class:`Markup` as it is, anything else escaped."""
    return value if isinstance(value, Markup) else escape(value)


def join(parts: Iterable[object], sep: str = "") -> Markup:
    """Fragments joined; each escaped unless it is :class:`Markup`."""
    return Markup(str(to_html(sep)).join(str(to_html(part)) for part in parts))


def tag(name: str, body: object = "", **attrs: object) -> Markup:
    """``<name attr="value"...>body</name>``; ``class_`` gives ``class``, ``None`` or
    ``False`` leaves an attribute out, ``True`` writes it bare."""
    text = "".join(
        f" {key.rstrip('_').replace('_', '-')}" if value is True
        else f' {key.rstrip("_").replace("_", "-")}="{escape(value)}"'
        for key, value in attrs.items() if value is not None and value is not False)
    return Markup(f"<{name}{text}>{to_html(body)}</{name}>")


def json_script(data: Any, element_id: str) -> Markup:
    """``data`` as ``<script type="application/json">``, safe inside HTML (no ``</script>``
    can end it early); read it with ``JSON.parse(el.textContent)``."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{text}</script>')


@dataclass(frozen=True)
class HtmlSection:
    """A plugin's section of the HTML report (the ``rig_html_section`` hook's result)."""

    title: str
    """The section's heading (text)."""
    html: str
    """The body: a fragment of HTML. A plain ``str`` is trusted as HTML, so build it with
    :func:`tag`, :func:`table`, :func:`line_chart` and :func:`escape` for anything that came
    from a user or a server."""
    data: Mapping[str, Any] | None = None
    """Optional JSON data, embedded in the page as ``<script type="application/json">`` for
    readers of the file."""


def periods(events: Iterable[TimelineEvent]) -> list[TimelinePeriod]:
    """The periods to shade on a time plot: the faults the run injected (timeline periods
    whose data names a ``fault``, as the chaos plugin's do; see
    :attr:`rig.TimelinePeriod.fault`), in the order they began. A workload's own period or a
    job's phase is not shaded."""
    return [period for period in pair(events) if period.fault is not None]


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], *,
          class_: str | None = None) -> Markup:
    """An HTML table; every header and cell is escaped unless it is :class:`Markup`."""
    head = join(tag("th", h) for h in headers)
    body = join(tag("tr", join(tag("td", cell) for cell in row)) for row in rows)
    return tag("table", tag("thead", tag("tr", head)) + tag("tbody", body), class_=class_)


def details(summary: object, body: object, *, class_: str | None = None) -> Markup:
    """A ``<details>`` element: ``summary`` shown, ``body`` one click away."""
    return tag("details", tag("summary", summary) + to_html(body), class_=class_)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[low, high]`` (1, 2, 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _label(value: float) -> str:
    if abs(value) >= 10000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


@dataclass
class _Scale:
    x0: float
    x1: float
    y0: float
    y1: float
    left: float
    top: float
    width: float
    height: float
    log: bool = field(default=False)

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0 or 1) * self.width

    def y(self, value: float) -> float:
        return self.top + self.height - (value - self.y0) / (self.y1 - self.y0 or 1) * self.height


def line_chart(series: Mapping[str, Sequence[tuple[float, float | None]]], *, title: str = "",
               y_label: str = "", x_label: str = "seconds since the run began",
               periods: Iterable[TimelinePeriod] = (), x_range: tuple[float, float] | None = None,
               width: int = 900, height: int = 260, marks: Iterable[tuple[float, str]] = (),
               ) -> Markup:
    """A time plot as inline SVG: one line per series (``name -> [(x, y), ...]``, a ``None`` y
    breaks the line), every period shaded (its name and detail in a tooltip), ``marks``
    (``(x, label)``) as dashed vertical lines, axes with round ticks and a legend.

    The ``<svg>`` has class ``rig-chart``; each line is a ``<path class="series">`` with
    ``data-points`` (its number of points) and a ``<title>`` tooltip; each period a
    ``<rect class="period">``. An empty plot says "no data".
    """
    left, right, top, bottom = 60.0, 16.0, 28.0, 40.0
    plot_w, plot_h = width - left - right, height - top - bottom
    spans = list(periods)
    xs = [x for points in series.values() for x, y in points if y is not None]
    ys = [y for points in series.values() for _x, y in points if y is not None]
    if x_range is not None:
        x0, x1 = x_range
    elif xs:
        x0, x1 = min(xs), max(xs)
        for span in spans:
            x0 = min(x0, span.start_s)
            x1 = max(x1, span.end_s if span.end_s is not None else span.start_s)
    else:
        x0, x1 = 0.0, 1.0
    if x1 <= x0:
        x1 = x0 + 1
    y_high = max(ys) if ys else 1.0
    y_low = min(0.0, min(ys)) if ys else 0.0
    y_ticks = nice_ticks(y_low, y_high if y_high > y_low else y_low + 1)
    y0, y1 = y_ticks[0], max(y_ticks[-1], y_high)
    scale = _Scale(x0, x1, y0, y1, left, top, plot_w, plot_h)
    out: list[str] = [
        f'<svg class="rig-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text class="chart-title" x="{left}" y="16">{escape(title)}</text>',
    ]
    # shaded periods first, under the lines
    for span in spans:
        end = span.end_s if span.end_s is not None else x1
        a, b = max(span.start_s, x0), min(end, x1)
        if b < a:
            continue
        what = f"{span.name} ({span.source})" + (f": {span.detail}" if span.detail else "")
        until = f"{span.end_s:.1f}s" if span.end_s is not None else "the end"
        out.append(
            f'<rect class="period" x="{scale.x(a):.1f}" y="{top}" '
            f'width="{max(scale.x(b) - scale.x(a), 1.5):.1f}" height="{plot_h}">'
            f"<title>{escape(what)}, {span.start_s:.1f}s to {until}</title></rect>")
    # axes and grid
    for tick in y_ticks:
        if tick > y1 + 1e-9:
            continue
        y = scale.y(tick)
        out.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{escape(_label(tick))}</text>')
    for tick in nice_ticks(x0, x1, 8):
        if tick < x0 - 1e-9 or tick > x1 + 1e-9:
            continue
        x = scale.x(tick)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                   f'y2="{top + plot_h}"/><text class="tick" x="{x:.1f}" '
                   f'y="{top + plot_h + 14}" text-anchor="middle">{escape(_label(tick))}</text>')
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>')
    out.append(f'<text class="axis" x="{left + plot_w / 2}" y="{height - 6}" '
               f'text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        out.append(f'<text class="axis" transform="translate(14 {top + plot_h / 2}) '
                   f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    for at, label in marks:
        if x0 <= at <= x1:
            x = scale.x(at)
            out.append(f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                       f'y2="{top + plot_h}"><title>{escape(label)} at {at:.1f}s</title></line>')
    # the lines
    legend_x = left + plot_w
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        parts: list[str] = []
        pen_up = True
        count = 0
        values: list[float] = []
        for px, py in points:
            if py is None or not math.isfinite(py):
                pen_up = True
                continue
            parts.append(f"{'M' if pen_up else 'L'}{_num(scale.x(px))} {_num(scale.y(py))}")
            pen_up = False
            count += 1
            values.append(py)
        if count == 1:  # a single point: a short dash so that it shows
            parts.append("h2")
        summary = (f"{name}: {count} points, min {min(values):g}, max {max(values):g}"
                   if values else f"{name}: no data")
        out.append(f'<path class="series" data-points="{count}" stroke="{colour}" '
                   f'd="{" ".join(parts)}"><title>{escape(summary)}</title></path>')
        label_w = 8 + 7 * len(name)
        legend_x -= label_w + 14
        out.append(f'<rect x="{legend_x:.0f}" y="8" width="10" height="10" fill="{colour}"/>'
                   f'<text class="legend" x="{legend_x + 13:.0f}" y="17">{escape(name)}</text>')
    if not ys:
        out.append(f'<text class="nodata" x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
                   f'text-anchor="middle">no data</text>')
    out.append("</svg>")
    return Markup("".join(out))


def bar_grid(rows: Sequence[str], columns: Sequence[str],
             cells: Mapping[tuple[str, str], tuple[str, object, object]]) -> Markup:
    """A colour grid (rows by columns): ``cells[(row, column)] = (css class, shown text,
    what one click shows)`` — the last is put in a ``<details>`` so each cell's evidence is one
    click away. A missing cell is blank."""
    head = tag("tr", tag("th", "") + join(tag("th", c, scope="col") for c in columns))
    body = []
    for row in rows:
        tds = []
        for column in columns:
            cell = cells.get((row, column))
            if cell is None:
                tds.append(tag("td", "", class_="cell empty"))
                continue
            css, shown, evidence = cell
            tds.append(tag("td", details(shown, evidence), class_=f"cell {css}",
                           data_row=row, data_column=column))
        body.append(tag("tr", tag("th", row, scope="row") + join(tds)))
    return tag("table", tag("thead", head) + tag("tbody", join(body)), class_="grid")


def timeline_chart(events: Sequence[TimelineEvent], *, width: int = 900,
                   x_range: tuple[float, float] | None = None) -> Markup:
    """The run's timeline as SVG: one lane per source, each period a bar and each instant a
    tick, with tooltips."""
    spans = pair(events)  # every period here, not only the faults
    instants = [e for e in events if e.kind is EventKind.INSTANT]
    sources = list(dict.fromkeys([s.source for s in spans] + [e.source for e in instants]))
    if not sources:
        return Markup('<p class="empty">No timeline events.</p>')
    lane_h, left, top = 26, 110, 8
    height = top + lane_h * len(sources) + 30
    ends = [s.end_s for s in spans if s.end_s is not None] + [e.at_s for e in events]
    x0, x1 = x_range if x_range is not None else (0.0, max(ends) if ends else 1.0)
    if x1 <= x0:
        x1 = x0 + 1
    scale = _Scale(x0, x1, 0, 1, left, top, width - left - 16, lane_h * len(sources))
    out = [f'<svg class="rig-chart timeline" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="timeline">']
    for index, source in enumerate(sources):
        y = top + index * lane_h
        out.append(f'<text class="tick" x="{left - 6}" y="{y + 17}" text-anchor="end">'
                   f'{escape(source)}</text><line class="grid" x1="{left}" '
                   f'x2="{width - 16}" y1="{y + lane_h}" y2="{y + lane_h}"/>')
        for span in (s for s in spans if s.source == source):
            end = span.end_s if span.end_s is not None else x1
            x = scale.x(span.start_s)
            what = f"{span.name}" + (f": {span.detail}" if span.detail else "")
            out.append(f'<rect class="period" x="{x:.1f}" y="{y + 4}" '
                       f'width="{max(scale.x(end) - x, 2):.1f}" height="{lane_h - 8}">'
                       f'<title>{escape(what)} ({span.start_s:.1f}s to '
                       f'{"" if span.end_s is None else f"{span.end_s:.1f}s"})</title></rect>')
        for event in (e for e in instants if e.source == source):
            x = scale.x(event.at_s)
            what = f"{event.name} at {event.at_s:.2f}s" + (
                f" ({event.connection})" if event.connection else "") + (
                f": {event.detail}" if event.detail else "")
            out.append(f'<path class="instant" d="M{x:.1f} {y + 3}v{lane_h - 6}">'
                       f'<title>{escape(what)}</title></path>')
    axis_y = top + lane_h * len(sources)
    for tick in nice_ticks(x0, x1, 8):
        if x0 - 1e-9 <= tick <= x1 + 1e-9:
            out.append(f'<text class="tick" x="{scale.x(tick):.1f}" y="{axis_y + 16}" '
                       f'text-anchor="middle">{escape(_label(tick))}s</text>')
    out.append("</svg>")
    return Markup("".join(out))


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;
color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;
margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f5f5f5}
.verdict-pass,.ok{color:#176f2c;font-weight:600}.verdict-fail,.verdict-error,.bad{color:#b3261e;
font-weight:600}.verdict-skip,.verdict-unknown{color:#8a6d00;font-weight:600}
svg.rig-chart{display:block;max-width:100%;height:auto;margin:8px 0}
svg .series{fill:none;stroke-width:1.6}svg .grid{stroke:#eee}svg .frame{fill:none;
stroke:#999}svg .tick,svg .axis,svg .legend{font-size:11px;fill:#555}
svg .chart-title{font-size:13px;font-weight:600;fill:#222}svg .period{fill:#f4a261;
fill-opacity:.28;stroke:#e76f51;stroke-opacity:.5}svg .instant{stroke:#264653;
stroke-width:2}svg .mark{stroke:#555;stroke-dasharray:4 3}svg .nodata{fill:#999}
table.grid td.cell{min-width:90px;text-align:center}td.cell summary{cursor:pointer}
td.cell details[open]{text-align:left;max-width:420px}td.prevented{background:#d8f3dc}
td.anomaly{background:#ffccd5}td.undecided{background:#fff3bf}td.error{background:#e5e5e5}
td.cell pre,pre{white-space:pre-wrap;font-size:12px;background:#fafafa;padding:6px}
.error-box{border:1px solid #b3261e;background:#fff0f0;padding:8px}
.facts td:first-child{font-weight:600}.muted{color:#777}
#state{font-weight:600}
"""
"""The page's style sheet (the report's and the dashboard's)."""
