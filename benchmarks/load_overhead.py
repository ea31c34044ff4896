"""rig's own client CPU per event: the load worker's loop (timing, histogram recording,
interval hand-over, the reporter) against a raw loop with the same driver, on one connection
of a MariaDB sandbox, each in a fresh process, interleaved; CPU = ``time.process_time`` of
the whole process over the loop, so everything rig runs beside the loop counts.

    .venv/bin/python benchmarks/load_overhead.py [--driver mysqlclient] [--seconds 3]
        [--rounds 5] [--before DIR]

``--driver null``: no server, a cursor that does nothing: what rig's loop costs per event by
itself (a CPU-bound figure, far less noisy than a real driver's on a shared machine); shown as
the minimum of the rounds too.

``--before DIR``: also measure the ``rig_load`` package found in ``DIR`` (a checkout's
``plugins/load``, e.g. from ``git worktree add``), to compare two versions side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import pymysql

import rig

DATABASE = "rig_bench"

CHILD = r'''
import json, random, sys, time, importlib
kind, driver_name, host = sys.argv[1:4]
port, seconds = int(sys.argv[4]), float(sys.argv[5])
import rig
settings = rig.ConnectionSettings(host, port, "root", ssl_mode=rig.SslMode.DISABLED)
from rig_load import drivers
class NullCursor:
    def execute(self, sql, args=None): pass
    def fetchall(self): return ()
    def close(self): pass
class NullConnection:
    def cursor(self): return NullCursor()
    def close(self): pass
def load(name):
    if name == "null":  # no server: what rig's loop costs by itself
        return drivers.Driver("null", (OSError,), lambda settings: NullConnection())
    return drivers.load(name)
if kind == "raw":
    raw = load(driver_name).connect(settings)
    cursor = raw.cursor()
    cursor.execute("USE rig_bench")
    execute, fetchall, rnd, perf = cursor.execute, cursor.fetchall, random.random, time.perf_counter
    prefix = "SELECT c FROM `sbtest1` WHERE id="
    cpu0 = time.process_time(); done = 0; end = perf() + seconds
    while perf() < end:
        execute(prefix + str(int(rnd() * 10000) + 1))
        fetchall()
        done += 1
    print(json.dumps({"events": done, "cpu": time.process_time() - cpu0}))
    sys.exit(0)
from rig_load.plan import Plan
from rig_load.run import LoadRun
from rig_load.worker import DriverLink, Worker
from rig_load.workloads import BUILTIN
from loguru import logger
class Quiet:
    def interval(self, record): pass
    def close(self): pass
workload = {w.name: w for w in BUILTIN}["point-select"]
driver = load(driver_name)
try:
    link = DriverLink("c1", settings, "rig_bench", driver, log=logger, cancelled=lambda: False,
                      retry_policy=rig.RetryPolicy(), breaker=None)
except TypeError:
    link = DriverLink("c1", settings, "rig_bench", driver, log=logger, cancelled=lambda: False)
plan = Plan(time.perf_counter() + 0.2, 0.0, seconds, 1.0, ("c1",))
run = LoadRun(plan, workload, Quiet())
worker = Worker(link, run, tables=["sbtest1"], table_size=10000)
cpu0 = time.process_time()
worker.run()
run.finish(worker.stats)
cpu = time.process_time() - cpu0
run.close()
print(json.dumps({"events": worker.stats.events, "cpu": cpu}))
'''


def measure(kind: str, driver: str, box: rig.Sandbox, seconds: float,
            path: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    done = subprocess.run([sys.executable, "-c", CHILD, kind, driver, box.host, str(box.port),
                           str(seconds)], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driver", default="mysqlclient")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="a plugins/load directory of another version")
    args = parser.parse_args()
    contenders: list[tuple[str, str, str | None]] = [("raw loop", "raw", None),
                                                     ("rig worker", "rig", None)]
    if args.before:
        contenders.append(("rig worker (before)", "rig", args.before))
    with rig.Sandbox() as box:
        admin = pymysql.connect(host=box.host, port=box.port, user="root", autocommit=True)
        admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
        admin.close()
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "rig"), "-q", "--plugin",
                        "load", "--host", box.address, "--user", "root", "--database",
                        DATABASE, "--load-prepare-only", "--keep-tables"], check=True,
                       capture_output=True)
        per: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
        for _ in range(args.rounds):
            for name, kind, path in contenders:
                result = measure(kind, args.driver, box, args.seconds, path)
                per[name].append(result["cpu"] / max(result["events"], 1) * 1e6)
                time.sleep(0.2)
    raw = sorted(per["raw loop"])[len(per["raw loop"]) // 2]
    raw_min = min(per["raw loop"])
    print(f"# client CPU µs per event, point-select, {args.driver}, 1 connection, median of "
          f"{args.rounds} rounds of {args.seconds:g}s, interleaved")
    for name, values in per.items():
        value = sorted(values)[len(values) // 2]
        print(f"{name:<22}{value:8.2f} µs   ÷ raw loop {value / raw:.3f}   min "
              f"{min(values):.3f} µs (÷ {min(values) / raw_min:.3f}, + "
              f"{min(values) - raw_min:.3f} µs)   rounds: "
              f"{', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()
