"""``rig consistency check FILE``: check a saved history (Jepsen's EDN or elle-cli's JSON
lines) offline. Exit 0 valid, 1 invalid, 6 undecided; a bad file or option is one
``rig: error:`` line, exit 4."""

from __future__ import annotations

import json
from pathlib import Path

import rig
from rig_consistency.checker import MODELS, WORKLOADS, CheckResult, check
from rig_consistency.formats import read_history
from rig_consistency.history import pair

PROG = "rig consistency"


def _timeout(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a number of seconds above 0")
    return value


def _parser() -> rig.ArgumentParser:
    parser = rig.ArgumentParser(PROG, description="check a transactional history for "
                                "anomalies the way Jepsen's Elle does")
    parser.add_argument("action", choices=["check"], help="what to do (check)")
    parser.add_argument("file", help="the history: Jepsen's EDN or JSON lines")
    parser.add_argument("--model", action="append", choices=sorted(MODELS),
                        help="a consistency model the history must satisfy (repeatable; "
                             "default serializable)")
    parser.add_argument("--workload", choices=list(WORKLOADS), default="list-append",
                        help="the history's workload (default list-append)")
    parser.add_argument("--realtime", action="store_true",
                        help="add realtime edges (on by default for strict-serializable)")
    parser.add_argument("--cycle-timeout", type=_timeout, default=1.0, metavar="S",
                        help="seconds of cycle search per strongly connected component "
                             "(default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def run(invocation: rig.Invocation) -> int:
    """Run ``rig consistency check FILE [--model M]... [--workload W] [--realtime]
    [--cycle-timeout S] [--json]``; return 0 (valid), 1 (invalid) or 6 (unknown)."""
    args = _parser().parse(invocation)
    if args is None:
        return 0
    path = invocation.cwd / args.file
    try:
        ops = read_history(path)
    except FileNotFoundError:
        raise rig.UsageError(f"{PROG}: no history file {args.file}",
                             hint="check the path") from None
    except OSError as exc:
        raise rig.UsageError(f"{PROG}: cannot read {args.file} ({exc.strerror})",
                             hint="check the file's permissions") from None
    except ValueError as exc:
        raise rig.UsageError(f"{PROG}: {args.file} is not a history: {exc}",
                             hint="fix that line, or save the history again") from None
    try:
        txns = pair(ops)
        result = check(txns, workload=args.workload, models=args.model or ["serializable"],
                       realtime=True if args.realtime else None,
                       cycle_timeout_s=args.cycle_timeout)
    except ValueError as exc:
        raise rig.UsageError(f"{PROG}: {args.file} cannot be checked as {args.workload}: "
                             f"{exc}", hint="check --workload and the history") from None
    if args.json:
        invocation.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        _print(invocation.terminal, Path(args.file).name, result)
    if result.valid is True:
        return int(rig.ExitCode.OK)
    if result.valid is False:
        return int(rig.ExitCode.CHECK_FAILED)
    return int(rig.ExitCode.UNDECIDED)


def _print(terminal: rig.Terminal, name: str, result: CheckResult) -> None:
    shown = (terminal.style("valid", "green") if result.valid is True else
             terminal.style("invalid", "red") if result.valid is False else
             terminal.style("unknown", "yellow"))
    terminal.line(f"{name}: {shown} for {', '.join(result.models)} "
                  f"({result.txn_count} transactions: {result.ok_count} ok, "
                  f"{result.fail_count} failed, {result.info_count} unknown)")
    if not result.anomaly_types:
        return
    terminal.line(f"anomalies: {', '.join(result.anomaly_types)}")
    terminal.line(f"not: {', '.join(result.not_) or '-'}"
                  + (f" (also not: {', '.join(result.also_not)})" if result.also_not else ""))
    for kind, found in result.anomalies.items():
        count = result.counts[kind]
        more = f" (showing {len(found)})" if count > len(found) else ""
        terminal.line("")
        terminal.line(terminal.style(f"{kind}: {count}{more}", "bold"))
        for anomaly in found:
            for line in anomaly.explanation.split("\n"):
                terminal.line(f"  {line}")


def register(commands: rig.CommandRegistry) -> None:
    """Add ``rig consistency``."""
    commands.add("consistency", run, help="check a history file for anomalies (Elle)")
