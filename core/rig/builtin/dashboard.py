"""The built-in ``dashboard`` plugin: ``--dashboard [HOST:]PORT`` serves a live page while the
run goes on, and stops with the run (also on Ctrl-C).

The server is the standard library's ``http.server`` in a thread, bound where asked only
(``127.0.0.1`` when no host is given). It serves two paths and nothing else: ``/`` (the page)
and ``/events`` (server-sent events). Every update carries the plots drawn in Python (the same
SVG as the HTML report, every timeline period shaded), the latest numbers and each connection's
state; the page's few lines of script put them in place. What it shows comes from hooks:
``rig_live_sample`` (the load plugin's interval records, job_monitor's samples),
``rig_state_enter``/``rig_state_exit`` and ``rig_timeline_event``.

A port that cannot be bound (in use, not allowed) is a configuration error: one
``rig: error:`` line, exit 4, before any connection is opened.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rig import html, types
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.data import Key
from rig.engine.context import Context
from rig.engine.results import RunResult, StateOutcome
from rig.errors import ConfigError, os_reason
from rig.hookspecs import hookimpl
from rig.timeline import TimelineEvent

_HUB: Key[Hub] = Key("dashboard.hub")
_SERVER: Key[DashboardServer] = Key("dashboard.server")
KEEPALIVE_S = 5.0
"""How often an idle event stream sends a comment, so a dead client is noticed."""
_SKIP = frozenset({"t_s", "at_s", "seconds", "threads", "ramp_up", "events"})


class Hub:
    """What the run produced so far, and a condition that wakes the event streams."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.Condition()
        self.version = 0
        self.closed = False
        self.series: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.states: dict[str, str] = {}
        self.phase = "starting"

    def changed(self) -> None:
        """Wake the streams (call with the lock held)."""
        self.version += 1
        self.lock.notify_all()

    def add_sample(self, source: str, name: str, data: Mapping[str, Any]) -> None:
        """A measurement from ``rig_live_sample``."""
        with self.lock:
            self.series.setdefault((source, name), []).append(dict(data))
            self.changed()

    def set_state(self, connection: str, state: str) -> None:
        """A connection's current state."""
        with self.lock:
            self.states[connection] = state
            self.phase = "running"
            self.changed()

    def touch(self) -> None:
        """Something else changed (a timeline event)."""
        with self.lock:
            self.changed()

    def close(self, phase: str) -> None:
        """The run is over: the streams send their last update and end."""
        with self.lock:
            self.phase = phase
            self.closed = True
            self.changed()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the version differs from ``seen`` (or ``timeout``); the version."""
        with self.lock:
            self.lock.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version

    def snapshot(self) -> dict[str, Any]:
        """The update the page shows: plots, the latest numbers, states."""
        with self.lock:
            series = {key: list(records) for key, records in self.series.items()}
            states = dict(self.states)
            phase, closed = self.phase, self.closed
        events = self.config.timeline.events
        periods = html.periods(events)
        now = self.config.timeline.now_s()
        plots: list[str] = []
        numbers: list[list[object]] = []
        for (source, name), records in series.items():
            fields = [k for k, v in records[-1].items()
                      if k not in _SKIP and isinstance(v, int | float)
                      and not isinstance(v, bool)]
            groups = {"ms": [f for f in fields if f.endswith("_ms")],
                      "": [f for f in fields if not f.endswith("_ms")]}
            for unit, group in groups.items():
                if not group:
                    continue
                plots.append(html.line_chart(
                    {f: [(float(r.get("at_s", 0.0)), _num(r.get(f))) for r in records]
                     for f in group},
                    title=f"{source} {name}" + (" latency" if unit else ""),
                    y_label=unit,
                    periods=periods, x_range=(0.0, max(now, 1.0))))
            numbers += [[f"{source} {name}", field, records[-1][field]] for field in fields]
        state_rows = [[conn, state] for conn, state in sorted(states.items())]
        return {
            "phase": phase, "closed": closed, "elapsed_s": round(now, 1),
            "samples": sum(len(r) for r in series.values()),
            "plots": "".join(plots) or '<p class="muted">No measurement yet.</p>',
            "numbers": html.table(["series", "value", "latest"], numbers) if numbers else "",
            "states": html.table(["connection", "state"], state_rows) if state_rows else "",
            "timeline": html.timeline_chart(events, x_range=(0.0, max(now, 1.0))),
        }


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


PAGE_SCRIPT = """
const show = (u) => {
  document.getElementById('phase').textContent = u.phase;
  document.getElementById('elapsed').textContent = u.elapsed_s + ' s';
  document.getElementById('samples').textContent = u.samples;
  for (const k of ['plots', 'numbers', 'states', 'timeline'])
    document.getElementById(k).innerHTML = u[k];
};
const source = new EventSource('events');
source.addEventListener('update', (e) => show(JSON.parse(e.data)));
source.addEventListener('end', (e) => { show(JSON.parse(e.data)); source.close();
  document.getElementById('phase').textContent += ' (the run has ended; the server is gone)'; });
