"""The HTML report (``--report-html``) and the live dashboard (``--dashboard``): the page's
content read as markup, and both opened in headless Chromium (Debian's ``chromium``, driven by
Playwright at ``/usr/bin/chromium``; no browser download). Without a browser the browser tests
skip with one line, unless ``RIG_REQUIRE_BROWSER=1`` (CI) makes that a failure.

Screenshots go to ``$RIG_TEST_ARTIFACTS`` (default: the test's temporary directory)."""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rig
from rig.builtin.dashboard import Hub
from rig.html import escape, line_chart, periods, table
from rig.testing import RigRunner, make_plugin
from rig.timeline import EventKind, Timeline, pair

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = os.environ.get("RIG_TEST_ARTIFACTS")


def _artifact(tmp_path: Path, name: str) -> Path:
    folder = Path(ARTIFACTS) if ARTIFACTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through Playwright, or a skip (a failure with RIG_REQUIRE_BROWSER=1)."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e .[test])"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; bash scripts/setup --test)"
    if reason is not None:
        if os.environ.get("RIG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no browser and RIG_REQUIRE_BROWSER=1: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _period_plugin() -> Any:
    """A tiny plugin that puts one period on the timeline (a START and its END), around the
    load plugin's run of connection c1: what a fault would look like."""

    def enter(ctx: rig.Context, state: str) -> None:
        if state == "load_running":
            ctx.event("fault.test", kind=EventKind.START, detail="a test period",
                      data={"fault": "test"})

    def exit_(ctx: rig.Context, state: str) -> None:
        if state == "load_running":
            ctx.event("fault.test", kind=EventKind.END, detail="a test period",
                      data={"fault": "test"})

    return make_plugin(rig_state_enter=enter, rig_state_exit=exit_)


LOAD_ARGS = ("--load-table-size", "200", "--load-report-interval", "0.5")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, rig_server: Any) -> tuple[Path, Any]:
    """One sandbox run of load, isolation and consistency, with a timeline period."""
    workdir = tmp_path_factory.mktemp("report")
    runner = RigRunner(workdir, rig_server)
    path = workdir / "r.html"
    run = runner.run_on_server("--plugin", "load,isolation,consistency,periods",
                               "--duration", "2", *LOAD_ARGS,
                               "--isolation-levels", "read-committed,serializable",
                               "--report-html", str(path),
                               plugins=[("periods", _period_plugin())])
    assert run.exit_code == 0, run.stderr
    return path, run


def test_the_report_holds_the_run_the_checks_the_timeline_and_each_plugins_section(
        report: tuple[Path, Any]) -> None:
    path, run = report
    text = path.read_text()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", text)  # nothing from the network
    for heading in ("Run", "Checks", "Timeline", "Load", "Isolation matrix", "Consistency"):
        assert f">{heading}</h2>" in text
    assert "exit code</td><td><span class=\"ok\">0 (ok)" in text
    assert "rig-plugin-load" in text and rig.__version__ in text
    assert text.count('class="verdict-pass"') == len(run.report["checks"])
    assert text.count('<rect class="period"') >= 3  # the timeline, throughput, latency
    assert 'data-plugin="isolation"' in text and 'class="grid"' in text


