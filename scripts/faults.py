"""Run rig against a throwaway server and hurt the server in the middle: what docs/faults.md
reports was observed with this script.

    .venv/bin/python scripts/faults.py kill --when '→ basic_measuring_latency' -- \
        --plugin basic --connections 8 --basic-ping-count 1000000
    .venv/bin/python scripts/faults.py restart --when 'load_running' --after 1 -- \
        --plugin load --load-duration 6 --load-table-size 1000
    .venv/bin/python scripts/faults.py pause --down 3 --when 'load_running' --after 1 -- \
        --plugin load --load-duration 8 --load-table-size 1000

FAULT is ``kill`` (SIGKILL, the server stays down), ``restart`` (SIGKILL, then started again
at once on the same port and data), ``down`` (SIGKILL, started again after ``--down``
seconds) or ``pause`` (SIGSTOP for ``--down`` seconds, then SIGCONT). The fault is injected
``--after`` seconds after a line of rig's debug log matches ``--when`` (a regular
expression). rig runs as ``.venv/bin/rig --host ADDRESS --user root --log-level debug
--report-json FILE ARGS``; the script prints the exit code, the ``rig: error:`` lines, the
summary and the report's section of each plugin.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rig.db.sandbox import Sandbox

RIG = str(Path(sys.executable).with_name("rig"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fault", choices=("kill", "restart", "down", "pause"))
    parser.add_argument("--when", required=True, metavar="REGEX",
                        help="inject the fault once a line of rig's log matches")
    parser.add_argument("--after", type=float, default=0.0, metavar="SECONDS",
                        help="then wait this long first (default: %(default)s)")
    parser.add_argument("--down", type=float, default=3.0, metavar="SECONDS",
                        help="how long 'down' and 'pause' last (default: %(default)s)")
    parser.add_argument("--sections", default="", metavar="NAME[,NAME]",
                        help="report sections to print (default: none)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    rig_args = argv[split + 1:]
    with Sandbox() as box, tempfile.TemporaryDirectory(prefix="rig-faults-") as work:
        report = Path(work) / "report.json"
        command = [RIG, "--host", box.address, "--user", box.user, "--log-level", "debug",
                   "--report-json", str(report), *rig_args]
        print("$ rig " + " ".join(command[1:]), flush=True)
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        matched = threading.Event()
        errors: list[str] = []
        stdout: list[str] = []

        def read_err() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                if not matched.is_set() and re.search(args.when, line):
                    matched.set()
                if line.startswith("rig: "):
                    errors.append(line.rstrip("\n"))

        def read_out() -> None:
            assert process.stdout is not None
            stdout.extend(process.stdout)

        readers = [threading.Thread(target=read_err), threading.Thread(target=read_out)]
        for reader in readers:
            reader.start()
        while not matched.wait(0.05):
            if process.poll() is not None:
                break
        if matched.is_set():
            time.sleep(args.after)
            at = time.monotonic() - began
            print(f"fault: {args.fault} at {at:.2f}s", flush=True)
            if args.fault == "kill":
                box.kill()
            elif args.fault == "restart":
                box.restart(crash=True)
            elif args.fault == "down":
                box.kill()
                time.sleep(args.down)
                box.revive()
            else:
                box.pause()
                time.sleep(args.down)
                box.resume()
            print(f"fault: over at {time.monotonic() - began:.2f}s", flush=True)
        else:
            print("fault: not injected (the run ended before --when matched)")
        code = process.wait()
        for reader in readers:
            reader.join()
        print(f"exit {code} after {time.monotonic() - began:.2f}s")
        for line in errors:
            print(line)
        print("".join(stdout), end="")
        if report.exists() and args.sections:
            data = json.loads(report.read_text())
            for name in args.sections.split(","):
                print(f"sections.{name} =", json.dumps(data["sections"].get(name), indent=1)[:4000])
        return 0


if __name__ == "__main__":
    sys.exit(main())
