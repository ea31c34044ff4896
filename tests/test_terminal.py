"""The run's terminal: a live block only on a terminal, log lines and other lines above it,
colour only when wanted, the width of the terminal or COLUMNS."""

from __future__ import annotations

import io

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
