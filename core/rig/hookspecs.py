"""The hooks a rig plugin may implement.

A plugin is a module (or any object) registered under the ``rig.plugins`` entry-point group, or
one of rig's built-in plugins. It implements hooks by defining functions with the names below,
decorated with :data:`rig.hookimpl`. An implementation may accept any subset of the arguments
of the spec, by name.

Every hook is called through pluggy, so ``@rig.hookimpl(tryfirst=True)`` / ``trylast=True``
order an implementation among the others, ``@rig.hookimpl(wrapper=True)`` wraps the call (a
generator: code before ``yield`` runs first, ``yield`` returns the result or raises), and
``rig -vv`` traces every call. Each spec below says how it is called:

- **one call** reaches every implementation at once, as in pytest; a wrapper wraps them all.
- **per plugin** means rig calls the hook once for each implementing plugin, because the result
  belongs to that plugin (its options, its states, its report section) and a plugin that raises
  must fail alone; a wrapper then wraps each plugin's call.

No hook stops at the first result (none is ``firstresult``). An exception in any hook ends the
run — or, for the hooks called from a connection's thread, that connection — in error with
exit 3 and one line naming the plugin and the hook (exit 4 or 5 when the exception is a
:class:`rig.UsageError` or :class:`rig.ConnectError` the plugin raised on purpose).

Order of a run: ``rig_addhooks`` → ``rig_addoption`` → (``rig_register_commands``) →
``rig_configure`` → ``rig_register_states`` → for every transition of every connection
``rig_state_enter`` / ``rig_state_exit``, and ``rig_timeline_event`` for every timeline event →
``rig_report`` → ``rig_write_report`` (the terminal reporter calls ``rig_terminal_summary``,
``report_html`` calls ``rig_html_section``) →
``rig_unconfigure``.

``rig_addhooks``, ``rig_addoption`` and ``rig_register_commands`` reach every loaded plugin (so
``rig --help`` shows every plugin's options); every later hook reaches only the built-in plugins
and the plugins selected with ``--plugin``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rig.config.config import Config
    from rig.config.parser import OptionParser
    from rig.engine.context import Context
    from rig.engine.results import RunResult, StateOutcome
    from rig.engine.states import StateRegistry
    from rig.html import HtmlSection
    from rig.subcommands import CommandRegistry
    from rig.terminal import Terminal
    from rig.timeline import TimelineEvent

PROJECT_NAME = "rig"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marker for hook specifications; plugins that define their own hooks use it too."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for hook implementations: decorate each hook function of a plugin with it."""


