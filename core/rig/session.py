"""One run of ``rig``, step by step, as DESIGN.md draws it:

bootstrap options → discover and register plugins → collect options → parse (CLI > env >
file > default) → select plugins → configure → assemble the workflow → run every connection
→ report → exit code.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

from rig.config import Config, ConfigFile, OptionParser, find_config_file
from rig.connection import HostPort
from rig.errors import ExitCode, PluginError, RigError
from rig.log import configure_logging, level_for, trace_hooks
from rig.options import PROMPT, add_bootstrap_options, add_run_options
from rig.plugins import DEFAULT_PLUGIN, PluginHost
from rig.results import PluginRecord, RunErrorInfo, RunResult
from rig.secret import Secret

HELP_USAGE = """rig [--plugin NAME[,NAME]] [--host HOST[:PORT]] [--user USER] [options]
       rig --sandbox [options]
       rig plugins [--json] | rig plugins new|install|uninstall ..."""
HELP_DESCRIPTION = """Test TiDB, MySQL and MariaDB through workflows of states built from plugins.
Every run connects, identifies the server, then runs each selected plugin's states
(default plugin: basic) and reports."""
HELP_EPILOG = """configuration:
  Every option also comes from the environment as RIG_<OPTION> (--ping-count: RIG_PING_COUNT)
  and from a TOML file (--config, ./rig.toml, ~/.config/rig/rig.toml). Precedence: command line
  > environment > config file > default; rig --print-config shows each value and its source.

exit codes:
  0 all checks passed   1 a check failed   2 interrupted   3 internal or plugin error
  4 usage or configuration error   5 cannot reach or log in to the database"""


def bootstrap(args: list[str], environ: Mapping[str, str], cwd: Path) -> tuple[Any, Path | None]:
    """Phase one: the options needed before any plugin loads (config file, logging, plugin
    selection), with the config file's values."""
    probe = OptionParser(config_file=None)
    add_bootstrap_options(probe)
    early, _sources, _extra = probe.parse(args, environ, partial=True)
    config_file = find_config_file(early.config, cwd, environ)
    if config_file is not None:
        ConfigFile.load(config_file)  # a malformed file is reported here, naming the file
    parser = OptionParser(config_file=config_file)
    add_bootstrap_options(parser)
    options, _sources, _extra = parser.parse(args, environ, partial=True)
    return options, config_file


def disabled_plugins(options: Any) -> list[str]:
    """Plugins disabled with ``-p no:NAME`` or ``--disable-plugin NAME``."""
    names = [name for group in (options.disable_plugin or []) for name in group]
    for directive in options.plugin_directives or []:
        if not directive.startswith("no:") or not directive[3:]:
            from rig.errors import UsageError

            raise UsageError(f"-p {directive}: -p takes no:NAME to disable a plugin",
                             hint="to run a plugin use --plugin NAME")
        names.append(directive[3:])
    return names


def load_plugins(options: Any, extra_plugins: Iterable[tuple[str, Any]]) -> PluginHost:
    """Discover, import and register every installed plugin that is not disabled, then the
    in-process ``extra_plugins``."""
    host = PluginHost(disabled=disabled_plugins(options), strict=options.strict_plugins)
    host.discover()
    host.load()
    for name, plugin in extra_plugins:
        if host.pm.has_plugin(name):  # the in-process object replaces the installed one
            host.pm.unregister(name=name)
        host.register(name, plugin)
    host.check_hooks()
    return host


