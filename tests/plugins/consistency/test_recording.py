"""Recording on a real server: what each way a transaction can end is recorded as, and the
history's shape (indices in time order, a fresh process after an unknown outcome)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from consistency_helpers import LIST_APPEND, client, killed_session, open_session, value_of

import rig
from rig.testing import ServerDSN
from rig_consistency.client import Client, Outcome
from rig_consistency.generator import Generator, Shape
from rig_consistency.history import Mop, pair
from rig_consistency.recorder import Recorder


@pytest.fixture
def table(rig_server: ServerDSN, rig_database: str) -> Iterator[str]:
    connection = rig_server.connect(database=rig_database)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE txn0 (id BIGINT NOT NULL PRIMARY KEY, sk BIGINT NOT NULL, "
                       "val TEXT)")
    yield rig_database
    connection.close()


def test_a_session_killed_at_commit_is_recorded_as_unknown(
        rig_server: ServerDSN, table: str) -> None:
    session = killed_session(rig_server, table, "COMMIT")
    mops = (Mop("append", 1, 1), Mop("r", 1, None))

    outcome = client(session, Recorder()).transaction(session, mops)

    assert outcome.kind == "info"
    assert outcome.error is not None and outcome.error.error_class is rig.ErrorClass.RECONNECT
    assert outcome.mops == mops  # what was asked: the reads' results are not trusted


def test_a_session_killed_before_commit_is_recorded_as_failed(
        rig_server: ServerDSN, table: str) -> None:
    session = killed_session(rig_server, table, "SELECT val FROM txn0 WHERE id = %s")

    outcome = client(session, Recorder()).transaction(
        session, (Mop("append", 2, 1), Mop("r", 2, None)))

    assert outcome.kind == "fail"
    assert value_of(rig_server, table, 2) == ()  # indeed never committed


def test_a_committed_transaction_records_what_it_read(rig_server: ServerDSN, table: str) -> None:
    session = open_session(rig_server, table, "t")
    run = client(session, Recorder()).transaction

    assert run(session, (Mop("append", 3, 1), Mop("append", 3, 2))).kind == "ok"
    outcome = run(session, (Mop("r", 3, None), Mop("append", 3, 3), Mop("r", 3, None)))

    assert outcome == Outcome("ok", (Mop("r", 3, (1, 2)), Mop("append", 3, 3),
                                     Mop("r", 3, (1, 2, 3))))
    assert value_of(rig_server, table, 3) == (1, 2, 3)


def test_a_lock_wait_timeout_is_recorded_as_failed(rig_server: ServerDSN, table: str) -> None:
    holder = open_session(rig_server, table, "holder")
    session = open_session(rig_server, table, "client")
    session.execute("SET SESSION innodb_lock_wait_timeout = 1")
    holder.execute("INSERT INTO txn0 VALUES (4, 4, '1')")
    holder.execute("START TRANSACTION")
    holder.execute("UPDATE txn0 SET val = CONCAT(val, ',2') WHERE id = 4")

    outcome = client(session, Recorder()).transaction(
        session, (Mop("append", 5, 1), Mop("append", 4, 3)))
    holder.execute("COMMIT")

    assert outcome.kind == "fail"
    assert outcome.error is not None and outcome.error.code == 1205
    assert outcome.error_text is not None and outcome.error_text.startswith("1205 Lock wait")
    assert value_of(rig_server, table, 5) == ()  # rolled back, the append before it too
    assert value_of(rig_server, table, 4) == (1, 2)


def test_every_outcome_is_recorded_in_time_order_with_a_fresh_process_after_unknown(
        rig_server: ServerDSN, table: str) -> None:
    sessions = iter([killed_session(rig_server, table, "COMMIT"),
                     open_session(rig_server, table, "t")])
    recorder = Recorder(limit=3)
    Client(open_session=lambda: next(sessions), recorder=recorder,
           generator=Generator("list-append", seed=7, shape=Shape(min_length=2)),
           transactions=LIST_APPEND, stop=lambda: False).run()

    ops = recorder.ops()
    assert [(op.type, op.process) for op in ops] == [
        ("invoke", 0), ("info", 0), ("invoke", 1), ("ok", 1), ("invoke", 1), ("ok", 1)]
    assert [op.index for op in ops] == list(range(6))
    assert [op.time for op in ops] == sorted(op.time for op in ops)
    assert [t.outcome for t in pair(ops)] == ["info", "ok", "ok"]
    assert recorder.counts() == {"invoked": 3, "ok": 2, "fail": 0, "info": 1}
