"""rig's chaos plugin: faults injected while any workflow runs, and a verdict on how the
database and rig came through."""

from __future__ import annotations

__version__ = "0.2.0"
