"""rig's consistency plugin: random concurrent transactions, their history checked for
anomalies the way Jepsen's Elle does."""

from __future__ import annotations

import rig
from rig_consistency import command

__version__ = "0.2.0"


@rig.hookimpl
def rig_register_commands(commands: rig.CommandRegistry) -> None:
    """Add ``rig consistency check FILE``."""
    command.register(commands)
