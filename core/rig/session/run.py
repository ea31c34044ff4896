"""One run of ``rig``, step by step, as DESIGN.md draws it:

bootstrap → plugins → options (CLI > env > file > default) → select → configure → assemble
the workflow → run every connection → drop scratch data → report → unconfigure → exit code.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

from rig import interrupts
from rig.config.config import Config
from rig.config.parser import OptionParser
from rig.db.connection import Connection, Connector
from rig.db.resilience import BreakerBoard, RetryPolicy
from rig.db.scratch import Scratch
from rig.engine.context import Context
from rig.engine.coordinator import Coordinator, connection_targets
from rig.engine.results import PluginRecord, RunErrorInfo, RunResult, StateOutcome
from rig.engine.states import StateRegistry
from rig.errors import ExitCode, PluginError, RigError, most_severe
from rig.hookcall import call, call_each
from rig.host.manager import PluginHost
from rig.jsontypes import json_problem
from rig.session.bootstrap import (
    bootstrap,
    build_parser,
    collect_commands,
    commands_help,
    load_plugins,
)
from rig.session.logs import RunLogging, level_for
from rig.terminal import Terminal
from rig.timeline import TimelineEvent
from rig.version import __version__

DEFAULT_PLUGIN = "basic"
"""Run when no ``--plugin`` is given and it is installed."""


def run_terminal(options: Any, stdout: TextIO, stderr: TextIO,
                 environ: Mapping[str, str]) -> Terminal:
    """The run's terminal: the live block only at the default output settings."""
    live = options.quiet == 0 and options.log_format == "text" and not options.log_level
    return Terminal(stdout, stderr, color=options.color, live=live, environ=environ)


def run_logging(options: Any, terminal: Terminal) -> RunLogging:
    """The run's log sinks, from ``-v``/``-q``/``--log-*``."""
    return RunLogging(level=level_for(options.verbose, options.quiet, options.log_level),
                      terminal=terminal, log_format=options.log_format,
                      log_file=options.log_file)


def _kill(connection: Connection, thread_id: int) -> None:
    """``KILL`` one of the run's own sessions; one that has ended already is no error."""
    try:
        connection.execute(f"KILL {int(thread_id)}")
    except RigError as exc:
        logger.debug("KILL {}: {}", thread_id, exc)


class HookObservers:
    """The state machine's observers: the ``rig_state_enter`` and ``rig_state_exit`` hooks,
    each failure naming the plugin and the hook."""

    def __init__(self, host: PluginHost) -> None:
        self.pm = host.pm

    def state_enter(self, ctx: Context, state: str) -> None:
        call(self.pm, "rig_state_enter", ctx=ctx, state=state)

    def state_exit(self, ctx: Context, state: str, outcome: StateOutcome) -> None:
        call(self.pm, "rig_state_exit", ctx=ctx, state=state, outcome=outcome)


