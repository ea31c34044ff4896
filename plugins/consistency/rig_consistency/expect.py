"""Expectation profiles: the anomalies a server is known to allow at a level although the
level's model prohibits them (MariaDB's repeatable read allows lost updates), so a run reports
them as known instead of failing.

A profile is a TOML file: an ``about`` table for people, then one table per level key
(``repeatable-read``, or ``repeatable-read+snapshot-isolation`` for MariaDB with
``innodb_snapshot_isolation`` on) with ``known`` (Elle's anomaly names) and ``why``::

    [repeatable-read]
    known = ["lost-update", "G-single-item"]
    why = "reads come from a snapshot, writes go to the latest row"

``--consistency-expect auto`` takes the shipped profile named after the server's flavour and
version (``mariadb-10.11``; on TiDB with the transaction mode: ``tidb-8.5-pessimistic``) when
there is one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import rig

SHIPPED = Path(__file__).parent / "profiles"
"""Where the plugin's own profiles live."""
SNAPSHOT_SUFFIX = "+snapshot-isolation"
AUTO, NONE = "auto", "none"


class ProfileError(ValueError):
    """A profile that cannot be read or is not shaped as one."""


@dataclass(frozen=True)
class Known:
    """What a profile says of one level."""

    anomalies: frozenset[str]
    why: str = ""


@dataclass(frozen=True)
class Profile:
    """A profile: level key → what is known of it."""

    name: str
    levels: dict[str, Known] = field(default_factory=dict)

    def known(self, level_key: str) -> Known:
        """What is known at ``level_key`` (nothing when the profile does not name it)."""
        return self.levels.get(level_key, Known(frozenset()))


def shipped_names() -> list[str]:
    """The names of the shipped profiles."""
    return sorted(path.stem for path in SHIPPED.glob("*.toml"))


def resolve(text: str) -> Path:
    """A profile's path: a file, or the name of a shipped profile."""
    path = Path(text).expanduser()
    if path.is_file():
        return path
    shipped = SHIPPED / f"{text}.toml"
    if "/" not in text and shipped.is_file():
        return shipped
    raise ProfileError(f"no such file or shipped profile (shipped: "
                       f"{', '.join(shipped_names())}; or auto, none)")


def load(text: str) -> Profile:
    """Read the profile ``text`` names."""
    path = resolve(text)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from None
    levels = {}
    for key, table in data.items():
        if key == "about":
            continue
        level = key.removesuffix(SNAPSHOT_SUFFIX)
        if level not in rig.ISOLATION_LEVELS or not isinstance(table, dict):
            raise ProfileError(f"{path}: [{key}] is no level (levels: "
                               f"{', '.join(rig.ISOLATION_LEVELS)}, optionally with "
                               f"{SNAPSHOT_SUFFIX})")
        known = table.get("known", [])
        if not isinstance(known, list) or not all(isinstance(a, str) for a in known):
            raise ProfileError(f"{path}: [{key}] known must be a list of anomaly names")
        levels[key] = Known(frozenset(known), str(table.get("why", "")))
    return Profile(text if path.parent == SHIPPED else str(path), levels)


def choose(text: str, server: rig.ServerInfo, txn_mode: str | None) -> Profile | None:
    """The profile for ``--consistency-expect text`` on ``server`` (``None``: none); ``auto``
    names it after the flavour and version (``mariadb-10.11``), on TiDB also the transaction
    mode (``tidb-8.5-pessimistic``)."""
    if text == NONE:
        return None
    if text == AUTO:
        name = f"{server.flavor.value}-{'.'.join(map(str, server.version[:2]))}"
        if server.flavor is rig.Flavor.TIDB:
            name += f"-{txn_mode}"
        return load(name) if name in shipped_names() else None
    return load(text)
