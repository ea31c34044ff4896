"""Point-select throughput on one local server, in one run: a raw PyMySQL loop (threads, and
separate processes), rig's load plugin (threads, and ``--load-processes``; with PyMySQL, and
with ``--load-driver mysqlclient`` when MySQLdb is installed), and sysbench
``oltp_point_select`` when installed, at the same connection counts; prints the figures and the
ratios.

    .venv/bin/python benchmarks/point_select.py --host 127.0.0.1:3306 --user root
    .venv/bin/python benchmarks/point_select.py --connections 1,4,8 --duration 10 --repeat 3
    .venv/bin/python benchmarks/point_select.py --memory   # peak RSS, 10 s vs 100 s run

Every contender runs ``SELECT c FROM sbtest1 WHERE id=<random>`` on the same table, prepared
once by rig (``--load-prepare-only --keep-tables``, sysbench's layout) in the database
``--database``, which the benchmark creates (it refuses one that exists) and drops at the
end. The raw loops build the statement exactly as rig does, so the ratio measures rig's own
overhead. sysbench uses server-side prepared statements by default; ``sb-text`` runs it with
``--db-ps-mode=disable``, the text protocol PyMySQL uses. Contenders are interleaved and each
figure is the median of ``--repeat`` rounds, because a shared machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pymysql

RIG = str(Path(sys.executable).with_name("rig"))


def connect(args: argparse.Namespace) -> Any:
    return pymysql.connect(host=args.host, port=args.port, user=args.user,
                           password=args.password, database=args.database, autocommit=True)


def raw_loop(args: argparse.Namespace, duration: float, counts: list[int], slot: int) -> None:
    """One raw PyMySQL connection: point selects until ``duration`` has passed."""
    connection = connect(args)
    cursor = connection.cursor()
    execute, fetchall, rnd = cursor.execute, cursor.fetchall, random.random
    size, prefix = args.table_size, "SELECT c FROM `sbtest1` WHERE id="
    done = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        execute(prefix + str(int(rnd() * size) + 1))
        fetchall()
        done += 1
    counts[slot] = done
    connection.close()


def raw_threads(args: argparse.Namespace, connections: int) -> float:
    counts = [0] * connections
    threads = [threading.Thread(target=raw_loop, args=(args, args.duration, counts, i))
               for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / float(args.duration)


def _process_main(args: argparse.Namespace, results: Any) -> None:
    counts = [0]
    raw_loop(args, args.duration, counts, 0)
    results.put(counts[0])


def raw_processes(args: argparse.Namespace, connections: int) -> float:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_process_main, args=(args, results))
                 for _ in range(connections)]
    for process in processes:
        process.start()
    total = int(sum(results.get() for _ in processes))
    for process in processes:
        process.join()
    return total / float(args.duration)


def rig_command(args: argparse.Namespace, *extra: str) -> list[str]:
    return [RIG, "-q", "--plugin", "load", "--host", f"{args.host}:{args.port}", "--user",
            args.user, "--database", args.database, "--load-table-size",
            str(args.table_size), *extra]


def rig_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIG_")}
    if args.password:
        env["RIG_PASSWORD"] = args.password
    return env


def has_mysqlclient() -> bool:
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        return False
    return True


def rig_load(args: argparse.Namespace, connections: int, duration: float | None = None,
             processes: int = 1, driver: str = "pymysql") -> tuple[float, int]:
    """rig's QPS (from its JSON report) and the peak RSS of the rig process in KiB (worker
    processes not included)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        command = rig_command(args, "--load-skip-prepare", "--load-workload", "point-select",
                              "--connections", str(connections), "--load-duration",
                              str(duration or args.duration), "--load-processes",
                              str(processes), "--load-driver", driver,
                              "--report-json", str(report))
        child = subprocess.Popen(command, env=rig_env(args), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        errors = child.stderr.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"rig failed ({child.returncode}): {errors.strip()}")
        section = json.loads(report.read_text())["sections"]["load"]
        return float(section["qps"]), int(usage.ru_maxrss)


def sysbench(args: argparse.Namespace, connections: int, *extra: str) -> float | None:
    if not shutil.which("sysbench"):
        return None
    command = ["sysbench", "oltp_point_select", f"--mysql-host={args.host}",
               f"--mysql-port={args.port}", f"--mysql-user={args.user}",
               f"--mysql-password={args.password}", f"--mysql-db={args.database}",
               "--tables=1", f"--table-size={args.table_size}", f"--threads={connections}",
               f"--time={int(args.duration)}", "--report-interval=0", *extra, "run"]
    done = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"sysbench failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return float(found.group(1))


