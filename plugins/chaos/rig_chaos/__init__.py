"""rig's chaos plugin: faults injected while any workflow runs (the server process, the network
through a fault proxy, CPU pressure), and a verdict on how the database and rig came through.

Select it beside a workload: ``rig --sandbox --plugin load,chaos --chaos "kill@5s,pause@12s+3s"``.
Its clock starts when another plugin's workload begins (its first ``start`` timeline event);
the nemesis runs beside the workflow on a thread of its own, a probe measures the server through
the same route, and the ``chaos_judging`` state (after the workload's states) judges every fault.
See docs/chaos.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rig
from rig_chaos import html_section, options
from rig_chaos.chaosrun import FINISHED, RUN, ChaosRun, Judging

__version__ = "0.2.0"


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    options.add_options(parser)


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    config.stash[RUN] = ChaosRun.configure(config)


@rig.hookimpl
def rig_timeline_event(event: rig.TimelineEvent, config: rig.Config) -> None:
    """The first ``start`` event of another plugin (its workload began) starts the clock."""
    run = config.stash.get(RUN)
    if run is not None and event.kind is rig.EventKind.START \
            and event.source not in (options.PLUGIN, "rig"):
        run.begin()


@rig.hookimpl
def rig_state_enter(ctx: rig.Context, state: str) -> None:
    """Watch for an interrupt; once every connection has finished, undo every fault: the
    scratch data is dropped next, through the proxy, and must not meet a partition."""
    run = ctx.config.stash.get(RUN)
    if run is None:
        return
    run.watch(ctx)
    if state in rig.states.TERMINAL_STATES:
        finished = ctx.shared.update(FINISHED, lambda count: (count or 0) + 1)
        if finished >= ctx.shared.parties:
            run.nemesis.stop()


@rig.hookimpl(optionalhook=True)
def load_interval(record: dict[str, Any], config: rig.Config) -> None:
    """Keep load's interval records: the throughput dip and recovery are measured on them."""
    run = config.stash.get(RUN)
    if run is not None:
        run.intervals.append(dict(record))


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("chaos_judging", Judging(),
                       description="let the faults still scheduled end, then judge each one")


@rig.hookimpl
def rig_report(config: rig.Config) -> dict[str, Any] | None:
    run = config.stash.get(RUN)
    return None if run is None else run.section()


@rig.hookimpl
def rig_html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    return html_section.html_section(result.sections.get("chaos"))


@rig.hookimpl
def rig_terminal_summary(config: rig.Config, write: Callable[[str], None],
                         terminal: rig.Terminal) -> None:
    run = config.stash.get(RUN)
    if run is not None:
        run.summary_lines(write, terminal)


@rig.hookimpl
def rig_unconfigure(config: rig.Config) -> None:
    """Undo every fault (a paused server resumed, the network healed, pressure stopped) and
    stop the probe and the proxy — also after a failure or Ctrl-C, before the sandbox goes."""
    run = config.stash.pop(RUN)
    if run is not None:
        run.finish()
