"""What merging the workers' histograms costs rig's process per report interval with
``--load-executor ray``: each actor ships one histoblob per interval; rig decodes it and adds it
to the interval's histogram. Measures the histoblob's size and the decode + add time for
realistic intervals, and prints the cost per interval for 10 to 10 000 actors (the figures
docs/load-ray.md reasons from).

    .venv/bin/python benchmarks/ray_merge.py
    .venv/bin/python benchmarks/ray_merge.py --events 1000,30000 --rounds 200

An interval's latencies are drawn from a log-normal distribution (median 0.3 ms, a tail to
hundreds of ms) with ``--events`` samples per actor, as an actor of a few connections records
in one second at that rate.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter

from rig_load.histogram import LatencyHistogram


def interval(events: int, rng: random.Random) -> LatencyHistogram:
    """One actor's interval: ``events`` latencies in µs."""
    histogram = LatencyHistogram()
    histogram.record_counts(Counter(int(rng.lognormvariate(5.7, 0.9)) + 1
                                    for _ in range(events)))
    return histogram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="1000,10000,100000",
                        help="samples per actor per interval, comma-separated")
    parser.add_argument("--rounds", type=int, default=100, help="blobs timed per size")
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'events/actor':>12}{'blob bytes':>12}{'encode µs':>11}{'decode+add µs':>15}"
          f"{'10 actors':>11}{'100':>9}{'1 000':>9}{'10 000':>9}   (ms per interval)")
    for events in (int(e) for e in args.events.split(",")):
        samples = [interval(events, rng) for _ in range(8)]
        blobs, encode_s, merge_s = [], [], []
        for number in range(args.rounds):
            histogram = samples[number % len(samples)]
            began = time.perf_counter()
            blob = histogram.encode()
            encode_s.append(time.perf_counter() - began)
            blobs.append(blob)
        total = LatencyHistogram()
        for blob in blobs:
            began = time.perf_counter()
            total.add(LatencyHistogram.decode(blob))
            merge_s.append(time.perf_counter() - began)
        merge_us = statistics.median(merge_s) * 1e6
        size = statistics.median(len(blob) for blob in blobs)
        per_interval = "".join(f"{merge_us * actors / 1000:>{width}.1f}"
                               for actors, width in ((10, 11), (100, 9), (1000, 9),
                                                     (10000, 9)))
        print(f"{events:>12}{size:>12.0f}{statistics.median(encode_s) * 1e6:>11.0f}"
              f"{merge_us:>15.0f}{per_interval}")


if __name__ == "__main__":
    main()
