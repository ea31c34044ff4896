"""rig tests TiDB and other MySQL-compatible databases through workflows of states, built from
plugins.

This module is rig's public API: plugins import only what is listed in ``__all__`` (and the
test kit, :mod:`rig.testing`). Names are loaded on first use, so ``rig --version`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rig.version import __version__

_EXPORTS = {
    "hookimpl": "rig.hookspecs",
    "hookspec": "rig.hookspecs",
    "Config": "rig.config.config",
    "OptionParser": "rig.config.parser",
    "OptionGroup": "rig.config.parser",
    "types": "rig",
    "Context": "rig.engine.context",
    "DataStore": "rig.data",
    "Key": "rig.data",
    "Handler": "rig.engine.states",
    "StateRegistry": "rig.engine.states",
    "states": "rig.engine",
    "Connection": "rig.db.connection",
    "Connector": "rig.db.connection",
    "ConnectionSettings": "rig.db.settings",
    "SslMode": "rig.db.settings",
    "quote_identifier": "rig.db.connection",
    "Scratch": "rig.db.scratch",
    "Flavor": "rig.db.flavor",
    "Features": "rig.db.flavor",
    "ServerInfo": "rig.db.flavor",
    "ISOLATION_LEVELS": "rig.db.flavor",
    "ErrorClass": "rig.db.resilience",
    "DatabaseError": "rig.db.resilience",
    "RetryPolicy": "rig.db.resilience",
    "CircuitBreaker": "rig.db.resilience",
    "classify": "rig.db.resilience",
    "call_with_retry": "rig.db.resilience",
    "Sandbox": "rig.db.sandbox",
    "SANDBOX": "rig.db.sandbox",
    "Metrics": "rig.engine.metrics",
    "summarize": "rig.engine.metrics",
    "percentile": "rig.engine.metrics",
    "Shared": "rig.engine.shared",
    "Verdict": "rig.engine.results",
    "Check": "rig.engine.results",
    "RunResult": "rig.engine.results",
    "ConnectionResult": "rig.engine.results",
    "StateOutcome": "rig.engine.results",
    "Terminal": "rig.terminal",
    "Timeline": "rig.timeline",
    "TimelineEvent": "rig.timeline",
    "TimelinePeriod": "rig.timeline",
    "EventKind": "rig.timeline",
    "CommandRegistry": "rig.subcommands",
    "Invocation": "rig.subcommands",
    "ArgumentParser": "rig.subcommands",
    "ExitCode": "rig.errors",
    "RigError": "rig.errors",
    "UsageError": "rig.errors",
    "ConfigError": "rig.errors",
    "PluginError": "rig.errors",
    "ConnectError": "rig.errors",
    "Secret": "rig.secret",
    "run": "rig.cli",
    "html": "rig",
    "HtmlSection": "rig.html",
}

__all__ = [
    "ISOLATION_LEVELS",
    "SANDBOX",
    "ArgumentParser",
    "Check",
    "CircuitBreaker",
    "CommandRegistry",
    "Config",
    "ConfigError",
    "ConnectError",
    "Connection",
    "ConnectionResult",
    "ConnectionSettings",
    "Connector",
    "Context",
    "DataStore",
    "DatabaseError",
    "ErrorClass",
    "EventKind",
    "ExitCode",
    "Features",
    "Flavor",
    "Handler",
    "HtmlSection",
    "Invocation",
    "Key",
    "Metrics",
    "OptionGroup",
    "OptionParser",
    "PluginError",
    "RetryPolicy",
    "RigError",
    "RunResult",
    "Sandbox",
    "Scratch",
    "Secret",
    "ServerInfo",
    "Shared",
    "SslMode",
    "StateOutcome",
    "StateRegistry",
    "Terminal",
    "Timeline",
    "TimelineEvent",
    "TimelinePeriod",
    "UsageError",
    "Verdict",
    "__version__",
    "call_with_retry",
    "classify",
    "hookimpl",
    "hookspec",
    "html",
    "percentile",
    "quote_identifier",
    "run",
    "states",
    "summarize",
    "types",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'rig' has no attribute {name!r}")
    if module_name in ("rig", "rig.engine"):
        value: Any = importlib.import_module(f"{module_name}.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from rig import html, types
    from rig.cli import run
    from rig.config.config import Config
    from rig.config.parser import OptionGroup, OptionParser
    from rig.data import DataStore, Key
    from rig.db.connection import Connection, Connector, quote_identifier
    from rig.db.flavor import ISOLATION_LEVELS, Features, Flavor, ServerInfo
    from rig.db.resilience import (
        CircuitBreaker,
        DatabaseError,
        ErrorClass,
        RetryPolicy,
        call_with_retry,
        classify,
    )
    from rig.db.sandbox import SANDBOX, Sandbox
    from rig.db.scratch import Scratch
    from rig.db.settings import ConnectionSettings, SslMode
    from rig.engine import states
    from rig.engine.context import Context
    from rig.engine.metrics import Metrics, percentile, summarize
    from rig.engine.results import Check, ConnectionResult, RunResult, StateOutcome, Verdict
    from rig.engine.shared import Shared
    from rig.engine.states import Handler, StateRegistry
    from rig.errors import ConfigError, ConnectError, ExitCode, PluginError, RigError, UsageError
    from rig.hookspecs import hookimpl, hookspec
    from rig.html import HtmlSection
    from rig.secret import Secret
    from rig.subcommands import ArgumentParser, CommandRegistry, Invocation
    from rig.terminal import Terminal
    from rig.timeline import EventKind, Timeline, TimelineEvent, TimelinePeriod