def create_database(args: argparse.Namespace) -> None:
    """Create ``--database``; one that exists is not the benchmark's to fill and drop."""
    admin = pymysql.connect(host=args.host, port=args.port, user=args.user,
                            password=args.password, autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{args.database}`")
    except pymysql.err.ProgrammingError as exc:
        if exc.args[0] != 1007:  # ER_DB_CREATE_EXISTS
            raise
        raise SystemExit(f"database {args.database!r} exists; the benchmark creates and drops "
                         "its own: choose another --database") from None
    finally:
        admin.close()


def prepare(args: argparse.Namespace) -> None:
    done = subprocess.run(rig_command(args, "--load-prepare-only", "--keep-tables"),
                          env=rig_env(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"rig --load-prepare-only failed: {done.stderr.strip()}")


def drop(args: argparse.Namespace) -> None:
    """Drop ``--database`` (the benchmark created it)."""
    admin = pymysql.connect(host=args.host, port=args.port, user=args.user,
                            password=args.password, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{args.database}`")
    admin.close()


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v)
    return known[len(known) // 2] if known else None


def measure_once(args: argparse.Namespace, connections: int) -> dict[str, float | None]:
    myc = has_mysqlclient()
    return {
        "raw-thr": raw_threads(args, connections),
        "raw-proc": raw_processes(args, connections),
        "rig": rig_load(args, connections)[0],
        "rig-proc": rig_load(args, connections, processes=connections)[0]
        if connections > 1 else None,
        "rig-myc": rig_load(args, connections, driver="mysqlclient")[0] if myc else None,
        "rig-mycP": rig_load(args, connections, processes=connections,
                             driver="mysqlclient")[0] if myc and connections > 1 else None,
        "sysbench": sysbench(args, connections),
        "sb-text": sysbench(args, connections, "--db-ps-mode=disable"),
    }


def throughput(args: argparse.Namespace) -> None:
    counts = [int(c) for c in args.connections.split(",")]
    print(f"# point-select QPS, median of {args.repeat} rounds of {args.duration:g}s per "
          f"contender (contenders interleaved), table of {args.table_size} rows, "
          f"{os.cpu_count()} CPUs, server {args.host}:{args.port}")
    names = ("raw-thr", "raw-proc", "rig", "rig-proc", "rig-myc", "rig-mycP", "sysbench",
             "sb-text")
    header = ("conns", *names, "rig/raw", "rigP/rawP", "rig/sysb", "rigP/sysb", "myc/sysb",
              "mycP/sysb", "rig/sbtext")
    print(" ".join(f"{h:>10}" for h in header))
    print("# rig-proc: rig --load-processes N (one process per connection); rigP = rig-proc, "
          "or rig at 1 connection; rawP = raw-proc; rig-myc: rig --load-driver mysqlclient; "
          "rig-mycP: both; mycP = rig-mycP, or rig-myc at 1 connection")
    for connections in counts:
        rounds = [measure_once(args, connections) for _ in range(args.repeat)]
        qps = {name: median([r[name] for r in rounds]) for name in names}
        cells = [f"{qps[name]:.0f}" if qps[name] else "-" for name in names]
        best_rig = qps["rig-proc"] or qps["rig"]
        best_myc = qps["rig-mycP"] or qps["rig-myc"]
        ratios = [ratio(qps["rig"], qps["raw-thr"]), ratio(best_rig, qps["raw-proc"]),
                  ratio(qps["rig"], qps["sysbench"]), ratio(best_rig, qps["sysbench"]),
                  ratio(qps["rig-myc"], qps["sysbench"]), ratio(best_myc, qps["sysbench"]),
                  ratio(qps["rig"], qps["sb-text"])]
        print(" ".join(f"{cell:>10}" for cell in (str(connections), *cells, *ratios)),
              flush=True)


def memory(args: argparse.Namespace) -> None:
    connections = int(args.connections.split(",")[-1])
    short_qps, short_rss = rig_load(args, connections, 10)
    long_qps, long_rss = rig_load(args, connections, 100)
    print(f"# peak RSS of rig --plugin load, {connections} connections")
    print(f"10 s run:  {short_rss / 1024:.1f} MiB ({short_qps:.0f} qps)")
    print(f"100 s run: {long_rss / 1024:.1f} MiB ({long_qps:.0f} qps)")
    print(f"ratio 100 s / 10 s: {long_rss / short_rss:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1:3306", help="HOST:PORT (loopback)")
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default=os.environ.get("RIG_PASSWORD", ""))
    parser.add_argument("--database", default="rig_bench")
    parser.add_argument("--connections", default="1,4,8", help="comma-separated counts")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--table-size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds per connection count; the median is shown")
    parser.add_argument("--memory", action="store_true",
                        help="compare rig's peak RSS over a 10 s and a 100 s run instead")
    args = parser.parse_args()
    host, _, port = args.host.partition(":")
    args.host, args.port = host, int(port or 3306)
    create_database(args)
    try:
        prepare(args)
        memory(args) if args.memory else throughput(args)
    finally:
        drop(args)


if __name__ == "__main__":
    main()
