"""Sessions for the recording tests: real sessions, one of them killed on the server just
before a given statement (``KILL CONNECTION`` from another session)."""

from __future__ import annotations

from typing import Any

import rig
from rig.testing import ServerDSN
from rig_consistency.client import Client, Transactions
from rig_consistency.encoding import parse_list
from rig_consistency.generator import Generator
from rig_consistency.recorder import Recorder

LIST_APPEND = Transactions("list-append", tables=1, begin="START TRANSACTION")


def open_session(server: ServerDSN, database: str, name: str = "t") -> rig.Connection:
    settings = rig.ConnectionSettings(
        server.host, server.port, server.user,
        rig.Secret(server.password) if server.password else None,
        ssl_mode=rig.SslMode.DISABLED)
    session = rig.Connector().open(settings, name)
    session.execute(f"USE {rig.quote_identifier(database)}")
    return session


class KilledAt(rig.Connection):
    """A real session whose server connection is killed (``KILL CONNECTION`` from another
    session) just before it sends ``statement``: the server really drops it."""

    killer: ServerDSN
    statement: str

    def _kill_before(self, sql: str) -> None:
        if sql == self.statement:
            other = self.killer.connect()
            with other.cursor() as cursor:
                cursor.execute(f"KILL CONNECTION {self.server_thread_id}")
            other.close()

    def execute(self, sql: str, args: Any = None) -> int:
        self._kill_before(sql)
        return super().execute(sql, args)

    def query_rows(self, sql: str, args: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        self._kill_before(sql)
        return super().query_rows(sql, args)


def killed_session(server: ServerDSN, database: str, statement: str) -> rig.Connection:
    session = open_session(server, database)
    session.__class__ = KilledAt
    assert isinstance(session, KilledAt)
    session.killer, session.statement = server, statement
    return session


def value_of(server: ServerDSN, database: str, key: int) -> tuple[int, ...]:
    connection = server.connect(database=database)
    with connection.cursor() as cursor:
        cursor.execute("SELECT val FROM txn0 WHERE id = %s", (key,))
        row = cursor.fetchone()
    connection.close()
    return parse_list(row[0] if row else None)


def client(session: rig.Connection, recorder: Recorder) -> Client:
    return Client(open_session=lambda: session, recorder=recorder,
                  generator=Generator("list-append", seed=1), transactions=LIST_APPEND,
                  stop=lambda: False)
