"""History files: the fast EDN path (a translation to JSON) reads exactly what the full EDN
tokenizer reads, and what the writers wrote."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from rig_consistency import formats
from rig_consistency.history import Mop, Op

HISTORIES = Path(__file__).parent / "histories"


KEYS = [7, -3, "x", "y-2", "k_3", "nil-ish", "a.b/c", "truth", "true-ish", "x1"]


def generated(count: int, seed: int, keys: list[int | str]) -> list[Op]:
    rng = random.Random(seed)
    ops, index = [], 0
    for number in range(count):
        keys = [rng.choice(keys) for _ in range(rng.randint(1, 4))]
        mops = tuple(Mop("append", k, number) if rng.random() < 0.5 else
                     Mop("r", k, None) for k in keys)
        done = tuple(Mop("r", m.key, tuple(rng.randrange(100) for _ in range(rng.randrange(4)))
                         if rng.random() < 0.8 else None) if m.f == "r" else m for m in mops)
        process = rng.randrange(5)
        outcome = rng.choice(["ok", "ok", "fail"])
        ops.append(Op(index, "invoke", process, index * 10 - 7, mops))
        ops.append(Op(index + 1, outcome, process, index * 10, done if outcome == "ok" else mops))
        index += 2
    return ops


def edn(ops: list[Op]) -> str:
    buffer = io.StringIO()
    formats.write_edn(ops, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("source", [*sorted(p.name for p in HISTORIES.glob("*.edn")),
                                    "integers", "keywords"])
def test_the_fast_path_reads_what_the_tokenizer_reads(source: str) -> None:
    if source == "integers":
        text = edn(generated(300, 5, list(range(-5, 50))))
    elif source == "keywords":
        text = edn(generated(300, 5, KEYS))
    else:
        text = (HISTORIES / source).read_text()
    fast = formats._fast_edn(text)
    if source in ("integers", "keywords"):
        assert fast is not None  # what rig writes, and plain keywords, take the fast path
    if fast is not None:
        assert fast == list(formats._edn_forms(text))


def test_a_keyword_ending_in_nil_takes_the_tokenizer() -> None:
    text = edn(generated(5, 1, ["x-nil"]))
    assert formats._fast_edn(text) is None
    assert {m.key for op in formats.parse_history(text) for m in op.value} == {"x-nil"}


def test_what_the_writers_write_reads_back_the_same() -> None:
    ops = generated(300, 6, KEYS)
    for write in (formats.write_edn, formats.write_jsonl):
        buffer = io.StringIO()
        write(ops, buffer)
        assert formats.parse_history(buffer.getvalue()) == ops
