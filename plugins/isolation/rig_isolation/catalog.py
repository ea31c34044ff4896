"""The Hermitage anomaly tests: their steps and how each decides from what it observed.

Every test runs on the table ``test (id int primary key, value int)`` holding (1,10),(2,20). A
step's SQL names the table ``{t}``; the runner substitutes the quoted name. A decision looks only
at observations: the rows reads returned, which steps ran, errored or were skipped after an
abort, the order steps finished in, and the rows left at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rig_isolation.lockstep import LockstepResult, Step, StepResult, StepStatus

PREVENTED = "prevented"
ANOMALY = "anomaly"
PREVENTED_READ_ONLY = "prevented-read-only"
UNSUPPORTED = "unsupported"
ERROR = "error"
RESULTS = (PREVENTED, ANOMALY, UNSUPPORTED, ERROR)
"""What a (level, test) can yield."""

Rows = list[tuple[int, int]]


class Observation:
    """What one run of a test's body showed, looked up by step label."""

    def __init__(self, result: LockstepResult, final: Rows | None) -> None:
        self.result = result
        self.final = final
        """The table's rows after every session ended (read by the monitor connection)."""

    def step(self, label: str) -> StepResult:
        """The step labelled ``label``."""
        return self.result.step(label)

    def ok(self, *labels: str) -> bool:
        """Whether every step in ``labels`` ran without error."""
        return all(self.step(label).ok for label in labels)

    def rows(self, label: str) -> Rows | None:
        """The rows the step returned, ordered by id; ``None`` when it did not run ok."""
        step = self.step(label)
        if not step.ok:
            return None
        return sorted((int(row[0]), int(row[1])) for row in step.rows)

    def why_not(self, label: str) -> str:
        """Why a step did not complete: its error or the reason it was skipped."""
        step = self.step(label)
        if step.status is StepStatus.ERROR:
            return f"step {step.index} ({step.sql}) failed with {step.error_code}"
        return f"step {step.index} ({step.sql}) {step.skipped_reason or step.status.value}"


Decision = tuple[str, str]
"""(result, why): ``prevented`` or ``anomaly`` and one sentence of reasoning."""


def show(rows: Rows | None) -> str:
    """``(1,10),(2,20)``; ``no rows``."""
    if not rows:
        return "no rows"
    return ",".join(f"({i},{v})" for i, v in rows)


@dataclass(frozen=True)
class AnomalyTest:
    """One Hermitage test: its id, the anomaly it probes, sessions, steps and decision."""

    id: str
    code: str
    """The anomaly (G0, G1a, …) this test probes."""
    sessions: tuple[str, ...]
    steps: tuple[Step, ...]
    decide: Callable[[Observation], Decision]
    read_only: bool | None = None
    """For anomalies with variants: ``True`` read-only, ``False`` the write variant."""
    decisive: str = ""
    """The decisive observation, in words (docs and ``rig --help``)."""


def _s(session: str, sql: str, label: str = "") -> Step:
    return Step(session, sql, label)


def _g0(o: Observation) -> Decision:
    writers = {1: {11: "T1", 12: "T2"}, 2: {21: "T1", 22: "T2"}}
    if o.final is None or len(o.final) != 2:
        return ERROR, f"the final read returned {show(o.final)}"
    who = [writers[i].get(v, "nobody") for i, v in o.final]
    if who[0] != who[1]:
        return ANOMALY, (f"final rows {show(o.final)}: id 1 written by {who[0]}, id 2 by "
                         f"{who[1]} (mixed winners)")
    return PREVENTED, f"final rows {show(o.final)}, both written by {who[0]}"


def _dirty_read(overwrite: str) -> Callable[[Observation], Decision]:
    def decide(o: Observation) -> Decision:
        rows = o.rows("read")
        if rows is None:
            return PREVENTED, f"T2's first read did not complete: {o.why_not('read')}"
        if (1, 101) in rows:
            return ANOMALY, f"T2 read {show(rows)}: value 101 was written by T1, which {overwrite}"
        return PREVENTED, f"T2 read {show(rows)} while T1's 101 was uncommitted"
    return decide