def build_parser(host: PluginHost, config_file: Path | None) -> OptionParser:
    """Phase two: the full parser, with every loaded plugin's options in its own group."""
    parser = OptionParser(config_file=config_file, description=HELP_DESCRIPTION,
                          usage=HELP_USAGE, epilog=HELP_EPILOG)
    add_bootstrap_options(parser)
    add_run_options(parser)
    for impl in host.hookimpls("rig_addoption"):
        parser.current_owner = impl.plugin_name
        try:
            impl.function(*[{"parser": parser}[arg] for arg in impl.argnames])
        except Exception as exc:
            cause = str(exc) if isinstance(exc, PluginError) else \
                f"rig_addoption raised {type(exc).__name__}: {exc}"
            host.reject(impl.plugin_name, cause, exc)
    parser.current_owner = "rig"
    for info in host.loaded():
        info.options = [f"--{o.name}" for o in parser.options.values() if o.owner == info.name]
    return parser


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

    def _print(self, line: str) -> None:
        print(line, file=self.stdout)

    def run(self) -> int:
        """Parse, load, configure, run and report; returns the exit code."""
        early, config_file = bootstrap(self.args, self.environ, self.cwd)
        configure_logging(level=level_for(early.verbose, early.quiet, early.log_level),
                          log_format=early.log_format, log_file=early.log_file,
                          stream=self.stderr)
        if early.version:
            from rig.cli import version_lines

            for line in version_lines():
                self._print(line)
            return int(ExitCode.OK)

        host = load_plugins(early, self.extra_plugins)
        if early.verbose >= 2:
            trace_hooks(host.pm)
        parser = build_parser(host, config_file)
        if any(arg in ("-h", "--help") for arg in self.args):
            self._print(parser.format_help())
            return int(ExitCode.OK)

        options, sources, _extra = parser.parse(self.args, self.environ)
        requested = [name for group in (options.plugin or []) for name in group]
        config = Config(options, sources, parser, environ=self.environ)
        for warning in config.unknown_config_keys({i.name for i in host.infos.values()}):
            logger.warning(warning)
        if options.print_config:
            for line in config.effective_lines():
                self._print(line)
            return int(ExitCode.OK)

        selected = host.resolve(requested or [DEFAULT_PLUGIN])
        config.selected_plugins = selected
        if options.password is PROMPT:
            from rig.cli import prompt_password

            options.password = Secret(prompt_password())
        host.keep_only(selected)
        try:
            for name in selected:
                host.call_one(name, "rig_configure", config=config)
            return self._run_workflow(host, config)
        finally:
            for name in selected:
                try:
                    host.call_one(name, "rig_unconfigure", config=config)
                except Exception as exc:
                    logger.error("plugin {} failed in rig_unconfigure: {}", name, exc)

    def _run_workflow(self, host: PluginHost, config: Config) -> int:
        from rig import __version__
        from rig.common import register_common_states
        from rig.coordinator import Coordinator, connection_targets
        from rig.resilience import BreakerBoard, RetryPolicy
        from rig.sandbox import Sandbox
        from rig.states import StateRegistry

        result = RunResult(rig_version=__version__, started_at=time.time())
        result.plugins = [PluginRecord(n, host.infos[n].distribution, host.infos[n].version)
                          for n in config.selected_plugins]
        option = config.option
        sandbox: Sandbox | None = None
        began = time.perf_counter()
        try:
            registry = StateRegistry()
            register_common_states(registry)
            for name in config.selected_plugins:
                registry.current_plugin = name
                host.call_one(name, "rig_register_states", registry=registry, config=config)
                host.infos[name].states = registry.states_of(name)
            if option.sandbox:
                sandbox = Sandbox(server_binary=option.sandbox_binary)
                sandbox.start()
                option.host = [[HostPort(sandbox.host, sandbox.port)]]
                option.user, option.password = sandbox.user, None
            coordinator = Coordinator(
                workflow=registry.workflow(), hooks=host.hook, config=config,
                targets=connection_targets(config), result=result,
                retry_policy=RetryPolicy(attempts=option.retry_attempts,
                                         max_time=option.retry_max_time),
                breakers=BreakerBoard(option.breaker_threshold, option.breaker_cooldown),
                max_transitions=option.max_transitions,
            )
            coordinator.run()
        except KeyboardInterrupt:
            result.interrupted = True
        except RigError as exc:
            result.errors.append(RunErrorInfo(str(exc), None, ExitCode(exc.exit_code),
                                              type(exc).__name__))
        finally:
            if sandbox is not None:
                sandbox.stop()
            result.duration_s = time.perf_counter() - began
            self._report(host, config, result)
        return int(result.exit_code)

    def _report(self, host: PluginHost, config: Config, result: RunResult) -> None:
        from rig.reports import console_summary, write_json, write_junit

        for name in config.selected_plugins:
            try:
                section = host.call_one(name, "rig_report", result=result, config=config)
            except Exception as exc:
                result.errors.append(RunErrorInfo(
                    f"plugin {name!r} failed in rig_report: {type(exc).__name__}: {exc}",
                    None, ExitCode.INTERNAL, "PluginError"))
                continue
            if section is not None:
                result.sections[name] = dict(section)

        def plugin_lines(write: Any) -> None:
            for name in config.selected_plugins:
                try:
                    host.call_one(name, "rig_terminal_summary", result=result, config=config,
                                  write=write)
                except Exception as exc:
                    logger.error("plugin {} failed in rig_terminal_summary: {}", name, exc)

        got_somewhere = result.checks or any(c.error is None for c in result.connections)
        if got_somewhere and config.option.quiet < 2:
            console_summary(result, self._print, plugin_lines)
        option = config.option
        for path, writer in ((option.report_json, write_json), (option.junit_xml, write_junit)):
            if path:
                try:
                    writer(result, path)
                except OSError as exc:
                    logger.error("cannot write report {}: {}", path, exc.strerror)
        messages = [e.message for e in result.errors]
        messages += [c.error.message for c in result.connections
                     if c.error is not None and c.error.kind != "interrupted"]
        for message in dict.fromkeys(messages):
            print(f"rig: error: {message}", file=self.stderr)
        if result.interrupted:
            print("rig: interrupted; the reports hold what ran", file=self.stderr)

