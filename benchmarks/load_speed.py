"""How fast the load plugin is, in one run on one MariaDB sandbox (``rig.Sandbox``): rig with
its defaults, rig with each installed driver, a raw loop with each driver, and sysbench
``oltp_point_select`` (prepared statements, and the text protocol), at each connection count;
prints QPS, the client CPU per query, and the ratios ÷ sysbench and ÷ the raw loop.

    .venv/bin/python benchmarks/load_speed.py                      # 1,4,8 connections, 3 rounds
    .venv/bin/python benchmarks/load_speed.py --connections 4 --duration 5 --repeat 5

Every contender runs ``SELECT c FROM `sbtest1` WHERE id=<random>`` on the same table (10 000
rows, prepared once by rig in sysbench's layout). The raw loop is what rig's worker does
without rig: one process per connection (the layout ``--load-processes auto`` picks), the
statement built as rig builds it, ``execute`` + ``fetchall`` in a ``while`` loop that only
counts. Contenders are interleaved (round by round, connection count by connection count) and
each figure is the median of ``--repeat`` rounds, because the machine is shared and noisy.

Client CPU per query: rig's ``client_cpu_us_per_query`` (its own process during the run,
plus its worker threads in worker processes); the raw loop's ``time.process_time`` over the
loop, divided by the queries it ran. On a shared VM the CPU time also grows with contention.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql

import rig

RIG = str(Path(sys.executable).with_name("rig"))
DATABASE = "rig_bench"
DRIVERS = {"pymysql": "pymysql", "mysqlclient": "MySQLdb", "mariadb": "mariadb"}


def installed_drivers() -> list[str]:
    """The drivers that import here."""
    found = []
    for name, module in DRIVERS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        found.append(name)
    return found


def connect(driver: str, host: str, port: int) -> Any:
    """A plain connection of ``driver`` to the benchmark's database (autocommit, no TLS)."""
    if driver == "pymysql":
        return pymysql.connect(host=host, port=port, user="root", database=DATABASE,
                               autocommit=True, ssl_disabled=True)
    if driver == "mysqlclient":
        mysqldb = importlib.import_module("MySQLdb")
        return mysqldb.connect(host=host, port=port, user="root", database=DATABASE,
                               autocommit=True, ssl_mode="DISABLED")
    mariadb = importlib.import_module("mariadb")
    return mariadb.connect(host=host, port=port, user="root", database=DATABASE,
                           autocommit=True)


def raw_loop(driver: str, host: str, port: int, table_size: int, duration: float,
             start: Any, results: Any) -> None:
    """One connection's raw loop: point selects for ``duration`` seconds after ``start``."""
    connection = connect(driver, host, port)
    cursor = connection.cursor()
    execute, fetchall, rnd, perf = cursor.execute, cursor.fetchall, random.random, \
        time.perf_counter
    prefix = "SELECT c FROM `sbtest1` WHERE id="
    start.wait()
    cpu0 = time.process_time()
    done = 0
    end = perf() + duration
    while perf() < end:
        execute(prefix + str(int(rnd() * table_size) + 1))
        fetchall()
        done += 1
    results.put((done, time.process_time() - cpu0))
    connection.close()


def raw(args: argparse.Namespace, box: rig.Sandbox, driver: str,
        connections: int) -> tuple[float, float]:
    """QPS and client CPU µs per query of ``connections`` raw loops, one process each."""
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()
    start = context.Event()
    processes = [context.Process(target=raw_loop, args=(driver, box.host, box.port,
                                                        args.table_size, args.duration,
                                                        start, results))
                 for _ in range(connections)]
    for process in processes:
        process.start()
    time.sleep(0.5)  # every process connected
    start.set()
    done = [results.get() for _ in processes]
    for process in processes:
        process.join()
    queries = sum(count for count, _ in done)
    cpu = sum(seconds for _, seconds in done)
    return queries / args.duration, cpu / max(queries, 1) * 1e6


def rig_base(box: rig.Sandbox, table_size: int) -> list[str]:
    return [RIG, "-q", "--plugin", "load", "--host", box.address, "--user", "root",
            "--database", DATABASE, "--load-table-size", str(table_size)]