@hookspec(historic=True)
def rig_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add hook specifications, so that other plugins can extend this one.

    :param pluginmanager: the run's pluggy PluginManager; call
        ``pluginmanager.add_hookspecs(module_or_class)``.

    Historic: called for each plugin as it is registered, before any option exists. An
    exception unregisters the plugin and records it as failed (one error line; the others keep
    working). Later, call the new hooks through ``config.hook``.

    Example::

        @rig.hookimpl
        def rig_addhooks(pluginmanager):
            from rig_load import hookspecs
            pluginmanager.add_hookspecs(hookspecs)
    """


@hookspec
def rig_addoption(parser: OptionParser, pluginmanager: pluggy.PluginManager) -> None:
    """Add command-line options (a config extension).

    :param parser: the :class:`rig.OptionParser`. Call ``parser.getgroup("NAME", "what")`` for
        your plugin's own group of ``rig --help`` and ``group.addoption(...)`` with the
        arguments of :meth:`argparse.ArgumentParser.add_argument`.
    :param pluginmanager: the run's pluggy PluginManager.

    Per plugin, for every loaded plugin (selected or not), in pluggy's order, before the command
    line is parsed. Every option gets an environment variable ``RIG_<OPTION>`` and a config-file
    key, with the precedence command line > environment > config file > default. Name options
    ``--<plugin>-<name>`` (the naming rule); an option another plugin already added, or an
    exception here, makes this plugin fail to load (one error line; the others keep working).
    Use a ``type=`` that raises ``ValueError`` (see :mod:`rig.types`) so that a bad value from
    any source exits 4 naming the option, the value and its source.

    Example::

        @rig.hookimpl
        def rig_addoption(parser):
            group = parser.getgroup("acme", "acme plugin: what it checks")
            group.addoption("--acme-limit", type=rig.types.positive_int, default=10,
                            help="how many (default: %(default)s)")
    """


@hookspec
def rig_register_commands(commands: CommandRegistry) -> None:
    """Add subcommands: ``rig NAME ARGS...`` (like datasette's ``register_commands``).

    :param commands: the :class:`rig.CommandRegistry`; call
        ``commands.add("NAME", run, help="one line")`` where ``run(invocation) -> int`` gets a
        :class:`rig.Invocation` (``args``, ``stdout``, ``stderr``, ``environ``, ``cwd``,
        ``terminal``) and returns the exit code. :class:`rig.ArgumentParser` parses ``args``
        with rig's error style.

    Per plugin, for every loaded plugin, when ``rig`` is given a command name or ``--help``.
    A name another plugin (or rig) already uses makes this plugin's commands fail with an error
    naming both. What ``run`` raises is reported like any error of rig (one line; exit 3 unless
    it is a :class:`rig.RigError` with another code).
    """


@hookspec
def rig_configure(config: Config) -> None:
    """Validate option values and derive settings, after the command line is parsed.

    :param config: the run's :class:`rig.Config`: ``config.getoption(dest)``,
        ``config.require(dest)``, ``config.invalid(dest, reason)``, ``config.hook``,
        ``config.terminal``, ``config.timeline``.

    One call, before any connection is opened. Raise ``config.invalid(dest, reason)`` (a
    :class:`rig.ConfigError`) for a value that is wrong in combination with others: rig exits 4
    with the option's name, value and source. Another exception exits 3 naming the plugin.

    Example::

        @rig.hookimpl
        def rig_configure(config):
            if config.getoption("acme_levels") == []:
                raise config.invalid("acme_levels", "name at least one isolation level")
    """


@hookspec
def rig_register_states(registry: StateRegistry, config: Config) -> None:
    """Add this plugin's states, with their handlers, to the workflow.

    :param registry: the :class:`rig.StateRegistry`; call
        ``registry.add_state(name, handler, description=..., cleanup=False)``. States run in the
        order they are added, after the common states and after the states of plugins selected
        earlier on the command line; a handler may also return the name of any state to jump.
    :param config: the run's :class:`rig.Config`.

    Per plugin: first the built-in ``common`` plugin (the common states), then the selected
    plugins in ``--plugin`` order — the workflow's order is data, so ``tryfirst`` cannot change
    it. Name states ``<plugin>_<what>``; two plugins adding the same state name is an error
    naming both (exit 3), as is an exception here.

    Example::

        @rig.hookimpl
        def rig_register_states(registry):
            registry.add_state("acme_measuring", Measure(), description="time round trips")
    """


@hookspec
def rig_state_enter(ctx: Context, state: str) -> None:
    """Observe a connection entering a state (logging, metrics, live displays).

    :param ctx: the connection's :class:`rig.Context`.
    :param state: the state's name; also ``completed`` or ``error`` at the end.

    One call per transition of every connection, from that connection's thread, before the
    handler's ``enter``. Keep it quick. An exception ends that connection in ``error`` (exit 3)
    naming the plugin and the hook; entering ``completed`` included.
    """


@hookspec
def rig_state_exit(ctx: Context, state: str, outcome: StateOutcome) -> None:
    """Observe a connection leaving a state.

    :param ctx: the connection's :class:`rig.Context`.
    :param state: the state's name.
    :param outcome: a :class:`rig.StateOutcome`: ``ok``, ``error`` or ``interrupted``, the
        duration in seconds, and the next state.

    One call per transition, after the handler's ``exit``, from the connection's thread. An
    exception ends that connection in ``error`` (exit 3) naming the plugin and the hook.
    """


@hookspec
def rig_timeline_event(event: TimelineEvent, config: Config) -> None:
    """Observe an event added to the run's timeline (a fault, a DDL phase, a reconnect).

    :param event: the :class:`rig.TimelineEvent`.
    :param config: the run's :class:`rig.Config`.

    One call per event, from the thread that added it (a connection's, or a plugin's own),
    right after it is recorded. An exception propagates to the code that added the event: in a
    handler it ends that connection in ``error`` (exit 3) naming the plugin and the hook.
    """


@hookspec
def rig_report(result: RunResult, config: Config) -> Mapping[str, Any] | None:
    """Contribute this plugin's section to the reports.

    :param result: the :class:`rig.RunResult`: per connection the states, server, errors and
        the data handlers stored in ``ctx.data``; the checks with their verdicts; the timeline.
    :param config: the run's :class:`rig.Config`.
    :returns: a mapping of JSON types only (dict with string keys, list, tuple, str, int,
        float, bool, None), stored under ``sections[<plugin>]`` of every report; or ``None``
        for no section. Anything else (a ``Decimal``, a set, an object) is an error naming the
        plugin and where the value sits (exit 3), never silently turned into a string.

    Per plugin, after every connection has finished, also when the run failed or was
    interrupted (then with what ran).
    """


@hookspec
def rig_write_report(result: RunResult, config: Config) -> None:
    """Write a report of the run: a reporter. The built-in ``report_json`` (``--report-json``),
    ``junit_xml`` (``--junit-xml``) and ``terminal`` (the console summary, ``trylast``) plugins
    implement it.

    :param result: the :class:`rig.RunResult`, with every plugin's section in
        ``result.sections``.
    :param config: the run's :class:`rig.Config`.

    Per plugin, once, after ``rig_report``, also after a failure or an interrupt. A reporter that
    raises fails alone: the others still write, and the run exits 3 (or the code of the
    :class:`rig.RigError` it raised; a file that cannot be written is a usage error, exit 4).
    """


@hookspec
def rig_terminal_summary(result: RunResult, config: Config, write: Callable[[str], None],
                         terminal: Terminal) -> None:
    """Add lines to the console summary printed at the end of a run.

    :param result: the :class:`rig.RunResult`.
    :param config: the run's :class:`rig.Config`.
    :param write: call ``write(line)`` for each line to print.
    :param terminal: the run's :class:`rig.Terminal` (``terminal.style(text, "red")``).

    Per plugin, in ``--plugin`` order, by the built-in terminal reporter, after its
    per-connection summary and before the final result line; not called with ``-p no:terminal``
    or ``-qq``. An exception costs that plugin's lines and exits 3.
    """


@hookspec
def rig_unconfigure(config: Config) -> None:
    """Release what ``rig_configure`` acquired.

    :param config: the run's :class:`rig.Config`.

    Per plugin, at the very end, after the reports are written, also after a failure or Ctrl-C.
    A plugin that raises fails alone (the others still release theirs) and the run exits 3.
    """


@hookspec
def rig_html_section(result: RunResult, config: Config) -> HtmlSection | None:
    """Contribute this plugin's section to the HTML report (``--report-html``).

    :param result: the :class:`rig.RunResult`, with every plugin's JSON section in
        ``result.sections`` (read your own there: ``result.sections.get("acme")``).
    :param config: the run's :class:`rig.Config`.
    :returns: a :class:`rig.HtmlSection` (a title, an HTML fragment, optional JSON data), or
        ``None`` for no section. Build the fragment with :mod:`rig.html` — ``line_chart``
        (time plots as inline SVG, shading the timeline's periods), ``table``, ``details``,
        ``tag`` and ``escape`` — so that whatever came from a server or a user is escaped.
        A plugin that gives no HTML section but a JSON one gets its JSON shown instead.

    Per plugin, in ``--plugin`` order, by the built-in ``report_html`` reporter, after
    ``rig_report``; also after a failure or an interrupt (then with what ran). An exception or
    a result of the wrong type costs that plugin's section only (the page says so in its place)
    and exits 3 naming the plugin and the hook.

    Example::

        @rig.hookimpl
        def rig_html_section(result, config):
            data = result.sections.get("acme")
            if not data:
                return None
            chart = rig.html.line_chart(
                {"rows/s": [(p["t_s"], p["rows_per_s"]) for p in data["samples"]]},
                title="Rows per second", periods=rig.html.periods(result.timeline))
            return rig.HtmlSection("acme", chart + rig.html.table(
                ["table", "rows"], [[t["name"], t["rows"]] for t in data["tables"]]))
    """


@hookspec
def rig_live_sample(source: str, name: str, data: Mapping[str, Any], config: Config) -> None:
    """Observe a measurement while the run goes (what live displays such as ``--dashboard``
    draw): a load interval record.

    :param source: the plugin that measured it (``load``).
    :param name: what it is (``interval``, ``job``); one series per ``(source, name)``.
    :param data: JSON types only; ``at_s`` (seconds since the run began, as timeline events
        count them — ``config.timeline.now_s()``) places it in time.
    :param config: the run's :class:`rig.Config`.

    Called by the plugin that measures, one call, from its own thread
    (``config.hook.rig_live_sample(source=..., name=..., data=..., config=config)``); keep
    implementations quick and let them not raise: what they raise propagates to the measuring
    code. The built-in ``dashboard`` plugin implements it; the load plugin calls it for every
    interval record.
    """
