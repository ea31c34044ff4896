"""rig's consistency plugin: random concurrent transactions, their history checked for
anomalies the way Jepsen's Elle does.

After the core's common states it claims a database (``--consistency-database``), creates the
workload's tables, and runs ``--consistency-clients`` client sessions per connection for
``--duration`` seconds (or ``--consistency-txns`` transactions): random list-append (or
rw-register) transactions at ``--isolation-level``, every invocation and outcome recorded.
The history is then checked as Elle checks it — dependency graph, cycles, the anomalies that
need no graph — against the model the level claims (``--consistency-model`` overrides), with
the server's known weaknesses from an expectation profile reported as known. ``rig consistency
check FILE`` checks a saved history (rig's, or Jepsen's ``history.edn``) offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rig
from rig_consistency import command, html_section, options
from rig_consistency.workflow import RUNS, Check, CleanUp, ConsistencyRun, Prepare, Run

__version__ = "0.2.0"

PLUGIN = options.PLUGIN


@rig.hookimpl
def rig_addoption(parser: rig.OptionParser) -> None:
    options.add_options(parser)


@rig.hookimpl
def rig_configure(config: rig.Config) -> None:
    if PLUGIN in config.selected_plugins:
        options.validate(config)


@rig.hookimpl
def rig_register_commands(commands: rig.CommandRegistry) -> None:
    command.register(commands)


@rig.hookimpl
def rig_register_states(registry: rig.StateRegistry) -> None:
    registry.add_state("consistency_preparing", Prepare(),
                       description="claim the database, create the tables, meet the other "
                       "connections")
    registry.add_state("consistency_running", Run(),
                       description="run the clients' random transactions, record the history")
    registry.add_state("consistency_checking", Check(),
                       description="check the whole history (once) and judge it")
    registry.add_state("consistency_cleaning_up", CleanUp(), cleanup=True,
                       description="save the history after a failure or Ctrl-C")


def _runs(result: rig.RunResult) -> list[ConsistencyRun]:
    return [run for conn in result.connections if conn.data is not None
            for run in conn.data.get(RUNS, [])]


@rig.hookimpl
def rig_report(result: rig.RunResult) -> dict[str, Any] | None:
    """One level: its section; several: ``{"runs": [section, ...]}`` in the order they ran."""
    runs = _runs(result)
    if not runs:
        return None
    return runs[0].section() if len(runs) == 1 else {"runs": [run.section() for run in runs]}


@rig.hookimpl
def rig_html_section(result: rig.RunResult) -> rig.HtmlSection | None:
    return html_section.html_section(_runs(result))


@rig.hookimpl
def rig_terminal_summary(result: rig.RunResult, write: Callable[[str], None]) -> None:
    for run in _runs(result):
        for line in summary_lines(run):
            write(line)


def summary_lines(run: ConsistencyRun, examples: int = 1) -> list[str]:
    """The console summary of a run: what ran, the verdict, and each anomaly explained."""
    counts = run.recorder.counts()
    server = run.server
    lines = [f"consistency: {run.options.workload} at {run.level_key} on {server['flavor']} "
             f"{server['version']}, {server['clients']} client(s), seed {run.options.seed}: "
             f"{counts['invoked']} transactions ({counts['ok']} ok, {counts['fail']} failed, "
             f"{counts['info']} unknown) in {run.duration_s:.1f} s"]
    result = run.result
    if not run.started:
        return [lines[0].split(":")[0] + f" at {run.level_key}: not run"]
    if result is None:
        return [*lines, "    not checked (the run did not get that far)"]
    lines.append(f"    checked in {run.check_s:.2f} s against {', '.join(run.models)}: "
                 f"valid {str(result.valid).lower()}"
                 + (f"; anomalies: {', '.join(result.anomaly_types)}"
                    if result.anomaly_types else "")
                 + (f"; not {', '.join(result.not_)}" if result.not_ else ""))
    if run.known_found:
        assert run.profile is not None
        lines.append(f"    known for {run.profile.name} at {run.level_key}: "
                     f"{', '.join(run.known_found)}")
    if run.unexpected:
        lines.append(f"    UNEXPECTED: {', '.join(run.unexpected)}")
    for kind, anomalies in result.anomalies.items():
        for anomaly in anomalies[:examples]:
            text = anomaly.explanation
            text = text if text.startswith(f"{kind}:") else f"{kind}: {text}"
            lines.extend(f"    {line}" for line in text.splitlines())
    if run.history_file:
        lines.append(f"    history: {run.history_file} (rig consistency check "
                     f"{run.history_file})")
    return lines
