"""Drive rig as a library: run a workflow with an in-process plugin, then read the JSON report.

    python examples/drive_rig.py --host 127.0.0.1:3306 --user root
    python examples/drive_rig.py --sandbox          # a throwaway server, removed afterwards

The arguments are rig's options (connection, ``--basic-ping-count N``…); RIG_* variables and
rig.toml apply as they do for the ``rig`` command. ``rig.run(argv)`` is the whole ``rig``
command as a function: it returns the exit code and never raises for a failure a user can
cause. The script runs the basic plugin plus a small observer plugin defined here, prints what
it found, and exits with rig's exit code.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from loguru import logger

import rig


class StateCounter:
    """An in-process plugin (never installed): counts the states each connection enters.

    ``rig_state_enter`` runs in every connection's own thread, hence the lock.
    """

    def __init__(self) -> None:
        self.entered: Counter[str] = Counter()
        self._lock = threading.Lock()

    @rig.hookimpl
    def rig_state_enter(self, ctx: rig.Context, state: str) -> None:
        with self._lock:
            self.entered[ctx.connection_id] += 1

    @rig.hookimpl
    def rig_report(self) -> dict[str, Any]:
        return {"states_entered": dict(self.entered)}


def main(argv: list[str]) -> int:
    counter = StateCounter()
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        console = io.StringIO()  # rig's console summary, kept out of our own output
        # Options before argv are defaults the caller's own arguments override.
        code = rig.run(["--plugin", "basic,state_counter", "--basic-ping-count", "20", *argv,
                        "--report-json", str(report_path)],
                       plugins=[("state_counter", counter)], stdout=console)
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report is None:  # rig stopped before running (a usage error): it said why on stderr
        return code
    for connection in report["connections"]:
        if connection["error"]:
            print(f"{connection['id']}: {connection['error']['message']}")
            continue
        server = connection["server"] or {}
        latency = (report["sections"].get("basic", {}).get(connection["id"]) or {}).get(
            "latency_ms") or {}
        print(f"{connection['id']}: {server.get('flavor')} {server.get('version')}, "
              f"final state {connection['final_state']}, "
              f"median ping {latency.get('median', float('nan')):.3f} ms")
    for check in report["checks"]:
        print(f"  {check['verdict'].upper():5} {check['name']}: {check['detail']}")
    print(f"states entered: {report['sections']['state_counter']['states_entered']}")
    print(f"rig exit code {code} ({rig.ExitCode(code).name})")
    return code


if __name__ == "__main__":
    # rig adds its own log sink (stderr) for the run and leaves the program's alone; loguru's
    # default sink would repeat every line of rig's log, debug included. This program does not
    # use loguru otherwise, so it removes that default sink.
    logger.remove()
    sys.exit(main(sys.argv[1:]))
