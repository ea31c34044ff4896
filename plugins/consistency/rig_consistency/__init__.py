"""rig's consistency plugin: random concurrent transactions, their history checked for
anomalies the way Jepsen's Elle does."""

from __future__ import annotations

__version__ = "0.2.0"
