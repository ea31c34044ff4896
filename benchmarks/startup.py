"""Wall time of rig's fast paths, measured side by side with pytest's in one run, and the
start time of the sandbox server.

    .venv/bin/python benchmarks/startup.py [--runs 20] [--sandbox-runs 5]

Each command runs ``--runs`` times in turn (interleaved, so machine noise hits all alike);
prints min and median wall time and each command's ratio to ``pytest --version``; then starts
and stops a sandbox ``--sandbox-runs`` times (initialise a data directory, start, first login).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "pytest --version": [str(BIN / "pytest"), "--version"],
    "rig --version": [str(BIN / "rig"), "--version"],
    "pytest --help": [str(BIN / "pytest"), "--help"],
    "rig --help": [str(BIN / "rig"), "--help"],
    "rig plugins": [str(BIN / "rig"), "plugins"],
    "python -c pass": [sys.executable, "-c", "pass"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sandbox-runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["pytest --version"])
    print(f"{'command':<18} {'min ms':>8} {'median ms':>10} {'÷ pytest --version':>20}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<18} {min(values) * 1000:8.0f} {median * 1000:10.0f} {median / base:20.2f}")
    if args.sandbox_runs:
        import rig

        starts, stops = [], []
        for _ in range(args.sandbox_runs):
            box = rig.Sandbox()
            box.start()
            began = time.perf_counter()
            box.stop()
            starts.append(box.start_seconds)
            stops.append(time.perf_counter() - began)
        print(f"sandbox {box.kind}: start min {min(starts):.2f}s median "
              f"{statistics.median(starts):.2f}s, stop median {statistics.median(stops):.2f}s "
              f"({args.sandbox_runs} runs)")


if __name__ == "__main__":
    main()
