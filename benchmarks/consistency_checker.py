"""Time of the consistency checker on large generated list-append histories: write the history
as EDN, parse it back, pair it, check it.

    .venv/bin/python benchmarks/consistency_checker.py [--txns 100000] [--seed 1]

Three histories, simulated in memory with a seed: a serializable concurrent execution (each
transaction takes effect atomically between its invocation and its completion; Elle's
generator shape: 1-4 micro-operations, 10 active keys drawn exponentially, a key retired after
``--writes-per-key`` appends, 32 as Elle's default); the same with reads taken a few
transactions before the appends (snapshot-like: lost updates and G-single/G2 cycles in many
small components); and one huge strongly connected component (two keys, 100 processes, stale
reads, a key retired after 1000 appends), whose cycle search is bounded by
``--cycle-timeout``. Prints the seconds of each phase and what the check found.
"""

from __future__ import annotations

import argparse
import io
import random
import time

from rig_consistency.checker import check
from rig_consistency.formats import parse_history, write_edn
from rig_consistency.history import Mop, Op, pair


def generate(count: int, seed: int, *, processes: int = 10, keys: int = 10,
             stale_reads: bool = False, budget: int = 32) -> list[Op]:
    """A list-append history of ``count`` transactions."""
    rng = random.Random(seed)
    active = list(range(keys))
    written = dict.fromkeys(active, 0)
    state: dict[int, list[int]] = {k: [] for k in active}
    snapshots: list[dict[int, int]] = []  # per txn: the length of every list at invocation
    events: list[tuple[int, int, Op]] = []
    next_key = keys
    spread = 5 * processes - 1
    for i in range(count):
        at = i * 10
        invoke = at - rng.randint(1, spread)
        complete = at + rng.randint(1, spread)
        process = i % processes
        mops: list[Mop] = []
        done: list[Mop] = []
        snapshots.append({k: len(v) for k, v in state.items()} if stale_reads else {})
        # stale reads: what a transaction invoked a few transactions ago would have seen
        lengths = snapshots[max(0, i - rng.randint(0, processes))]
        for _ in range(rng.randint(1, 4)):
            slot = min(int(rng.expovariate(0.5)), len(active) - 1)
            key = active[slot]
            if rng.random() < 0.5:
                mops.append(Mop("r", key, None))
                seen = state[key]
                if stale_reads and key in lengths:  # the snapshot, plus its own appends
                    seen = seen[:lengths[key]] + [m.value for m in mops  # type: ignore[misc]
                                                  if m.f == "append" and m.key == key]
                done.append(Mop("r", key, tuple(seen)))  # type: ignore[arg-type]
            else:
                written[key] += 1
                value = written[key]
                mops.append(Mop("append", key, value))
                done.append(mops[-1])
                state[key].append(value)
                if written[key] >= budget:
                    active[slot] = next_key
                    written[next_key] = 0
                    state[next_key] = []
                    next_key += 1
        events.append((invoke, 0, Op(0, "invoke", process, invoke, tuple(mops))))
        events.append((complete, 1, Op(0, "ok", process, complete, tuple(done))))
    events.sort(key=lambda e: (e[0], e[1]))
    return [Op(n, op.type, op.process, op.time, op.value) for n, (_, _, op) in
            enumerate(events)]


def measure(label: str, ops: list[Op], timeout: float) -> None:
    """Write, parse, pair and check ``ops``; print the phases' seconds."""
    buffer = io.StringIO()
    write_edn(ops, buffer)
    text = buffer.getvalue()
    start = time.perf_counter()
    parsed = parse_history(text)
    parsed_at = time.perf_counter()
    txns = pair(parsed)
    paired_at = time.perf_counter()
    result = check(txns, cycle_timeout_s=timeout)
    done_at = time.perf_counter()
    print(f"{label}: {len(txns)} txns, {len(text) / 1e6:.1f} MB EDN; parse "
          f"{parsed_at - start:.2f} s, pair {paired_at - parsed_at:.2f} s, check "
          f"{done_at - paired_at:.2f} s, total {done_at - start:.2f} s; valid {result.valid}, "
          f"{dict(result.counts)}")
    timeouts = result.anomalies.get("cycle-search-timeout", [])
    for anomaly in timeouts:
        print(f"  cycle-search-timeout: {anomaly.data}")


def main() -> None:
    """Generate, time and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txns", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cycle-timeout", type=float, default=1.0)
    parser.add_argument("--writes-per-key", type=int, default=32)
    args = parser.parse_args()
    measure("serializable", generate(args.txns, args.seed, budget=args.writes_per_key),
            args.cycle_timeout)
    measure("stale reads", generate(args.txns, args.seed, stale_reads=True,
                                    budget=args.writes_per_key), args.cycle_timeout)
    measure("huge SCC", generate(args.txns // 20, args.seed, processes=100, keys=2,
                                 stale_reads=True, budget=1000), args.cycle_timeout)


if __name__ == "__main__":
    main()