source.onerror = () => { if (source.readyState === EventSource.CLOSED) return;
  source.close(); document.getElementById('phase').textContent = 'disconnected'; };
"""


def page() -> str:
    """The dashboard page (the updates fill it in)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>rig dashboard</title><link rel=\"icon\" href=\"data:,\"><style>"
            + html.STYLE + "</style></head><body>"
            "<h1>rig dashboard</h1><p>State: <span id=\"state\"><span id=\"phase\">"
            "connecting</span></span> · elapsed <span id=\"elapsed\">-</span> · samples "
            "<span id=\"samples\">0</span></p><div id=\"plots\"></div><h2>Latest</h2>"
            "<div id=\"numbers\"></div><h2>Connections</h2><div id=\"states\"></div>"
            "<h2>Timeline</h2><div id=\"timeline\"></div><script>" + PAGE_SCRIPT
            + "</script></body></html>\n")


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are not the run's business."""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, "text/html; charset=utf-8", page().encode(), body=body)
        elif path == "/events" and body:
            self._stream()
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n", body=body)

    def _send(self, status: int, kind: str, data: bytes, *, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _stream(self) -> None:
        hub = self.server.hub
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seen = -1
        try:
            while True:
                version = hub.wait(seen, KEEPALIVE_S)
                if version == seen and not hub.closed:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                seen = version
                update = hub.snapshot()
                kind = "end" if update["closed"] else "update"
                self.wfile.write(f"event: {kind}\ndata: {json.dumps(update)}\n\n".encode())
                self.wfile.flush()
                if update["closed"]:
                    return
        except (BrokenPipeError, ConnectionResetError):
            return


class DashboardServer(ThreadingHTTPServer):
    """The HTTP server, serving the dashboard of one run from its own thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], hub: Hub) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, _Handler)
        self.hub = hub
        self.thread = threading.Thread(target=self.serve_forever, name="rig-dashboard",
                                       kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        """Where the page is."""
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}/"

    def stop(self) -> None:
        """Stop serving and close the socket; returns once the server thread is gone."""
        self.shutdown()
        self.server_close()
        self.thread.join()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@hookimpl
def rig_addoption(parser: OptionParser) -> None:
    parser.getgroup("reports").addoption(
        "--dashboard", type=types.listen_address, metavar="[HOST:]PORT",
        help="serve a live dashboard of the run at http://HOST:PORT/ while it goes (host "
        "127.0.0.1 when left out; port 0 picks a free one)")


@hookimpl(tryfirst=True)
def rig_configure(config: Config) -> None:
    address = config.getoption("dashboard")
    if not address:
        return
    hub = Hub(config)
    try:
        server = DashboardServer(address, hub)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve --dashboard on {address[0]}:{address[1]}: {os_reason(exc)}",
            hint="choose another port (or 0 for a free one)") from None
    config.stash[_HUB] = hub
    config.stash[_SERVER] = server
    server.thread.start()
    config.terminal.line(f"rig: dashboard at {server.url} while the run goes", err=True)


@hookimpl
def rig_state_enter(ctx: Context, state: str) -> None:
    hub = ctx.config.stash.get(_HUB)
    if hub is not None:
        hub.set_state(ctx.connection_id, state)


@hookimpl
def rig_state_exit(ctx: Context, state: str, outcome: StateOutcome) -> None:
    hub = ctx.config.stash.get(_HUB)
    if hub is not None and outcome.next_state is None and outcome.status != "ok":
        hub.set_state(ctx.connection_id, f"{state} ({outcome.status})")


@hookimpl
def rig_timeline_event(event: TimelineEvent, config: Config) -> None:
    hub = config.stash.get(_HUB)
    if hub is not None:
        hub.touch()


@hookimpl
def rig_live_sample(source: str, name: str, data: Mapping[str, Any], config: Config) -> None:
    hub = config.stash.get(_HUB)
    if hub is not None:
        hub.add_sample(source, name, data)


@hookimpl
def rig_write_report(result: RunResult, config: Config) -> None:
    hub = config.stash.get(_HUB)
    if hub is not None:
        hub.close(f"ended, exit {int(result.exit_code)}")


@hookimpl
def rig_unconfigure(config: Config) -> None:
    server = config.stash.pop(_SERVER)
    hub = config.stash.get(_HUB)
    if hub is not None and not hub.closed:
        hub.close("ended")
    if server is not None:
        server.stop()
