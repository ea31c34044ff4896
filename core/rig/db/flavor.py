"""What the server is: TiDB, MySQL or MariaDB, its version, and what it can do.

Plugins ask :class:`ServerInfo` and its :class:`Features`; they never parse version strings.
Detection order (the version string can be overridden on TiDB): ``SELECT tidb_version()``
succeeds → TiDB; else ``MariaDB`` in ``VERSION()`` or ``@@version_comment`` → MariaDB; else MySQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from rig.db.resilience import DatabaseError

if TYPE_CHECKING:
    from rig.db.connection import Connection

ISOLATION_LEVELS = ("read-uncommitted", "read-committed", "repeatable-read", "serializable")
"""Isolation levels as rig names them (``SET TRANSACTION ISOLATION LEVEL`` with spaces)."""


class Flavor(StrEnum):
    """The server family."""

    TIDB = "tidb"
    MYSQL = "mysql"
    MARIADB = "mariadb"


@dataclass(frozen=True)
class Features:
    """What the server supports, decided from its flavour and version."""

    import_jobs: bool = False
    """``IMPORT INTO`` and ``SHOW IMPORT JOBS`` (TiDB ≥ 7.2)."""
    snapshot_isolation_setting: bool = False
    """MariaDB's ``innodb_snapshot_isolation`` variable exists."""


@dataclass(frozen=True)
class ServerInfo:
    """The detected server."""

    flavor: Flavor
    version: tuple[int, ...]
    version_string: str
    version_comment: str = ""
    default_isolation: str | None = None
    tidb: dict[str, str] = field(default_factory=dict)
    """Lines of ``tidb_version()`` (``Release Version``, ``Edition``, ``Store``…) on TiDB."""
    features: Features = field(default_factory=Features)

    @property
    def version_text(self) -> str:
        """The version as ``10.11.19`` (TiDB: its release, ``8.5.0``)."""
        return ".".join(str(part) for part in self.version)

    def at_least(self, *version: int) -> bool:
        """Whether the server's version is ``version`` or newer."""
        return self.version >= tuple(version)

    def describe(self) -> str:
        """``mariadb 10.11.19`` / ``tidb 8.5.0 (Community, tikv)``."""
        extra = ", ".join(v for v in (self.tidb.get("Edition"), self.tidb.get("Store")) if v)
        return f"{self.flavor} {self.version_text}" + (f" ({extra})" if extra else "")


_NUMBERS = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, ...]:
    """The first ``X.Y[.Z]`` in ``text`` as a tuple, or ``(0,)``."""
    match = _NUMBERS.search(text)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.groups() if part is not None)


def classify_version_string(version_string: str, version_comment: str = "") -> Flavor:
    """The flavour a version string claims (used when ``tidb_version()`` is unavailable)."""
    text = f"{version_string} {version_comment}".lower()
    if "tidb" in text:
        return Flavor.TIDB
    if "mariadb" in text:
        return Flavor.MARIADB
    return Flavor.MYSQL


def tidb_release(version_string: str, tidb_lines: dict[str, str]) -> tuple[int, ...]:
    """TiDB's own release (``v8.5.0``), not the MySQL version it mimics (``8.0.11``)."""
    release = tidb_lines.get("Release Version", "")
    if release:
        return parse_version(release)
    match = re.search(r"-TiDB-v?(\d+\.\d+(?:\.\d+)?)", version_string, re.IGNORECASE)
    return parse_version(match.group(1)) if match else parse_version(version_string)


def parse_tidb_version(text: str) -> dict[str, str]:
    """``SELECT tidb_version()`` output (``Key: value`` lines) as a dict."""
    lines = {}
    for line in str(text).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            lines[key.strip()] = value.strip()
    return lines


def features_for(flavor: Flavor, version: tuple[int, ...], *, snapshot_setting: bool) -> Features:
    """The feature flags of a flavour and version."""
    if flavor is Flavor.TIDB:
        return Features(import_jobs=version >= (7, 2))
    if flavor is Flavor.MARIADB:
        return Features(snapshot_isolation_setting=snapshot_setting)
    return Features()


def detect_server(connection: Connection) -> ServerInfo:
    """Ask the server what it is."""
    version_string = str(connection.scalar("SELECT VERSION()") or "")
    if version_string.startswith("5.5.5-"):  # MariaDB 10.x handshake prefix
        version_string = version_string[len("5.5.5-"):]
    version_comment = str(_optional_scalar(connection, "SELECT @@version_comment") or "")
    tidb_lines: dict[str, str] = {}
    tidb_text = _optional_scalar(connection, "SELECT tidb_version()")
    if tidb_text:
        flavor = Flavor.TIDB
        tidb_lines = parse_tidb_version(str(tidb_text))
    else:
        flavor = classify_version_string(version_string, version_comment)
    if flavor is Flavor.TIDB:
        version = tidb_release(version_string, tidb_lines)
    else:
        version = parse_version(version_string)
    snapshot_setting = flavor is Flavor.MARIADB and bool(
        _optional_rows(connection, "SHOW VARIABLES LIKE 'innodb_snapshot_isolation'")
    )
    isolation = _optional_scalar(connection, "SELECT @@transaction_isolation") or \
        _optional_scalar(connection, "SELECT @@tx_isolation")
    return ServerInfo(
        flavor=flavor,
        version=version,
        version_string=version_string,
        version_comment=version_comment,
        default_isolation=str(isolation).lower().replace("_", "-") if isolation else None,
        tidb=tidb_lines,
        features=features_for(flavor, version, snapshot_setting=snapshot_setting),
    )


def _optional_scalar(connection: Connection, sql: str) -> object:
    try:
        return connection.scalar(sql)
    except DatabaseError:
        return None


def _optional_rows(connection: Connection, sql: str) -> list[dict[str, object]]:
    try:
        return connection.query(sql)
    except DatabaseError:
        return []
