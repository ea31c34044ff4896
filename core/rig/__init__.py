"""rig tests TiDB and other MySQL-compatible databases through workflows of states, built from
plugins.

This module is rig's public API: plugins import only what is listed in ``__all__``. Names are
loaded on first use, so ``rig --version`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "hookimpl": "rig.hookspecs",
    "hookspec": "rig.hookspecs",
    "Config": "rig.config",
    "OptionParser": "rig.config",
    "OptionGroup": "rig.config",
    "types": "rig",
    "Context": "rig.context",
    "DataStore": "rig.context",
    "Key": "rig.context",
    "Handler": "rig.states",
    "StateRegistry": "rig.states",
    "states": "rig",
    "Connection": "rig.connection",
    "ConnectionSettings": "rig.connection",
    "SslMode": "rig.connection",
    "quote_identifier": "rig.connection",
    "open_raw": "rig.connection",
    "Lockstep": "rig.lockstep",
    "LockstepResult": "rig.lockstep",
    "Step": "rig.lockstep",
    "StepResult": "rig.lockstep",
    "StepStatus": "rig.lockstep",
    "Flavor": "rig.flavor",
    "Features": "rig.flavor",
    "ServerInfo": "rig.flavor",
    "ISOLATION_LEVELS": "rig.flavor",
    "ErrorClass": "rig.resilience",
    "DatabaseError": "rig.resilience",
    "RetryPolicy": "rig.resilience",
    "CircuitBreaker": "rig.resilience",
    "classify": "rig.resilience",
    "call_with_retry": "rig.resilience",
    "Metrics": "rig.metrics",
    "summarize": "rig.metrics",
    "percentile": "rig.metrics",
    "Shared": "rig.coordinator",
    "Verdict": "rig.results",
    "Check": "rig.results",
    "RunResult": "rig.results",
    "ConnectionResult": "rig.results",
    "StateOutcome": "rig.results",
    "ExitCode": "rig.errors",
    "RigError": "rig.errors",
    "UsageError": "rig.errors",
    "ConfigError": "rig.errors",
    "PluginError": "rig.errors",
    "ConnectError": "rig.errors",
    "Secret": "rig.secret",
    "Sandbox": "rig.sandbox",
    "run": "rig.cli",
}

__all__ = [
    "ISOLATION_LEVELS",
    "Check",
    "CircuitBreaker",
    "Config",
    "ConfigError",
    "ConnectError",
    "Connection",
    "ConnectionResult",
    "ConnectionSettings",
    "Context",
    "DataStore",
    "DatabaseError",
    "ErrorClass",
    "ExitCode",
    "Features",
    "Flavor",
    "Handler",
    "Key",
    "Lockstep",
    "LockstepResult",
    "Metrics",
    "OptionGroup",
    "OptionParser",
    "PluginError",
    "RetryPolicy",
    "RigError",
    "RunResult",
    "Sandbox",
    "Secret",
    "ServerInfo",
    "Shared",
    "SslMode",
    "StateOutcome",
    "StateRegistry",
    "Step",
    "StepResult",
    "StepStatus",
    "UsageError",
    "Verdict",
    "__version__",
    "call_with_retry",
    "classify",
    "hookimpl",
    "hookspec",
    "open_raw",
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
    if module_name == "rig":
        value: Any = importlib.import_module(f"rig.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from rig import states, types
    from rig.cli import run
    from rig.config import Config, OptionGroup, OptionParser
    from rig.connection import (
        Connection,
        ConnectionSettings,
        SslMode,
        open_raw,
        quote_identifier,
    )
    from rig.context import Context, DataStore, Key
    from rig.coordinator import Shared
    from rig.errors import ConfigError, ConnectError, ExitCode, PluginError, RigError, UsageError
    from rig.flavor import ISOLATION_LEVELS, Features, Flavor, ServerInfo
    from rig.hookspecs import hookimpl, hookspec
    from rig.lockstep import Lockstep, LockstepResult, Step, StepResult, StepStatus
    from rig.metrics import Metrics, percentile, summarize
    from rig.resilience import (
        CircuitBreaker,
        DatabaseError,
        ErrorClass,
        RetryPolicy,
        call_with_retry,
        classify,
    )
    from rig.results import Check, ConnectionResult, RunResult, StateOutcome, Verdict
    from rig.sandbox import Sandbox
    from rig.secret import Secret
    from rig.states import Handler, StateRegistry
