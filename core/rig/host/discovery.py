"""Which plugins are installed: entry points of ``rig.plugins`` and their distributions.

Reads package metadata only and imports no plugin, so ``rig --version`` stays fast.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass, field
from typing import Any

ENTRY_POINT_GROUP = "rig.plugins"


def normalize(name: str) -> str:
    """Compare plugin and distribution names case- and separator-insensitively."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class PluginInfo:
    """What rig knows about one plugin: where it comes from, its status, what it contributes."""

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str | None = None
    status: str = "found"
    """``loaded``, ``disabled``, ``failed`` (see ``error``), or ``found`` before loading."""
    builtin: bool = False
    """One of rig-core's own plugins (the common states, the reporters)."""
    error: str | None = None
    plugin: Any = field(default=None, repr=False)
    entry_point: Any = field(default=None, repr=False)
    """The ``importlib.metadata.EntryPoint`` an installed plugin comes from."""
    options: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``name (distribution version)`` for messages."""
        if self.distribution:
            return f"{self.name!r} ({self.distribution} {self.version})"
        return repr(self.name)

    def as_json(self) -> dict[str, Any]:
        """The plugin as ``rig plugins --json`` lists it."""
        return {
            "name": self.name, "distribution": self.distribution, "version": self.version,
            "module": self.module, "status": self.status, "error": self.error,
            "builtin": self.builtin,
            "states": self.states, "options": self.options, "hooks": self.hooks,
        }


def installed_plugins() -> list[PluginInfo]:
    """Every ``rig.plugins`` entry point with its distribution, without importing any plugin."""
    found: dict[str, PluginInfo] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
            module=ep.value,
            entry_point=ep,
        )
        found.setdefault(ep.name, info)
    return sorted(found.values(), key=lambda info: info.name)
