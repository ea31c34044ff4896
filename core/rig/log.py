"""Logging: loguru sinks for the console and ``--log-file``, stdlib logging routed into it."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from loguru import logger

TEXT_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[conn]}</cyan> <blue>{extra[state]}</blue> {message}"
)


class InterceptHandler(logging.Handler):
    """Sends stdlib logging records (stevedore, pluggy, PyMySQL) to loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def level_for(verbose: int, quiet: int, explicit: str | None) -> str:
    """The console level: ``--log-level`` wins; else INFO, DEBUG for -v, TRACE for -vv,
    WARNING for -q, ERROR for -qq."""
    if explicit:
        return explicit
    score = verbose - quiet
    if score >= 2:
        return "TRACE"
    if score == 1:
        return "DEBUG"
    if score == 0:
        return "INFO"
    return "WARNING" if score == -1 else "ERROR"


def configure_logging(*, level: str, log_format: str = "text", log_file: str | None = None,
                      stream: TextIO | None = None) -> None:
    """Replace loguru's sinks: the console (stderr) at ``level`` and, with ``log_file``, a file
    at DEBUG or lower. Variables are never shown in tracebacks (``diagnose=False``), so a
    password in a local variable cannot leak."""
    logger.remove()
    logger.configure(extra={"conn": "-", "state": "-"})
    serialize = log_format == "json"
    sink: Any = stream if stream is not None else sys.stderr
    logger.add(sink, level=level, format=TEXT_FORMAT, serialize=serialize,
               colorize=None if not serialize else False, backtrace=False, diagnose=False)
    if log_file:
        file_level = level if logger.level(level).no < logger.level("DEBUG").no else "DEBUG"
        logger.add(log_file, level=file_level, format=TEXT_FORMAT, serialize=serialize,
                   colorize=False, backtrace=False, diagnose=False, encoding="utf-8")
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)


def trace_hooks(pluginmanager: Any) -> None:
    """Log every hook call at TRACE (``-vv``)."""

    def before(hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        logger.trace("hook {} → {}", hook_name, [impl.plugin_name for impl in hook_impls])

    def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        logger.trace("hook {} done", hook_name)

    pluginmanager.add_hookcall_monitoring(before, after)