class Session:
    """A run of ``rig`` with given arguments and environment."""

    def __init__(self, args: list[str], *, environ: Mapping[str, str],
                 extra_plugins: Iterable[tuple[str, Any]], cwd: Path,
                 stdout: TextIO, stderr: TextIO) -> None:
        self.args = args
        self.environ = environ
        self.extra_plugins = list(extra_plugins)
        self.cwd = cwd
        self.stdout = stdout
        self.stderr = stderr

    def run(self) -> int:
        """Parse, load, configure, run and report; returns the exit code."""
        boot = bootstrap(self.args, self.environ, self.cwd)
        terminal = run_terminal(boot.options, self.stdout, self.stderr, self.environ)
        with run_logging(boot.options, terminal):
            host = load_plugins(boot.options, self.extra_plugins)
            parser = build_parser(host, boot.config_file)
            if boot.options.help:
                help_text = parser.format_help() + "\n" + commands_help(collect_commands(host))
                for line in help_text.splitlines():
                    terminal.line(line)
                return int(ExitCode.OK)
            # a boot.error recurs here (the full parser has the bootstrap options too), and
            # is reported knowing every secret option
            return self._run(host, parser, terminal)

    def _run(self, host: PluginHost, parser: OptionParser, terminal: Terminal) -> int:
        config = Config(parser.parse(self.args, self.environ), parser, pluginmanager=host.pm,
                        terminal=terminal, environ=self.environ)
        config.timeline.on_event = lambda event: self._timeline_event(host, config, event)
        for warning in parser.unknown_config_keys(set(host.infos)):
            logger.warning(warning)
        if config.getoption("print_config"):
            for line in config.effective_lines():
                terminal.line(line)
            return int(ExitCode.OK)
        requested = [name for group in (config.getoption("plugin") or []) for name in group]
        default = host.infos.get(DEFAULT_PLUGIN)
        if not requested and default is not None and default.status == "loaded":
            requested = [DEFAULT_PLUGIN]
        config.selected_plugins = host.resolve(requested)
        host.keep_only(config.selected_plugins)
        # from here on the report paths are known: an interrupt writes the reports
        result = RunResult(rig_version=__version__, started_at=time.time())
        result.plugins = [PluginRecord(n, host.infos[n].distribution, host.infos[n].version)
                          for n in config.selected_plugins]
        began = time.perf_counter()
        try:
            try:
                call(host.pm, "rig_configure", config=config)
                interrupts.check()
            except KeyboardInterrupt:  # the password prompt, the sandbox starting, a plugin
                result.interrupted = True
                self._finish(host, config, result, began, sections=False)
                code = result.exit_code
            else:
                code = self._run_workflow(host, config, result, began)
        finally:
            failures = [c.error for c in call_each(host.pm, "rig_unconfigure", config=config)
                        if c.error is not None]
            for error in failures:
                terminal.line(f"rig: error: {error}", err=True)
        return int(most_severe([code, *(ExitCode(e.exit_code) for e in failures)]))

    @staticmethod
    def _timeline_event(host: PluginHost, config: Config, event: TimelineEvent) -> None:
        call(host.pm, "rig_timeline_event", event=event, config=config)

    def _register_states(self, host: PluginHost, config: Config) -> StateRegistry:
        registry = StateRegistry()

        def before(plugin: str) -> None:
            registry.current_plugin = plugin

        for result in call_each(host.pm, "rig_register_states", order=config.selected_plugins,
                                before=before, registry=registry, config=config):
            if result.error is not None:
                raise result.error
        return registry

    def _run_workflow(self, host: PluginHost, config: Config, result: RunResult,
                      began: float) -> ExitCode:
        option = config.option
        connector = Connector(
            retry_policy=RetryPolicy(attempts=option.retry_attempts,
                                     max_time=option.retry_max_time),
            breakers=BreakerBoard(option.breaker_threshold, option.breaker_cooldown))
        scratch = Scratch(keep=option.keep_tables)
        aborted: dict[str, list[int]] = {}
        try:
            registry = self._register_states(host, config)
            coordinator = Coordinator(
                workflow=registry.workflow(), observers=HookObservers(host), config=config,
                targets=connection_targets(config), result=result, connector=connector,
                scratch=scratch, max_transitions=option.max_transitions,
            )
            aborted = coordinator.aborted
            try:
                coordinator.run()
            finally:
                self._drop_scratch(scratch, connector, result, aborted)
        except KeyboardInterrupt:
            result.interrupted = True
        except RigError as exc:
            result.errors.append(RunErrorInfo.from_error(exc))
        finally:
            self._finish(host, config, result, began)
        return result.exit_code

    def _finish(self, host: PluginHost, config: Config, result: RunResult, began: float, *,
                sections: bool = True) -> None:
        """Complete ``result`` and report it; ``sections=False`` when no workflow ran (the
        plugins' ``rig_configure`` did not finish, so none has a section to give)."""
        result.duration_s = time.perf_counter() - began
        result.timeline = config.timeline.events
        self._report(host, config, result, sections=sections)

    @staticmethod
    def _drop_scratch(scratch: Scratch, connector: Connector, result: RunResult,
                      aborted: dict[str, list[int]]) -> None:
        """Drop what the run created (unless ``--keep-tables``), one new connection per server.
        After Ctrl-C the server may still run the statements of the sessions it shut down
        (``aborted``: their thread ids by server), holding the very tables to drop: those are
        killed first, so the drop does not wait for them."""
        if scratch.keep:
            kept = scratch.remaining()
            if kept:
                logger.info("kept (--keep-tables): {}", ", ".join(kept))
        else:
            for settings in scratch.servers():
                try:
                    connection = connector.open(settings, "cleanup")
                    try:
                        for thread_id in aborted.get(settings.address, []):
                            _kill(connection, thread_id)
                        for item in scratch.drop(connection):
                            logger.debug("dropped {}", item)
                    finally:
                        connection.close()
                except RigError as exc:
                    logger.warning("could not drop what the run created at {}: {}",
                                   settings.address, exc)
            left = scratch.remaining()
            if left:
                logger.warning("left behind: {}; drop them by hand", ", ".join(left))
        result.scratch = scratch.summary()

    def _report(self, host: PluginHost, config: Config, result: RunResult, *,
                sections: bool) -> None:
        config.terminal.end_live()  # a live block a plugin left open, after a failure
        for section in call_each(host.pm, "rig_report", order=config.selected_plugins,
                                 only=None if sections else (), result=result, config=config):
            if section.error is not None:
                result.errors.append(RunErrorInfo.from_error(section.error))
                continue
            if section.result is None:
                continue
            problem = json_problem(section.result, f"sections.{section.plugin}")
            if problem:
                result.errors.append(RunErrorInfo.from_error(PluginError(
                    f"plugin {section.plugin!r} returned a report section that is not JSON: "
                    f"{problem}", hint="convert it (int(), float(), str(), list())")))
                continue
            result.sections[section.plugin] = dict(section.result)
        for reporter in call_each(host.pm, "rig_write_report", result=result, config=config):
            if reporter.error is not None:
                result.errors.append(RunErrorInfo.from_error(reporter.error))
        messages = [e.message for e in result.errors]
        lost: set[str] = set()
        for conn in result.connections:
            if conn.error is None or conn.error.kind == "interrupted":
                continue
            if conn.error.exit_code is ExitCode.UNREACHABLE:
                server = f"{conn.host}:{conn.port}"
                if server in lost:  # one server lost is one line, however many connections
                    continue
                lost.add(server)
            messages.append(conn.error.message)
        for message in dict.fromkeys(messages):
            config.terminal.line(f"rig: error: {message}", err=True)
        if result.interrupted:
            config.terminal.line("rig: interrupted; the reports hold what ran", err=True)
