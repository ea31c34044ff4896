"""Showing a load run while it goes, through the run's terminal (:class:`rig.Terminal`): where
it can show a live block (stderr is a terminal, default output settings), one live line
replaced every interval (elapsed, QPS, TPS, p95/p99, errors); elsewhere (a pipe, a file, ``-q``,
``--log-level``, a JSON log) sysbench-like interval lines on the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import rig


class Progress(Protocol):
    """Where the run's interval records go as each interval closes."""

    def interval(self, record: dict[str, Any]) -> None:
        """Show one closed interval (a record of ``sections.load.intervals``)."""

    def close(self) -> None:
        """The run is over (called once or more; also after a failure or Ctrl-C)."""


def interval_line(record: dict[str, Any]) -> str:
    """A sysbench-style interval line."""
    p95 = record["p95_ms"]
    seconds = record["seconds"]
    return (f"[ {record['t_s']:g}s ] thds: {record['threads']} tps: {record['tps']:.2f} "
            f"qps: {record['qps']:.2f} lat (ms,95%): {_ms(p95)} "
            f"err/s: {record['errors'] / seconds:.2f} "
            f"reconn/s: {record['reconnects'] / seconds:.2f}"
            + (" (ramp-up)" if record["ramp_up"] else "") + faults_text(record))


def faults_text(record: dict[str, Any]) -> str:
    """`` [chaos: pause]``: the injected faults active during the interval, or nothing."""
    return "".join(f" [{fault['source']}: {fault['detail'] or fault['name']}]"
                   for fault in record.get("faults", ()))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


class IntervalLines:
    """For a pipe or a file: one sysbench-like line per interval, on the log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log

    def interval(self, record: dict[str, Any]) -> None:
        self._log(interval_line(record))

    def close(self) -> None:
        """Nothing to finish: every line is complete."""


class LiveLine:
    """For a terminal: the run's live block, one line replaced after every interval (the
    terminal cuts it to its width), ended when the run is over. Should the terminal refuse
    the live block, the interval goes to the log instead."""

    def __init__(self, terminal: rig.Terminal, log: Callable[[str], None],
                 total_s: float) -> None:
        self.terminal = terminal
        self.total_s = total_s
        self._log = log
        self._errors = 0
        self._shown = False

    def live_text(self, record: dict[str, Any]) -> str:
        """The live line for ``record`` (errors counted since the start)."""
        return (f"load [ {record['t_s']:g}s / {self.total_s:g}s ] thds: {record['threads']} "
                f"qps: {record['qps']:.0f} tps: {record['tps']:.0f} "
                f"p95: {_ms(record['p95_ms'])} ms p99: {_ms(record['p99_ms'])} ms "
                f"errors: {self._errors}" + (" (ramp-up)" if record["ramp_up"] else "")
                + faults_text(record))

    def interval(self, record: dict[str, Any]) -> None:
        self._errors += record["errors"]
        if self.terminal.live(self.live_text(record)):
            self._shown = True
        else:
            self._log(interval_line(record))

    def close(self) -> None:
        if self._shown:
            self._shown = False
            self.terminal.end_live()


def choose(terminal: rig.Terminal, log: Callable[[str], None], total_s: float) -> Progress:
    """The live line when the run's terminal can show one; interval lines on the log
    otherwise."""
    return LiveLine(terminal, log, total_s) if terminal.can_live else IntervalLines(log)


class Live:
    """Shows each interval through ``shown`` and hands it to live displays (the
    ``rig_live_sample`` hook: ``source="load"``, ``name="interval"``)."""

    def __init__(self, shown: Progress, config: rig.Config) -> None:
        self.shown = shown
        self.config = config

    def interval(self, record: dict[str, Any]) -> None:
        self.shown.interval(record)
        self.config.hook.rig_live_sample(source="load", name="interval", data=dict(record),
                                         config=self.config)

    def close(self) -> None:
        self.shown.close()
