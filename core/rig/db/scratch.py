"""Scratch data: the databases and tables a run creates to work in, dropped when the run ends
(unless ``--keep-tables``) — and never anything that existed before the run.

The rules, for every plugin:

- a scratch database is created by the run, or is an existing database that holds no object at
  all (no table, view, sequence, routine or event); any other existing database is refused with
  exit 4, because the run would otherwise work among — and at the end drop — what it did not
  create;
- a table is created with ``CREATE TABLE`` (never ``IF NOT EXISTS``, never ``DROP`` first): one
  that already exists is refused with exit 4;
- at the end of the run rig drops, on each server, the tables it created in databases it did not
  create, then the databases it created. ``--keep-tables`` keeps everything, and says what.

One :class:`Scratch` per run (``ctx.scratch``), shared by every connection: two connections that
claim the same database get it once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rig.db.connection import Connection, quote_identifier
from rig.db.resilience import DatabaseError
from rig.db.settings import ConnectionSettings
from rig.errors import ConfigError

ER_DB_CREATE_EXISTS = 1007
ER_TABLE_EXISTS = 1050
ER_DBACCESS_DENIED = 1044
ER_TABLEACCESS_DENIED = 1142
_NO_SUCH_VIEW = (1109, 1146)
"""Unknown table (an ``information_schema`` view the server lacks, like EVENTS on TiDB)."""

_OBJECT_QUERIES = (
    ("SELECT LOWER(TABLE_TYPE), TABLE_NAME FROM information_schema.TABLES "
     "WHERE TABLE_SCHEMA = %s"),
    ("SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES "
     "WHERE ROUTINE_SCHEMA = %s"),
    "SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
)
_SHOWN = 3


@dataclass(frozen=True)
class ScratchDatabase:
    """A database a run works in."""

    server: str
    name: str
    created: bool
    """Whether the run created it (then it is dropped whole); else it was empty before."""


@dataclass(frozen=True)
class ScratchTable:
    """A table a run created."""

    server: str
    database: str
    name: str

    def __str__(self) -> str:
        return f"table {self.database}.{self.name} at {self.server}"


def objects_in(connection: Connection, database: str) -> list[str]:
    """What ``database`` holds: ``"base table t"``, ``"view v"``, ``"procedure p"``…"""
    found: list[str] = []
    for sql in _OBJECT_QUERIES:
        try:
            _names, rows = connection.query_rows(sql, (database,))
        except DatabaseError as exc:
            if exc.code in _NO_SUCH_VIEW:
                continue
            raise
        found += [f"{kind} {name}" for kind, name in rows]
    return found


class Scratch:
    """The scratch databases and tables of a run (see the module's rules). Thread-safe."""

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        """``--keep-tables``: nothing is dropped at the end."""
        self._databases: dict[tuple[str, str], ScratchDatabase] = {}
        self._tables: list[ScratchTable] = []
        self._servers: dict[str, ConnectionSettings] = {}
        self._dropped: list[str] = []
        self._lock = threading.Lock()

    def database(self, connection: Connection, name: str, *,
                 option: str | None = None) -> ScratchDatabase:
        """Claim database ``name`` on ``connection``'s server for the run: create it, or take
        it when it exists and holds no object; claimed once per run, whichever connection asks
        first. A database that holds anything is a :class:`rig.ConfigError` (exit 4) naming
        what it holds, and so is a user who may not create it (with the grant that would let
        it); ``option`` (the flag that chose the name) goes into the fix."""
        server = connection.settings.address
        with self._lock:
            claimed = self._databases.get((server, name))
            if claimed is not None:
                return claimed
            try:
                connection.execute(f"CREATE DATABASE {quote_identifier(name)}")
                created = True
            except DatabaseError as exc:
                if exc.code == ER_DBACCESS_DENIED and not _visible(connection, name):
                    raise _denied(connection, f"database {name!r}", name, option) from None
                if exc.code not in (ER_DB_CREATE_EXISTS, ER_DBACCESS_DENIED):
                    raise
                held = objects_in(connection, name)
                if held:
                    shown = ", ".join(held[:_SHOWN]) + (", …" if len(held) > _SHOWN else "")
                    choose = f"choose another {option}" if option else "choose another database"
                    raise ConfigError(
                        f"database {name!r} at {server} already exists and holds {len(held)} "
                        f"object(s) ({shown}); rig works only in a database it creates or one "
                        "that is empty, and never changes what it did not create",
                        hint=f"{choose}, or empty it") from None
                created = False
            claimed = ScratchDatabase(server, name, created)
            self._databases[(server, name)] = claimed
            self._servers.setdefault(server, connection.settings)
            return claimed

    def create_table(self, connection: Connection, database: str, table: str,
                     definition: str, *, option: str | None = None) -> ScratchTable:
        """``CREATE TABLE database.table definition`` (``definition``: the column list in
        parentheses and any table options), recorded to be dropped at the end. A table that
        already exists is a :class:`rig.ConfigError` (exit 4), ``option`` (the flag that chose
        the table's name) in its fix; so is a user who may not create it, with the grant."""
        made = ScratchTable(connection.settings.address, database, table)
        qualified = f"{quote_identifier(database)}.{quote_identifier(table)}"
        try:
            connection.execute(f"CREATE TABLE {qualified} {definition}")
        except DatabaseError as exc:
            if exc.code in (ER_DBACCESS_DENIED, ER_TABLEACCESS_DENIED):
                raise _denied(connection, f"table {qualified}", database, None) from None
            if exc.code != ER_TABLE_EXISTS:
                raise
            choose = f"choose another {option}" if option else "choose another database"
            raise ConfigError(f"{made} already exists; rig never changes what it did not "
                              "create", hint=f"drop it, or {choose}") from None
        with self._lock:
            self._tables.append(made)
            self._servers.setdefault(made.server, connection.settings)
        return made

    def servers(self) -> list[ConnectionSettings]:
        """Connection settings of every server that holds something still to drop."""
        with self._lock:
            return [self._servers[server] for server in self._servers
                    if self._pending(server)]

    def _pending(self, server: str) -> list[str]:
        created = {db.name for db in self._databases.values()
                   if db.server == server and db.created}
        items = [str(t) for t in self._tables
                 if t.server == server and t.database not in created]
        items += [f"database {name} at {server}" for name in created]
        return [item for item in items if item not in self._dropped]

    def drop(self, connection: Connection) -> list[str]:
        """Drop what the run created on ``connection``'s server and is still there: its tables
        in databases it did not create, then the databases it created. Returns what was
        dropped; a failure raises after recording what was dropped before it."""
        server = connection.settings.address
        dropped = []
        with self._lock:
            created = [db.name for db in self._databases.values()
                       if db.server == server and db.created]
            for table in self._tables:
                if table.server != server or table.database in created or \
                        str(table) in self._dropped:
                    continue
                connection.execute(f"DROP TABLE IF EXISTS {quote_identifier(table.database)}."
                                   f"{quote_identifier(table.name)}")
                self._dropped.append(str(table))
                dropped.append(str(table))
            for name in created:
                label = f"database {name} at {server}"
                if label in self._dropped:
                    continue
                connection.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
                self._dropped.append(label)
                dropped.append(label)
        return dropped

    def remaining(self) -> list[str]:
        """What the run created and has not dropped."""
        with self._lock:
            return [item for server in self._servers for item in self._pending(server)]

    def summary(self) -> dict[str, list[str]]:
        """For the report: what was created, dropped, and is left (kept or not droppable)."""
        with self._lock:
            created = [f"database {db.name} at {db.server}" for db in self._databases.values()
                       if db.created] + [str(t) for t in self._tables]
            dropped = list(self._dropped)
        return {"created": created, "dropped": dropped, "left": self.remaining()}


def _visible(connection: Connection, database: str) -> bool:
    """Whether ``database`` exists and the connection's user can see it (one it may not
    create, but may use)."""
    return connection.scalar("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                             "WHERE SCHEMA_NAME = %s", (database,)) is not None


def grant_hint(connection: Connection, database: str) -> str:
    """``grant it (GRANT ALL ON `db`.* TO 'user'@'host')`` for the account the connection's
    user logged in as: the fix for a user who may not use or create in ``database``."""
    user, _, host = str(connection.scalar("SELECT CURRENT_USER()")).rpartition("@")
    return f"grant it (GRANT ALL ON {quote_identifier(database)}.* TO '{user}'@'{host}')"


def _denied(connection: Connection, what: str, database: str,
            option: str | None) -> ConfigError:
    """The user may not create ``what``: which grant would let it, or which option to change."""
    choose = f"choose with {option} an empty database" if option else "choose an empty database"
    return ConfigError(
        f"user {connection.settings.user!r} may not create {what} at "
        f"{connection.settings.address}",
        hint=f"{grant_hint(connection, database)}, or {choose} it may use")