def _g1c(o: Observation) -> Decision:
    r1, r2 = o.rows("t1-read"), o.rows("t2-read")
    if r1 and (2, 22) in r1:
        return ANOMALY, f"T1 read {show(r1)}: T2's uncommitted 22"
    if r2 and (1, 11) in r2:
        return ANOMALY, f"T2 read {show(r2)}: T1's uncommitted 11"
    return PREVENTED, f"T1 read {show(r1)}, T2 read {show(r2)}: neither saw the other's write"


def _otv(o: Observation) -> Decision:
    reads = [(label, o.rows(label)) for label in ("t3-read-1", "t3-read-2", "t3-read-3")]
    for label, rows in reads:
        if rows and (1, 12) in rows and (2, 19) in rows:
            return ANOMALY, (f"T3 read {show(rows)} at step {o.step(label).index}: T2's 12 "
                             "with T1's 19, which T2 overwrites")
    shown = "; ".join(show(rows) for _label, rows in reads)
    return PREVENTED, f"T3's reads: {shown}"


def _pmp(o: Observation) -> Decision:
    rows = o.rows("t1-read-2")
    if rows is None:
        return PREVENTED, f"T1's second read did not complete: {o.why_not('t1-read-2')}"
    if (3, 30) in rows:
        return ANOMALY, f"T1's second predicate read returned {show(rows)}, with T2's (3,30)"
    return PREVENTED, f"T1's second predicate read returned {show(rows)}"


def _pmp_write(o: Observation) -> Decision:
    for label in ("t2-delete", "t1-commit", "t2-commit"):
        if not o.ok(label):
            return PREVENTED, f"a transaction aborted: {o.why_not(label)}"
    read, left = o.rows("t2-read"), o.rows("t2-read-all")
    if read is None or left is None:
        return ERROR, "a read of T2 did not complete"
    matched = {i for i, _v in read}
    deleted = {1, 2} - {i for i, _v in left}
    if matched != deleted:
        return ANOMALY, (f"T2's predicate read matched id {sorted(matched)} but its delete "
                         f"removed id {sorted(deleted)} after T1 committed; T2 ends with "
                         f"{show(left)}")
    return PREVENTED, (f"T2's delete removed exactly what its read matched "
                       f"(id {sorted(matched)}); T2 ends with {show(left)}")


def _both_commit(what: str, writes: tuple[str, str]) -> Callable[[Observation], Decision]:
    def decide(o: Observation) -> Decision:
        for label in (*writes, "t1-commit", "t2-commit"):
            if not o.ok(label):
                return PREVENTED, f"a transaction aborted: {o.why_not(label)}"
        return ANOMALY, f"both transactions committed {what}"
    return decide


def _read_sees(label: str, row: tuple[int, int], meaning: str) -> Callable[[Observation],
                                                                           Decision]:
    def decide(o: Observation) -> Decision:
        rows = o.rows(label)
        if rows is None:
            return PREVENTED, f"T1's read did not complete: {o.why_not(label)}"
        if row in rows:
            return ANOMALY, f"T1 read {show(rows)}: {meaning}"
        return PREVENTED, f"T1 read {show(rows)}"
    return decide


def _g_single_write(o: Observation) -> Decision:
    for label in ("t1-delete", "t1-commit", "t2-commit"):
        if not o.ok(label):
            return PREVENTED, f"a transaction aborted: {o.why_not(label)}"
    delete, commit = o.step("t1-delete"), o.step("t2-commit")
    if (commit.finished_seq or 0) < (delete.started_seq or 0):
        return ANOMALY, (f"T1's delete ran after T2 committed over the row T1 had read, deleted "
                         f"{delete.rowcount} row(s) without error, and T1 committed")
    return PREVENTED, "T1's delete ran before T2 committed"