def test_the_options_table_masks_secrets(rig_runner: RigRunner, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    run = rig_runner.run("--host", "127.0.0.1", "--port", str(_free_port()),
                         "--connect-timeout", "2", "--password", "hunter2-secret",
                         "--report-html", str(path), env={"RIG_USER": "hunter3-user"})
    assert run.exit_code == 5  # nothing listens there: the report is written all the same
    text = path.read_text()
    assert "<td>password</td><td>***</td><td>command line</td>" in text
    assert "hunter2" not in text
    assert "<td>user</td><td>hunter3-user</td><td>env RIG_USER" in text


def test_the_report_is_written_when_the_run_fails(rig_runner: RigRunner,
                                                  tmp_path: Path) -> None:
    def boom(ctx: rig.Context) -> None:
        raise RuntimeError("injected <b>failure</b>")

    breaker = make_plugin(rig_register_states=lambda registry: registry.add_state("breaking",
                                                                                  boom))
    path = tmp_path / "r.html"
    run = rig_runner.run_on_server("--plugin", "breaker", "--report-html", str(path),
                                   plugins=[("breaker", breaker)])
    assert run.exit_code == 3
    text = path.read_text()
    assert "3 (internal_error)" in text or "3 (" in text
    assert "injected &lt;b&gt;failure&lt;/b&gt;" in text and "<b>failure</b>" not in text


def test_a_plugin_section_that_raises_costs_that_section_only(rig_runner: RigRunner,
                                                              tmp_path: Path) -> None:
    def section(result: rig.RunResult) -> rig.HtmlSection:
        raise RuntimeError("no drawing today")

    path = tmp_path / "r.html"
    run = rig_runner.run_on_server(
        "--plugin", "basic,broken", "--report-html", str(path),
        plugins=[("broken", make_plugin(rig_html_section=section))])
    assert run.exit_code == 3
    assert "rig_html_section" in run.stderr and "broken" in run.stderr
    text = path.read_text()
    assert "could not be drawn" in text and 'data-plugin="basic"' in text


def test_without_report_html_no_page_and_with_no_report_html_no_option(
        rig_runner: RigRunner) -> None:
    run = rig_runner.run_on_server("-p", "no:report_html", "--report-html", "x.html")
    assert run.exit_code == 4
    assert "--report-html" in run.stderr


def test_html_helpers_escape_everything_but_their_own_markup() -> None:
    assert escape("<a href='x'>&") == "&lt;a href=&#x27;x&#x27;&gt;&amp;"
    cell = table(["<h>"], [["<td>", escape("<ok>")]])
    assert "&lt;h&gt;" in cell and "&lt;td&gt;" in cell and "<td>&lt;ok&gt;</td>" in cell
    chart = line_chart({"<s>": [(0, 1.0), (1, None), (2, 3.0), (3, 2.0)]}, title="<t>")
    assert "&lt;s&gt;" in chart and "&lt;t&gt;" in chart and "<s>" not in chart
    assert re.search(r'data-points="3" [^>]*d="M[^"]+ M[^"]+ L', chart)  # None breaks the line


def test_periods_pair_each_start_with_its_end_and_only_faults_are_shaded() -> None:
    ticks = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    timeline = Timeline(clock=lambda: next(ticks))
    fault = {"fault": "kill"}
    timeline.add("fault.kill", source="chaos", kind=EventKind.START, data=fault)
    timeline.add("ddl", source="job_monitor", kind=EventKind.START)
    timeline.add("fault.kill", source="chaos", kind=EventKind.END, data=fault)
    timeline.add("ddl", source="other", kind=EventKind.END)  # another source: not its end
    assert [(p.name, p.start_s, p.end_s) for p in pair(timeline.events)] == [
        ("fault.kill", 1.0, 3.0), ("ddl", 2.0, None)]
    found = periods(timeline.events)
    assert [(p.name, p.fault) for p in found] == [("fault.kill", "kill")]
    chart = line_chart({"x": [(0, 1.0), (5, 2.0)]}, periods=found)
    assert chart.count('<rect class="period"') == 1


def test_listen_address_values() -> None:
    assert rig.types.listen_address("8765") == ("127.0.0.1", 8765)
    assert rig.types.listen_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert rig.types.listen_address("[::1]:9") == ("::1", 9)
    for bad in ("", "host:", "x:70000", "a b:1", "port"):
        with pytest.raises(ValueError):
            rig.types.listen_address(bad)


def test_a_bad_dashboard_value_is_one_error_line_exit_4(rig_runner: RigRunner) -> None:
    run = rig_runner.run("--sandbox", "--dashboard", "localhost:99999")
    assert run.exit_code == 4
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error:")]
    assert len(errors) == 1 and "--dashboard" in errors[0], run.stderr


def test_a_dashboard_port_in_use_is_one_error_line_exit_4(rig_runner: RigRunner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = rig_runner.run_on_server("--plugin", "basic", "--dashboard", f"127.0.0.1:{port}")
    assert run.exit_code == 4
    errors = [line for line in run.stderr.splitlines() if line.startswith("rig: error:")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], run.stderr
    assert "choose another port" in errors[0]


def test_the_dashboard_hub_draws_samples_and_shades_periods() -> None:
    class FakeConfig:
        timeline = Timeline()

    hub = Hub(FakeConfig())  # type: ignore[arg-type]
    FakeConfig.timeline.add("fault.x", source="chaos", kind=EventKind.START,
                            data={"fault": "x"})
    for second in range(3):
        hub.add_sample("load", "interval", {"at_s": second, "tps": 10.0 * second,
                                            "p95_ms": 1.5})
    update = hub.snapshot()
    assert update["samples"] == 3 and not update["closed"]
    assert update["plots"].count('class="series"') == 2  # tps; p95_ms
    assert '<rect class="period"' in update["plots"]
    hub.close("ended")
    assert hub.snapshot()["closed"]


# --- in the browser ---------------------------------------------------------------------


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


def test_the_report_opens_offline_in_chromium_with_every_plot_drawn(
        browser: Any, report: tuple[Path, Any], tmp_path: Path) -> None:
    path, _run = report
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    assert errors == []
    assert all(url.startswith("file:") for url in requests), requests
    # every plot has drawn content: a path with points and a rendered size
    charts = page.eval_on_selector_all(
        "svg.rig-chart:not(.timeline)", """svgs => svgs.map(svg => ({
            points: [...svg.querySelectorAll('path.series')].map(p => +p.dataset.points),
            length: Math.max(0, ...[...svg.querySelectorAll('path.series')].map(
                p => p.getTotalLength())),
            width: svg.getBoundingClientRect().width}))""")
    assert len(charts) >= 2
    for chart in charts:
        assert max(chart["points"]) >= 2 and chart["length"] > 10 and chart["width"] > 100
    # every time plot shades the period, and the timeline draws it
    shaded = page.eval_on_selector_all(
        "svg.rig-chart", "svgs => svgs.map(s => s.querySelectorAll('rect.period').length)")
    assert all(count >= 1 for count in shaded), shaded
    # the isolation grid: its cells, and a cell's evidence one click away
    cells = page.locator("section[data-plugin=isolation] table.grid td.cell")
    assert cells.count() >= 2 * 10
    first = cells.first.locator("details")
    assert first.evaluate("d => d.open") is False
    first.locator("summary").click()
    assert first.evaluate("d => d.open") is True
    assert first.locator("p").first.inner_text()
    page.screenshot(path=str(_artifact(tmp_path, "report-full.png")), full_page=True)
    page.set_viewport_size({"width": 1000, "height": 1400})
    page.locator("section[data-plugin=load]").scroll_into_view_if_needed()
    page.screenshot(path=str(_artifact(tmp_path, "report.png")))  # what docs/img shows
    context.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_dashboard_updates_live_and_is_gone_when_the_run_ends(
        browser: Any, rig_runner: RigRunner, tmp_path: Path) -> None:
    port = _free_port()
    configured = threading.Event()

    @rig.hookimpl(trylast=True)
    def rig_configure(config: rig.Config) -> None:
        configured.set()  # after the dashboard's (tryfirst): the server is listening

    finished: dict[str, Any] = {}

    def run() -> None:
        finished["run"] = rig_runner.run_on_server(
            "--plugin", "load,periods,ready", "--duration", "4", *LOAD_ARGS,
            "--dashboard", f"127.0.0.1:{port}",
            plugins=[("periods", _period_plugin()),
                     ("ready", make_plugin(rig_configure=rig_configure))])

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert configured.wait(60), "the run never configured"
        page, errors = _open(browser, f"http://127.0.0.1:{port}/")
        page.wait_for_function(
            "() => +document.getElementById('samples').textContent >= 2", timeout=60_000)
        first = int(page.inner_text("#samples"))
        page.wait_for_function(
            f"() => +document.getElementById('samples').textContent > {first}",
            timeout=60_000)
        assert page.locator("#plots svg.rig-chart path.series").count() >= 2
        assert "load_running" in page.inner_text("#states")
        page.screenshot(path=str(_artifact(tmp_path, "dashboard.png")))
        page.wait_for_function(
            "() => document.getElementById('phase').textContent.includes('ended')",
            timeout=60_000)
        assert errors == []
    finally:
        thread.join(120)
    assert finished["run"].exit_code == 0, finished["run"].stderr
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("127.0.0.1", port))
