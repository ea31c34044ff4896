"""Parsing of what servers print: sizes, percentages, statuses, statement kinds."""

from __future__ import annotations

import pytest

from rig_job_monitor.parsing import (
    ddl_status,
    import_status,
    parse_percent,
    parse_size,
    statement_kind,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("16B", 16), ("11GB", 11_000_000_000), ("1.194TB", 1_194_000_000_000),
    ("277.5GiB", int(277.5 * 1024**3)), ("4.55GB", 4_550_000_000), ("0B", 0),
    (None, None), ("", None), ("12 conflicts", None), ("-", None),
])
def test_parse_size_reads_tidb_human_sizes(text: str | None, expected: int | None) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("50%", 50.0), ("1", 1.0), ("12.5", 12.5), (" 99.9 % ", 99.9), ("150", 100.0),
    (None, None), ("N/A", None),
])
def test_parse_percent_is_lenient(text: str | None, expected: float | None) -> None:
    assert parse_percent(text) == expected


def test_both_spellings_of_cancelled_are_one_status() -> None:
    assert import_status("cancelled") == import_status("canceled") == "cancelled"
    assert import_status("Finished") == "finished"
    assert import_status("pending") == "pending"
    assert ddl_status("rollback done") == "failed"
    assert ddl_status("synced") == "finished"
    assert ddl_status("queueing") == "pending"
    assert ddl_status("write reorganization?") == "running"


@pytest.mark.parametrize(("sql", "expected"), [
    ("ALTER TABLE db.t ADD COLUMN c INT, ALGORITHM=COPY", ("alter table", "db.t")),
    ("alter online table `my db`.`t``x` engine=InnoDB", ("alter table", "`my db`.`t``x`")),
    ("CREATE UNIQUE INDEX i ON t (a)", ("create index", "t")),
    ("LOAD DATA INFILE '/x.csv' INTO TABLE db.t FIELDS TERMINATED BY ','",
     ("load data", "db.t")),
    ("/* hint */ OPTIMIZE TABLE t", ("optimize table", "t")),
    ("INSERT INTO t2 SELECT * FROM t1", ("insert select", "t2")),
    ("SELECT SLEEP(10)", None),
    ("UPDATE t SET a = 1", None),
])
def test_statement_kind_and_target(sql: str, expected: tuple[str, str] | None) -> None:
    assert statement_kind(sql) == expected
