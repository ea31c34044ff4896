"""The hooks a rig plugin may implement.

A plugin is a module (or any object) registered under the ``rig.plugins`` entry-point group. It
implements hooks by defining functions with the names below, decorated with :data:`rig.hookimpl`.
A hook implementation may accept any subset of the arguments listed in the spec, by name.

Order of a run: ``rig_addhooks`` → ``rig_addoption`` → ``rig_configure`` →
``rig_register_states`` → (``rig_state_enter`` / ``rig_state_exit`` for every transition of
every connection) → ``rig_report`` → ``rig_terminal_summary`` → ``rig_unconfigure``.

``rig_addoption`` is called for every loaded plugin, so ``rig --help`` shows every plugin's
options; all later hooks reach only the plugins selected with ``--plugin`` (plus the core).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rig.config import Config, OptionParser
    from rig.context import Context
    from rig.results import RunResult, StateOutcome
    from rig.states import StateRegistry

PROJECT_NAME = "rig"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marker for hook specifications; plugins that define their own hooks use it too."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for hook implementations: decorate each hook function of a plugin with it."""


@hookspec
def rig_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add new hook specifications, so that other plugins can extend this one.

    :param pluginmanager: the run's pluggy PluginManager; call
        ``pluginmanager.add_hookspecs(module_or_class)``.

    Called once per loaded plugin, right after it is registered and before ``rig_addoption``.

    Example::

        @rig.hookimpl
        def rig_addhooks(pluginmanager):
            from rig_load import hookspecs
            pluginmanager.add_hookspecs(hookspecs)
    """


@hookspec
def rig_addoption(parser: OptionParser) -> None:
    """Add command-line options (a config extension).

    :param parser: the :class:`rig.OptionParser`. Call ``parser.getgroup("NAME")`` to get your
        plugin's own group of ``rig --help`` and ``group.addoption(...)`` with the arguments of
        :meth:`argparse.ArgumentParser.add_argument`.

    Called once for every loaded plugin (selected or not), before the command line is parsed.
    Every option gets an environment variable ``RIG_<OPTION>`` and a config-file key, with the
    precedence command line > environment > config file > default. Use a ``type=`` that raises
    ``ValueError`` on bad input (see :mod:`rig.types`) so that a bad value from any source exits
    4 naming the option, the value and its source.

    Example::

        @rig.hookimpl
        def rig_addoption(parser):
            group = parser.getgroup("basic", "round-trip checks")
            group.addoption("--ping-count", type=rig.types.positive_int, default=10,
                            help="number of pings to time (default: %(default)s)")
    """


@hookspec
def rig_configure(config: Config) -> None:
    """Validate option values and derive settings, after the command line is parsed.

    :param config: the run's :class:`rig.Config`; read options with ``config.getoption(name)``.

    Called once per selected plugin, before any connection is opened. Raise
    ``config.invalid(dest, reason)`` (a :class:`rig.ConfigError`) for a value that is wrong in
    combination with others; rig exits 4 with the option's name, value and source.

    Example::

        @rig.hookimpl
        def rig_configure(config):
            if config.getoption("levels") == []:
                raise config.invalid("levels", "name at least one isolation level")
    """


@hookspec
def rig_register_states(registry: StateRegistry, config: Config) -> None:
    """Add this plugin's states, with their handlers, to the workflow.

    :param registry: the :class:`rig.StateRegistry`; call
        ``registry.add_state(name, handler, description=...)``. States run in the order they
        are added, after the core's common states and after the states of plugins selected
        earlier on the command line; a handler may also return the name of any state to jump.
    :param config: the run's :class:`rig.Config`.

    Called once per selected plugin, in the order of ``--plugin``. Two plugins adding the same
    state name is an error naming both.

    Example::

        @rig.hookimpl
        def rig_register_states(registry):
            registry.add_state("measuring_latency", MeasureLatency(),
                               description="time --ping-count round trips")
    """


@hookspec
def rig_state_enter(ctx: Context, state: str) -> None:
    """Observe a connection entering a state (logging, metrics, live displays).

    :param ctx: the connection's :class:`rig.Context`.
    :param state: the state's name.

    Called on every transition of every connection, from that connection's thread, before the
    handler's ``enter``. Keep it quick; an exception here ends that connection in ``error``.
    """


@hookspec
def rig_state_exit(ctx: Context, state: str, outcome: StateOutcome) -> None:
    """Observe a connection leaving a state.

    :param ctx: the connection's :class:`rig.Context`.
    :param state: the state's name.
    :param outcome: a :class:`rig.StateOutcome`: ``ok``, ``error`` or ``interrupted``, the
        duration in seconds, and the next state.

    Called after the handler's ``exit``, from the connection's thread.
    """


@hookspec
def rig_report(result: RunResult, config: Config) -> Mapping[str, Any] | None:
    """Contribute this plugin's section to the reports.

    :param result: the :class:`rig.RunResult`: per connection the states, server, errors and
        the data handlers stored in ``ctx.data``; the checks with their verdicts.
    :param config: the run's :class:`rig.Config`.
    :returns: a JSON-serialisable mapping, stored under ``sections[<plugin name>]`` of
        ``--report-json``; or ``None`` for no section.

    Called once per selected plugin after every connection has finished, also when the run
    failed or was interrupted (then with what ran).
    """


@hookspec
def rig_terminal_summary(result: RunResult, config: Config, write: Callable[[str], None]) -> None:
    """Add lines to the console summary printed at the end of a run.

    :param result: the :class:`rig.RunResult`.
    :param config: the run's :class:`rig.Config`.
    :param write: call ``write(line)`` for each line to print.

    Called after the core's per-connection summary and before the final result line.
    """


@hookspec
def rig_unconfigure(config: Config) -> None:
    """Release what ``rig_configure`` acquired. Called once per selected plugin at the very end,
    after the reports are written, also after a failure or Ctrl-C.

    :param config: the run's :class:`rig.Config`.
    """
