"""rig's load plugin: sysbench-style workloads (point-select, read-only, read-write, insert,
update-index) run by every connection of the run, with ramp-up, think time, an open-loop
``--load-rate``, HDR latency percentiles and per-interval lines.

Other plugins add workloads with the ``load_workloads`` hook (see :mod:`rig_load.hookspecs`)
and :class:`Workload`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

import rig
from rig_load import hookspecs, html_section, options, report, states
from rig_load.workloads import BUILTIN, Tables, Workload

__version__ = "0.2.0"
__all__ = ["Tables", "Workload"]

PLUGIN = options.PLUGIN


def workloads(config: rig.Config) -> dict[str, Workload]:
    """The built-in workloads and those the selected plugins add (hook ``load_workloads``),
    by name."""
    found: dict[str, Workload] = {}
    added: list[list[Workload]] = config.hook.load_workloads(config=config)
    for workload in (w for group in [BUILTIN, *added] for w in group):
        if workload.name in found:
            raise rig.PluginError(f"two plugins add the load workload {workload.name!r}",
                                  hint="rename one of them")
        found[workload.name] = workload
    return found


@rig.hookimpl
def rig_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    options.add_options(parser)


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    options.validate(config, list(workloads(config)))


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry, config: rig.Config) -> None:
    settings = options.LoadOptions.from_config(config)
    states.register(registry, settings, workloads(config)[settings.workload])


@rig.hookimpl
def rig_report(result: rig.RunResult, config: rig.Config) -> dict[str, Any]:
    return report.section(result, options.LoadOptions.from_config(config))


@rig.hookimpl
def rig_html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    return html_section.html_section(result)


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, config: rig.Config,
                         write: Callable[[str], None]) -> None:
    report.summary_lines(report.section(result, options.LoadOptions.from_config(config)), write)
