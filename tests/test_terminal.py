"""The run's terminal: a live block only on a terminal, log lines and other lines above it,
colour only when wanted, the width of the terminal or COLUMNS."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import rig
from rig.testing import RigRunner, make_plugin


class FakeTty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_no_live_block_when_stderr_is_not_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    terminal = rig.Terminal(out, err, environ={})
    assert not terminal.can_live
    assert terminal.live("progress 10%") is False
    assert err.getvalue() == ""
    terminal.end_live()
    assert err.getvalue() == ""


def test_lines_go_above_the_live_block_which_is_redrawn() -> None:
    out, err = FakeTty(), FakeTty()
    terminal = rig.Terminal(out, err, environ={"COLUMNS": "40"})
    assert terminal.live(["load 1/2", "x" * 60])
    assert err.getvalue() == "load 1/2\n" + "x" * 39  # cut to the width, minus one column
    terminal.line("a log line", err=True)
    erase = "\r\x1b[2K\x1b[1A\r\x1b[2K"
    assert err.getvalue().endswith(erase + "a log line\nload 1/2\n" + "x" * 39)
    terminal.line("summary")
    assert out.getvalue() == "summary\n"
    terminal.end_live(keep=True)
    assert err.getvalue().endswith("x" * 39 + "\n")
    terminal.line("after", err=True)
    assert err.getvalue().endswith("x" * 39 + "\nafter\n")  # nothing erased any more


def test_end_live_can_erase_the_block() -> None:
    err = FakeTty()
    terminal = rig.Terminal(io.StringIO(), err, environ={})
    terminal.live("working")
    terminal.end_live(keep=False)
    assert err.getvalue() == "working\r\x1b[2K"


def test_no_live_block_on_a_dumb_terminal_or_when_turned_off() -> None:
    assert not rig.Terminal(FakeTty(), FakeTty(), environ={"TERM": "dumb"}).can_live
    assert not rig.Terminal(FakeTty(), FakeTty(), live=False, environ={}).can_live


def test_colour_follows_the_terminal_no_color_and_the_option() -> None:
    assert rig.Terminal(FakeTty(), FakeTty(), environ={}).color
    assert not rig.Terminal(FakeTty(), FakeTty(), environ={"NO_COLOR": "1"}).color
    assert not rig.Terminal(io.StringIO(), io.StringIO(), environ={}).color
    assert rig.Terminal(io.StringIO(), io.StringIO(), color="yes", environ={}).color
    assert not rig.Terminal(FakeTty(), FakeTty(), color="no", environ={}).color
    on = rig.Terminal(io.StringIO(), io.StringIO(), color="yes", environ={})
    assert on.style("FAIL", "red", "bold") == "\x1b[31;1mFAIL\x1b[0m"
    off = rig.Terminal(io.StringIO(), io.StringIO(), color="no", environ={})
    assert off.style("FAIL", "red") == "FAIL"


def test_width_comes_from_columns_else_80_for_a_stream_without_a_terminal() -> None:
    assert rig.Terminal(io.StringIO(), io.StringIO(), environ={"COLUMNS": "132"}).width == 132
    assert rig.Terminal(io.StringIO(), io.StringIO(), environ={}).width == 80


def test_the_summary_is_coloured_with_color_yes(rig_runner: RigRunner) -> None:
    plain = rig_runner.run_on_server()
    assert "PASS  connection" in plain.stdout and "\x1b[" not in plain.stdout
    coloured = rig_runner.run_on_server("--color", "yes")
    assert "\x1b[32mPASS \x1b[0m connection" in coloured.stdout


def test_plugins_write_through_the_runs_terminal(rig_runner: RigRunner) -> None:
    def speak(ctx: rig.Context) -> None:
        ctx.terminal.line(f"hello from {ctx.connection_id}")

    plugin = make_plugin(
        rig_register_states=lambda registry: registry.add_state("speaker_speaking", speak),
        rig_terminal_summary=lambda terminal: terminal.line("summary line"))
    run = rig_runner.run_on_server("--plugin", "speaker", plugins=[("speaker", plugin)])
    assert run.exit_code == 0, run.stderr
    assert "hello from c1\n" in run.stdout
    assert "summary line\n" in run.stdout


# --- text from the server or the user cannot drive the terminal or forge a line -----------------

HOSTILE = "t\x1b]0;pwned\x07ab\x1b[2J\rc\nFAKE 00:00:00 ERROR forged\x9b31m\u202eevil\x7f"
SHOWN = "t\\x1b]0;pwned\\x07ab\\x1b[2J\\rc\\nFAKE 00:00:00 ERROR forged\\x9b31m\\u202eevil\\x7f"


def test_a_line_shows_control_characters_escaped_and_keeps_its_own_colour() -> None:
    out, err = FakeTty(), FakeTty()
    terminal = rig.Terminal(out, err, color="yes", environ={})
    terminal.line(terminal.style("PASS", "green") + " " + HOSTILE)
    assert out.getvalue() == "\x1b[32mPASS\x1b[0m " + SHOWN + "\n"
    terminal.line("\ttabs stay")
    assert out.getvalue().endswith("\n\ttabs stay\n")


def test_a_live_line_shows_control_characters_escaped() -> None:
    out, err = FakeTty(), FakeTty()
    terminal = rig.Terminal(out, err, environ={"COLUMNS": "500"})
    assert terminal.live([HOSTILE, "second"])
    assert err.getvalue() == SHOWN + "\nsecond"


def test_log_messages_cannot_forge_a_line_or_reach_the_terminal(
        rig_runner: RigRunner, tmp_path: Path) -> None:
    """A statement or table name from the server, logged or shown by a plugin, stays one
    escaped line in the console, the log file, the summary and the JUnit XML."""
    def rig_register_states(registry: rig.StateRegistry) -> None:
        registry.add_state("hostile_logging", LogHostile())

    class LogHostile(rig.Handler):
        def execute(self, ctx: rig.Context) -> str | None:
            ctx.log.warning("saw {}", HOSTILE)
            ctx.check("hostile", "fail", detail=HOSTILE)
            return None

    log = tmp_path / "rig.log"
    junit = tmp_path / "junit.xml"
    run = rig_runner.run_on_server(
        "--plugin", "hostile", "--log-file", str(log), "--junit-xml", str(junit),
        plugins=[("hostile", make_plugin(rig_register_states=rig_register_states))])
    assert run.exit_code == 1, run.stderr
    for text in (run.stderr, run.stdout, log.read_text()):
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text
        assert "forged" not in text.replace(SHOWN, "")
    assert f"saw {SHOWN}" in run.stderr
    assert f"saw {SHOWN}" in log.read_text()
    assert SHOWN in run.stdout  # the check's detail in the summary
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None and failure.get("message") == SHOWN
