"""The log of one run: a console sink that writes through the run's terminal, an optional
``--log-file`` sink, and stdlib logging (stevedore, pluggy, PyMySQL) routed into loguru — all
added when the run starts and removed when it ends, so that a program calling ``rig.run()``
finds its own loguru sinks and logging handlers as it left them."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from loguru import logger

from rig.errors import ConfigError, os_reason
from rig.terminal import Terminal, printable

TEXT_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[conn]}</cyan> <blue>{extra[state]}</blue> {extra[printable]}\n{exception}"
)


def _text_format(record: Any) -> str:
    """The line format; records of code that bound no connection or state get ``-``, and the
    message is one line whatever it quotes (:func:`rig.terminal.printable`)."""
    record["extra"].setdefault("conn", "-")
    record["extra"].setdefault("state", "-")
    record["extra"]["printable"] = printable(record["message"])
    return TEXT_FORMAT


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


class RunLogging:
    """Adds the run's sinks on ``__enter__`` and removes exactly those on ``__exit__``.

    Variables are never shown in tracebacks (``diagnose=False``), so a password in a local
    variable cannot leak.
    """

    def __init__(self, *, level: str, terminal: Terminal, log_format: str = "text",
                 log_file: str | None = None) -> None:
        self.level = level
        self.terminal = terminal
        self.serialize = log_format == "json"
        self.log_file = log_file
        self._sinks: list[int] = []
        self._handler = InterceptHandler()

    def __enter__(self) -> RunLogging:
        self._sinks.append(logger.add(
            self.terminal.log_sink, level=self.level, format=_text_format,
            serialize=self.serialize, colorize=self.terminal.color and not self.serialize,
            backtrace=False, diagnose=False))
        if self.log_file:
            debug = logger.level("DEBUG").no
            file_level = self.level if logger.level(self.level).no < debug else "DEBUG"
            try:
                self._sinks.append(logger.add(
                    self.log_file, level=file_level, format=_text_format,
                    serialize=self.serialize, colorize=False, backtrace=False,
                    diagnose=False, encoding="utf-8"))
            except OSError as exc:
                self.__exit__(None, None, None)
                raise ConfigError(f"cannot open --log-file {self.log_file}: {os_reason(exc)}",
                                  hint="check the path") from None
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        logging.getLogger().removeHandler(self._handler)
        for sink in self._sinks:
            logger.remove(sink)
        self._sinks = []
