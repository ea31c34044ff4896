"""The core's own options: connection, TLS, plugins, run control, output."""

from __future__ import annotations

from rig import types
from rig.config import OptionParser
from rig.connection import SslMode, existing_file, parse_hosts
from rig.machine import DEFAULT_MAX_TRANSITIONS
from rig.secret import Secret

PROMPT = Secret("\x00prompt")
"""``--password`` given without a value: ask on the terminal."""

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


def _secret(text: str) -> Secret:
    return Secret(text)


def _ssl_mode(text: str) -> SslMode:
    try:
        return SslMode(text.strip().lower())
    except ValueError:
        raise ValueError(f"choose from {', '.join(m.value for m in SslMode)}") from None


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"choose from {', '.join(LOG_LEVELS)}")
    return level


def _log_format(text: str) -> str:
    if text not in ("text", "json"):
        raise ValueError("choose text or json")
    return text


def add_bootstrap_options(parser: OptionParser) -> None:
    """Options needed before plugins load: config file, logging, plugin selection, help."""
    general = parser.getgroup("general")
    general.addoption("-h", "--help", action="store_true", help="show this help and exit")
    general.addoption("--version", action="store_true",
                      help="print rig's version and each plugin's distribution and version")
    general.addoption("-c", "--config", metavar="FILE",
                      help="TOML config file (default: ./rig.toml, else ~/.config/rig/rig.toml)")
    general.addoption("--print-config", action="store_true",
                      help="print every effective option with its source, then exit")

    plugins = parser.getgroup("plugins")
    plugins.addoption("--plugin", action="append", type=types.comma_list, metavar="NAME",
                      help="run this plugin's workflow (entry-point or distribution name); "
                      "repeat or comma-separate for several, in order (default: basic)")
    plugins.addoption("-p", dest="plugin_directives", action="append", metavar="no:NAME",
                      default=[], help="-p no:NAME disables plugin NAME: it is never imported")
    plugins.addoption("--disable-plugin", action="append", type=types.comma_list,
                      metavar="NAME", help="disable plugin NAME (same as -p no:NAME)")
    plugins.addoption("--strict-plugins", action="store_true",
                      help="a plugin that fails to load is an error (exit 3), not a warning")

    output = parser.getgroup("output")
    output.addoption("-v", "--verbose", action="count", default=0,
                     help="more output: -v debug lines and tracebacks, -vv trace hook calls")
    output.addoption("-q", "--quiet", action="count", default=0,
                     help="less output: warnings and errors only")
    output.addoption("--log-level", type=_log_level, metavar="LEVEL",
                     help=f"log level ({', '.join(LOG_LEVELS)}); overrides -v/-q")
    output.addoption("--log-file", metavar="FILE", help="also write the log to FILE")
    output.addoption("--log-format", type=_log_format, default="text", metavar="text|json",
                     help="format of log lines (default: %(default)s)")


def add_run_options(parser: OptionParser) -> None:
    """Options of a run: where to connect, how to retry, where to report."""
    conn = parser.getgroup("connection")
    conn.addoption("--host", action="append", type=parse_hosts, metavar="HOST[:PORT]",
                   help="server to test (default: 127.0.0.1:4000); repeat or comma-separate "
                   "for several")
    conn.addoption("-P", "--port", type=types.positive_int,
                   help="port for hosts given without one (default: 4000)")
    conn.addoption("-u", "--user", default="root", help="user name (default: %(default)s)")
    conn.addoption("--password", nargs="?", const=PROMPT, type=_secret, secret=True,
                   metavar="PASSWORD",
                   help="password; without a value, prompt for it (hidden). Prefer "
                   "RIG_PASSWORD or the config file: a command line is visible to others")
    conn.addoption("-D", "--database", help="database to use (must exist)")
    conn.addoption("--connect-timeout", type=types.positive_float, default=10.0,
                   metavar="SECONDS", help="connect timeout (default: %(default)s)")
    conn.addoption("--connections", type=types.positive_int, default=1, metavar="N",
                   help="connections to open to each host, each running the workflow "
                   "(default: %(default)s)")
    conn.addoption("--sandbox", action="store_true",
                   help="start a throwaway local server (tidb-server, mariadbd or mysqld), run "
                   "against it, and remove it afterwards")
    conn.addoption("--sandbox-binary", metavar="PATH",
                   help="server binary for --sandbox (default: the first of tidb-server, "
                   "mariadbd, mysqld on PATH or in /usr/sbin)")

    tls = parser.getgroup("TLS")
    tls.addoption("--ssl-mode", type=_ssl_mode, default=SslMode.PREFERRED,
                  metavar="MODE", help="disabled, preferred, required, verify-ca or "
                  "verify-identity (default: preferred; TiDB Cloud: verify-identity)")
    tls.addoption("--ssl-ca", type=existing_file, metavar="FILE",
                  help="CA certificate file for verify-ca/verify-identity (default: the "
                  "system CA bundle)")

    run = parser.getgroup("run")
    run.addoption("--retry-attempts", type=types.positive_int, default=3, metavar="N",
                  help="attempts for an operation that fails transiently, the first "
                  "included (default: %(default)s)")
    run.addoption("--retry-max-time", type=types.positive_float, default=30.0,
                  metavar="SECONDS", help="give up retrying after this long "
                  "(default: %(default)s)")
    run.addoption("--breaker-threshold", type=types.positive_int, default=5, metavar="N",
                  help="consecutive failures that open a server's circuit breaker "
                  "(default: %(default)s)")
    run.addoption("--breaker-cooldown", type=types.positive_float, default=10.0,
                  metavar="SECONDS", help="how long an open breaker waits before one trial "
                  "call (default: %(default)s)")
    run.addoption("--max-transitions", type=types.positive_int,
                  default=DEFAULT_MAX_TRANSITIONS, metavar="N",
                  help="end a workflow in error after this many transitions "
                  "(default: %(default)s)")

    reports = parser.getgroup("reports")
    reports.addoption("--report-json", metavar="FILE", help="write the JSON report to FILE")
    reports.addoption("--junit-xml", metavar="FILE",
                      help="write a JUnit XML report (one testcase per check) to FILE")
