"""The generator: Elle's transaction shape, reproducible from a seed."""

from __future__ import annotations

from collections import Counter

from rig_consistency.generator import Generator, Shape


def draw(generator: Generator, n: int) -> list[tuple]:
    return [generator.next() for _ in range(n)]


def test_the_same_seed_gives_the_same_transactions_and_another_seed_others() -> None:
    assert draw(Generator("list-append", 42), 200) == draw(Generator("list-append", 42), 200)
    assert draw(Generator("list-append", 42), 200) != draw(Generator("list-append", 43), 200)


def test_transactions_have_the_shapes_length_and_values_are_unique_per_key() -> None:
    txns = draw(Generator("list-append", 1, Shape(min_length=2, max_length=3)), 2000)

    assert {len(txn) for txn in txns} == {2, 3}
    writes = [(mop.key, mop.value) for txn in txns for mop in txn if mop.f == "append"]
    assert len(writes) == len(set(writes))
    assert {mop.f for txn in txns for mop in txn} == {"r", "append"}
    assert all(mop.value is None for txn in txns for mop in txn if mop.f == "r")


def test_a_key_is_retired_after_its_write_budget() -> None:
    shape = Shape(key_count=3, max_writes_per_key=5)
    txns = draw(Generator("list-append", 3, shape), 3000)

    writes = Counter(mop.key for txn in txns for mop in txn if mop.f == "append")
    assert max(writes.values()) == 5
    assert len(writes) > 100  # fresh keys keep coming
    values: dict[int, list[int]] = {}
    for txn in txns:
        for mop in txn:
            if mop.f == "append":
                values.setdefault(mop.key, []).append(mop.value)
    assert all(v == list(range(1, len(v) + 1)) for v in values.values())


def test_keys_are_drawn_exponentially_from_the_active_pool() -> None:
    shape = Shape(key_count=4, max_writes_per_key=10**9)
    txns = draw(Generator("list-append", 5, shape), 5000)

    counts = Counter(mop.key for txn in txns for mop in txn)
    assert counts[3] > counts[2] > counts[1] > counts[0] > 0  # base 2: 8:4:2:1


def test_rw_register_writes_registers() -> None:
    txns = draw(Generator("rw-register", 9), 100)

    assert {mop.f for txn in txns for mop in txn} == {"r", "w"}