def rig_load(args: argparse.Namespace, box: rig.Sandbox, connections: int,
             *extra: str) -> tuple[float, float, dict[str, Any]]:
    """QPS, client CPU µs per query (the whole command) and the report section of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        command = [*rig_base(box, args.table_size), "--load-skip-prepare", "--connections",
                   str(connections), "--load-duration", str(args.duration), *extra,
                   "--report-json", str(report)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        errors = child.stderr.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"rig failed: {errors.strip()}")
        section = json.loads(report.read_text())["sections"]["load"]
        del usage  # start-up included: the report's figure covers the run only
        return float(section["qps"]), float(section["client_cpu_us_per_query"]), section


def sysbench(args: argparse.Namespace, box: rig.Sandbox, connections: int,
             mode: str) -> float | None:
    """sysbench's QPS (``--db-ps-mode=auto|disable``), or None without sysbench."""
    if not shutil.which("sysbench"):
        return None
    command = ["sysbench", "oltp_point_select", f"--mysql-host={box.host}",
               f"--mysql-port={box.port}", "--mysql-user=root", f"--mysql-db={DATABASE}",
               "--mysql-ssl=off", "--tables=1", f"--table-size={args.table_size}",
               f"--threads={connections}", f"--time={int(args.duration)}",
               "--report-interval=0", f"--db-ps-mode={mode}", "run"]
    done = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"sysbench failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return float(found.group(1))


def median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v)
    return known[len(known) // 2] if known else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", default="1,4,8", help="comma-separated counts")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--table-size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds per connection count; the median is shown")
    parser.add_argument("--drivers", default=",".join(installed_drivers()),
                        help="drivers for rig and the raw loop (default: those installed)")
    parser.add_argument("--no-sysbench", action="store_true")
    parser.add_argument("--ray", action="store_true",
                        help="also rig --load-executor ray (a local Ray instance per run)")
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    driver_names = [d for d in args.drivers.split(",") if d]
    with rig.Sandbox() as box:
        admin = pymysql.connect(host=box.host, port=box.port, user="root", autocommit=True)
        admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
        admin.close()
        subprocess.run([*rig_base(box, args.table_size), "--load-prepare-only",
                        "--keep-tables"], check=True, capture_output=True)
        print(f"# point-select on {box.kind} {box.binary} (sandbox), table of "
              f"{args.table_size} rows, {os.cpu_count()} CPUs; QPS = median of {args.repeat} "
              f"rounds of {args.duration:g}s, contenders interleaved; cpu = client CPU "
              "µs per query", flush=True)
        for connections in counts:
            rounds: dict[str, list[float | None]] = {}
            cpus: dict[str, list[float | None]] = {}
            decided = ""
            for _ in range(args.repeat):
                qps, cpu, section = rig_load(args, box, connections)
                decided = f"{section['driver']}, processes {section['processes']}"
                rounds.setdefault("rig defaults", []).append(qps)
                cpus.setdefault("rig defaults", []).append(cpu)
                for driver in driver_names:
                    qps, cpu, _ = rig_load(args, box, connections, "--load-driver", driver)
                    rounds.setdefault(f"rig {driver}", []).append(qps)
                    cpus.setdefault(f"rig {driver}", []).append(cpu)
                    qps, cpu = raw(args, box, driver, connections)
                    rounds.setdefault(f"raw {driver}", []).append(qps)
                    cpus.setdefault(f"raw {driver}", []).append(cpu)
                if args.ray:
                    qps, cpu, _ = rig_load(args, box, connections, "--load-executor", "ray")
                    rounds.setdefault("rig ray", []).append(qps)
                    cpus.setdefault("rig ray", []).append(cpu)
                if not args.no_sysbench:
                    for mode, name in (("auto", "sysbench ps"), ("disable", "sysbench text")):
                        rounds.setdefault(name, []).append(sysbench(args, box, connections,
                                                                    mode))
            qps_of = {name: median(values) for name, values in rounds.items()}
            sb = qps_of.get("sysbench ps")
            print(f"\n## {connections} connection(s); rig defaults = {decided}")
            print(f"{'client':<16}{'QPS':>9}{'cpu µs/q':>10}{'÷ sysbench':>12}"
                  f"{'÷ sb text':>11}{'÷ raw loop':>12}")
            for name, qps in qps_of.items():
                driver = decided.split(",")[0] if name in ("rig defaults", "rig ray") \
                    else name.split()[-1]
                raw_qps = qps_of.get(f"raw {driver}") if name.startswith("rig") else None
                cpu = median(cpus.get(name, [None]))
                print(f"{name:<16}{qps or 0:>9.0f}{(f'{cpu:.1f}' if cpu else '-'):>10}"
                      f"{ratio(qps, sb):>12}{ratio(qps, qps_of.get('sysbench text')):>11}"
                      f"{ratio(qps, raw_qps):>12}", flush=True)


if __name__ == "__main__":
    main()