TESTS: tuple[AnomalyTest, ...] = (
    AnomalyTest("g0", "G0", ("T1", "T2"), (
        _s("T1", "update {t} set value = 11 where id = 1"),
        _s("T2", "update {t} set value = 12 where id = 1", "t2-write-1"),
        _s("T1", "update {t} set value = 21 where id = 2"),
        _s("T1", "commit", "t1-commit"),
        _s("T2", "update {t} set value = 22 where id = 2"),
        _s("T2", "commit", "t2-commit"),
    ), _g0, decisive="prevented when the final rows come from one transaction, (1,12),(2,22) "
       "after T2 waited for T1; mixed winners are the anomaly"),
    AnomalyTest("g1a", "G1a", ("T1", "T2"), (
        _s("T1", "update {t} set value = 101 where id = 1"),
        _s("T2", "select * from {t}", "read"),
        _s("T1", "rollback"),
        _s("T2", "select * from {t}"),
        _s("T2", "commit"),
    ), _dirty_read("then rolled back"), decisive="anomaly when T2's first read sees 101"),
    AnomalyTest("g1b", "G1b", ("T1", "T2"), (
        _s("T1", "update {t} set value = 101 where id = 1"),
        _s("T2", "select * from {t}", "read"),
        _s("T1", "update {t} set value = 11 where id = 1"),
        _s("T1", "commit"),
        _s("T2", "select * from {t}"),
        _s("T2", "commit"),
    ), _dirty_read("later overwrote with 11"), decisive="anomaly when T2's first read sees 101"),
    AnomalyTest("g1c", "G1c", ("T1", "T2"), (
        _s("T1", "update {t} set value = 11 where id = 1"),
        _s("T2", "update {t} set value = 22 where id = 2"),
        _s("T1", "select * from {t} where id = 2", "t1-read"),
        _s("T2", "select * from {t} where id = 1", "t2-read"),
        _s("T1", "commit"),
        _s("T2", "commit"),
    ), _g1c, decisive="anomaly when either read sees the other's uncommitted value"),
    AnomalyTest("otv", "OTV", ("T1", "T2", "T3"), (
        _s("T1", "update {t} set value = 11 where id = 1"),
        _s("T1", "update {t} set value = 19 where id = 2"),
        _s("T2", "update {t} set value = 12 where id = 1"),
        _s("T1", "commit"),
        _s("T3", "select * from {t}", "t3-read-1"),
        _s("T2", "update {t} set value = 18 where id = 2"),
        _s("T3", "select * from {t}", "t3-read-2"),
        _s("T2", "commit"),
        _s("T3", "select * from {t}", "t3-read-3"),
        _s("T3", "commit"),
    ), _otv, decisive="anomaly when T3 sees T2's 12 together with T1's 19"),
    AnomalyTest("pmp", "PMP", ("T1", "T2"), (
        _s("T1", "select * from {t} where value = 30"),
        _s("T2", "insert into {t} values (3, 30)"),
        _s("T2", "commit"),
        _s("T1", "select * from {t} where value % 3 = 0", "t1-read-2"),
        _s("T1", "commit"),
    ), _pmp, read_only=True, decisive="anomaly when T1's second read returns (3,30)"),
    AnomalyTest("pmp-write", "PMP", ("T1", "T2"), (
        _s("T1", "update {t} set value = value + 10"),
        _s("T2", "select * from {t} where value = 20", "t2-read"),
        _s("T2", "delete from {t} where value = 20", "t2-delete"),
        _s("T1", "commit", "t1-commit"),
        _s("T2", "select * from {t}", "t2-read-all"),
        _s("T2", "commit", "t2-commit"),
    ), _pmp_write, read_only=False,
       decisive="prevented when a transaction aborts or T2's delete removes what its read "
       "matched; anomaly when the delete acts on T1's committed update that the read did not "
       "see"),
    AnomalyTest("p4", "P4", ("T1", "T2"), (
        _s("T1", "select * from {t} where id = 1"),
        _s("T2", "select * from {t} where id = 1"),
        _s("T1", "update {t} set value = 11 where id = 1", "t1-write"),
        _s("T2", "update {t} set value = 11 where id = 1", "t2-write"),
        _s("T1", "commit", "t1-commit"),
        _s("T2", "commit", "t2-commit"),
    ), _both_commit("their updates of id 1, read as 10 by both: one update is lost",
                    ("t1-write", "t2-write")),
       decisive="anomaly when both commit; prevented when a write or commit aborts"),
    AnomalyTest("g-single", "G-single", ("T1", "T2"), (
        _s("T1", "select * from {t} where id = 1"),
        _s("T2", "select * from {t} where id = 1"),
        _s("T2", "select * from {t} where id = 2"),
        _s("T2", "update {t} set value = 12 where id = 1"),
        _s("T2", "update {t} set value = 18 where id = 2"),
        _s("T2", "commit"),
        _s("T1", "select * from {t} where id = 2", "t1-read-2"),
        _s("T1", "commit"),
    ), _read_sees("t1-read-2", (2, 18), "T2's 18 after T1 read 10 (10 + 18 is not 30)"),
       read_only=True, decisive="anomaly when T1 sees 18"),
    AnomalyTest("g-single-dependencies", "G-single", ("T1", "T2"), (
        _s("T1", "select * from {t} where value % 5 = 0"),
        _s("T2", "update {t} set value = 12 where value = 10"),
        _s("T2", "commit"),
        _s("T1", "select * from {t} where value % 3 = 0", "t1-read-2"),
        _s("T1", "commit"),
    ), _read_sees("t1-read-2", (1, 12), "T2's committed (1,12), which T1's first read missed"),
       read_only=True, decisive="anomaly when T1's second read returns (1,12)"),
    AnomalyTest("g-single-write-1", "G-single", ("T1", "T2"), (
        _s("T1", "select * from {t} where id = 1"),
        _s("T2", "select * from {t}"),
        _s("T2", "update {t} set value = 12 where id = 1"),
        _s("T2", "update {t} set value = 18 where id = 2"),
        _s("T2", "commit", "t2-commit"),
        _s("T1", "delete from {t} where value = 20", "t1-delete"),
        _s("T1", "select * from {t} where id = 2"),
        _s("T1", "commit", "t1-commit"),
    ), _g_single_write, read_only=False,
       decisive="anomaly when T1's delete succeeds after T2 committed and both commit"),
    AnomalyTest("g2-item", "G2-item", ("T1", "T2"), (
        _s("T1", "select * from {t} where id in (1, 2)"),
        _s("T2", "select * from {t} where id in (1, 2)"),
        _s("T1", "update {t} set value = 11 where id = 1", "t1-write"),
        _s("T2", "update {t} set value = 21 where id = 2", "t2-write"),
        _s("T1", "commit", "t1-commit"),
        _s("T2", "commit", "t2-commit"),
    ), _both_commit("updates of different rows after reading both: write skew",
                    ("t1-write", "t2-write")), decisive="anomaly when both commit"),
    AnomalyTest("g2", "G2", ("T1", "T2"), (
        _s("T1", "select * from {t} where value % 3 = 0"),
        _s("T2", "select * from {t} where value % 3 = 0"),
        _s("T1", "insert into {t} values (3, 30)", "t1-write"),
        _s("T2", "insert into {t} values (4, 42)", "t2-write"),
        _s("T1", "commit", "t1-commit"),
        _s("T2", "commit", "t2-commit"),
    ), _both_commit("inserts matching the predicate both had read empty",
                    ("t1-write", "t2-write")), decisive="anomaly when both commit"),
)

TEST_IDS = tuple(test.id for test in TESTS)
BY_ID = {test.id: test for test in TESTS}

ANOMALY_CODES = ("G0", "G1a", "G1b", "G1c", "OTV", "PMP", "P4", "G-single", "G2-item", "G2")
"""The roll-up columns, in Hermitage's order."""
