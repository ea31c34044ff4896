"""The isolation plugin's lockstep session driver (``rig_isolation.lockstep``) on a real
MariaDB: blocked-step detection, results of blocked steps, deadlocks, hangs, cancellation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rig
from rig_isolation.lockstep import Lockstep, Step, StepStatus

from isolation_helpers import Sessions, eventually, server_state

Open = Callable[[str], rig.Connection]


@pytest.fixture
def open_session(rig_server: Any, rig_database: str) -> Iterator[Open]:
    """Opens sessions in a database holding ``t`` = (1,10),(2,20)."""
    sessions = Sessions(rig_server, rig_database)
    yield sessions.open
    sessions.close()


SERVER_SOURCES = {"innodb_status", "innodb_trx", "data_lock_waits", "processlist", "tidb_trx"}


def test_blocked_step_is_detected_by_the_server_and_collected_when_it_returns(
        open_session: Open) -> None:
    sessions = {"T1": open_session("T1"), "T2": open_session("T2")}
    # A 60 s fallback: only the server's lock-wait views can make this step "blocked" quickly.
    with Lockstep(sessions, monitor=open_session("monitor"), block_timeout=60) as lockstep:
        result = lockstep.run([
            Step("T1", "begin"), Step("T2", "begin"),
            Step("T1", "update t set value = 11 where id = 1"),
            Step("T2", "select * from t where id = 1 for update", "locked-read"),
            Step("T1", "update t set value = 21 where id = 2"),
            Step("T1", "commit", "release"),
            Step("T2", "commit"),
        ])
    assert lockstep.detection != "timeout"
    blocked = result.step("locked-read")
    assert blocked.blocked and blocked.blocked_by in SERVER_SOURCES
    assert blocked.ok and blocked.rows == [(1, 11)]  # collected after T1 committed
    assert blocked.released_after == result.step("release").index
    assert blocked.blocked_s is not None and blocked.blocked_s > 0
    assert [s.status for s in result.steps] == [StepStatus.OK] * 7
    assert result.blocked == [blocked]
    assert "blocked" in blocked.describe() and blocked.as_dict()["blocked"]["detected_by"]


def test_without_server_detection_a_step_is_blocked_after_the_timeout(open_session: Open) -> None:
    sessions = {"T1": open_session("T1"), "T2": open_session("T2")}
    with Lockstep(sessions, monitor=open_session("monitor"), block_timeout=0.2,
                  server_detection=False) as lockstep:
        result = lockstep.run([
            Step("T1", "begin"),
            Step("T1", "update t set value = 11 where id = 1"),
            Step("T2", "update t set value = 12 where id = 1", "waits"),
            Step("T1", "commit"),
        ])
    assert lockstep.detection == "timeout"
    assert result.step("waits").blocked_by == "timeout"
    assert result.step("waits").ok


def test_a_deadlock_is_recorded_against_its_step_and_ends_that_transaction(
        open_session: Open) -> None:
    sessions = {"T1": open_session("T1"), "T2": open_session("T2")}
    with Lockstep(sessions, monitor=open_session("monitor")) as lockstep:
        result = lockstep.run([
            Step("T1", "begin"), Step("T2", "begin"),
            Step("T1", "update t set value = 11 where id = 1"),
            Step("T2", "update t set value = 22 where id = 2"),
            Step("T1", "update t set value = 12 where id = 2", "t1-cross"),
            Step("T2", "update t set value = 21 where id = 1", "t2-cross"),
            Step("T1", "commit", "t1-commit"),
            Step("T2", "commit", "t2-commit"),
        ])
    cross = [result.step("t1-cross"), result.step("t2-cross")]
    victims = [s for s in cross if s.error_code == 1213]
    assert len(victims) == 1 and victims[0].aborted
    victim = victims[0].session
    survivor = "T2" if victim == "T1" else "T1"
    commit = result.step(f"{victim.lower()}-commit")
    assert commit.status is StepStatus.SKIPPED
    assert f"aborted in step {victims[0].index}" in (commit.skipped_reason or "")
    assert result.step(f"{survivor.lower()}-commit").ok
    assert result.errors == victims


def test_an_ordinary_error_is_recorded_and_the_session_goes_on(open_session: Open) -> None:
    with Lockstep({"T1": open_session("T1")}) as lockstep:
        result = lockstep.run([Step("T1", "select * from no_such_table", "bad"),
                           Step("T1", "select value from t where id = 2", "next")])
    assert result.step("bad").error_code == 1146 and not result.step("bad").aborted
    assert result.step("next").rows == [(20,)]


def test_a_step_still_blocked_at_the_end_is_a_hang_killed_and_rolled_back(
        open_session: Open, rig_server: Any) -> None:
    t1, t2, monitor = open_session("T1"), open_session("T2"), open_session("monitor")
    ids = {t1.server_thread_id, t2.server_thread_id}
    with Lockstep({"T1": t1, "T2": t2}, monitor=monitor, block_timeout=60) as lockstep:
        result = lockstep.run([
            Step("T1", "begin"),
            Step("T1", "update t set value = 11 where id = 1"),
            Step("T2", "begin"),
            Step("T2", "update t set value = 12 where id = 1", "stuck"),
            Step("T2", "select 1", "after"),
        ])
    stuck = result.step("stuck")
    assert stuck.status is StepStatus.HANG and stuck.blocked_by in SERVER_SOURCES
    assert result.hangs == [stuck]
    assert result.step("after").status is StepStatus.SKIPPED
    assert "hung in step" in (result.step("after").skipped_reason or "")
    assert eventually(lambda: not ids & server_state(rig_server)[1])  # both sessions are gone
    assert monitor.scalar("select value from t where id = 1") == 10  # T1 was rolled back


def test_cancelling_skips_the_remaining_steps(open_session: Open) -> None:
    with Lockstep({"T1": open_session("T1")}, cancelled=lambda: True) as lockstep:
        result = lockstep.run([Step("T1", "select 1"), Step("T1", "select 2", "later")])
    assert result.cancelled
    assert result.step("later").status is StepStatus.SKIPPED
    assert result.step("later").skipped_reason == "cancelled"


def test_runs_follow_each_other_on_kept_sessions(open_session: Open) -> None:
    t1 = open_session("T1")
    with Lockstep({"T1": t1}, keep_sessions=True) as lockstep:
        first = lockstep.run([Step("T1", "begin"),
                          Step("T1", "update t set value = 11 where id = 1")])
        second = lockstep.run([Step("T1", "select value from t where id = 1", "read")])
    assert [s.index for s in first.steps + second.steps] == [1, 2, 3]
    assert second.step("read").rows == [(11,)]
    assert t1.scalar("select value from t where id = 1") == 10  # rolled back, still open


def test_a_step_naming_an_unknown_session_is_refused(open_session: Open) -> None:
    with Lockstep({"T1": open_session("T1")}) as lockstep, \
            pytest.raises(ValueError, match="unknown session 'T9'"):
        lockstep.run([Step("T9", "select 1")])
