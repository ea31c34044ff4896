"""The options needed before any plugin loads: help, version, the config file, plugin
selection and output. (The connection options belong to the built-in ``common`` plugin; the
report options to the reporters.)"""

from __future__ import annotations

from typing import Any

from rig import types
from rig.config.parser import OptionParser
from rig.terminal import COLOR_MODES

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_log_level = types.choice(LOG_LEVELS)
_log_format = types.choice(("text", "json"))


def add_bootstrap_options(parser: OptionParser) -> None:
    """Add the bootstrap options to ``parser``."""

    def add(group: str, *flags: str, setting: bool = True, **kwargs: Any) -> None:
        parser.getgroup(group).addoption(*flags, setting=setting, **kwargs)

    add("general", "-h", "--help", setting=False, action="store_true",
        help="show this help and exit")
    add("general", "--version", setting=False, action="store_true",
        help="print rig's version and each plugin's distribution and version")
    add("general", "-c", "--config", setting=False, env_var="RIG_CONFIG", metavar="FILE",
        help="TOML config file (default: ./rig.toml, else ~/.config/rig/rig.toml; "
        "env RIG_CONFIG)")
    add("general", "--print-config", setting=False, action="store_true",
        help="print every effective setting with its source, then exit")

    add("plugins", "--plugin", action="append", type=types.comma_list, metavar="NAME",
        help="run this plugin's workflow (entry-point or distribution name); repeat or "
        "comma-separate for several, in order (default: basic, when installed)")
    add("plugins", "-p", setting=False, dest="plugin_directives", action="append",
        metavar="no:NAME", default=[],
        help="-p no:NAME disables plugin NAME (built-in or installed): it is never imported")
    add("plugins", "--disable-plugin", action="append", type=types.comma_list,
        metavar="NAME", help="disable plugin NAME (same as -p no:NAME)")
    add("plugins", "--strict-plugins", action="store_true",
        help="a plugin that fails to load is an error (exit 3), not a warning")

    add("output", "-v", "--verbose", action="count", default=0,
        help="more output: -v debug lines and tracebacks, -vv trace every hook call")
    add("output", "-q", "--quiet", action="count", default=0,
        help="less output: -q warnings and errors only, -qq no summary either")
    add("output", "--log-level", type=_log_level, metavar="LEVEL",
        help=f"log level ({', '.join(LOG_LEVELS)}); overrides -v/-q")
    add("output", "--log-file", type=types.append_file, metavar="FILE",
        help="also write the log to FILE (appended to)")
    add("output", "--log-format", type=_log_format, default="text", metavar="text|json",
        help="format of log lines (default: %(default)s)")
    add("output", "--color", type=types.choice(COLOR_MODES), default="auto",
        metavar="auto|yes|no",
        help="colour the output: auto (a terminal, unless NO_COLOR is set), yes or no "
        "(default: %(default)s)")
