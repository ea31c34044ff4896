"""The chaos plugin's options, and turning them into a schedule and the server it may hurt."""

from __future__ import annotations

import random

import rig
from rig_chaos.schedule import (
    KINDS,
    NETWORK_KINDS,
    PROCESS_KINDS,
    FaultSpec,
    ScheduleError,
    parse_schedule,
    random_schedule,
)
from rig_chaos.target import LocalServer, SandboxTarget, ServerTarget

PLUGIN = "chaos"
DEFAULT_HORIZON_S = 60.0
"""How far a random nemesis plans without ``--duration`` (it stops with the workload anyway)."""
CONSENT_HINT = ("run with --sandbox, or name a local server you own with --chaos-server-pid PID "
                "--chaos-server-start CMD --chaos-i-own-this-server")


def schedule_text(text: str) -> str:
    """``--chaos``'s value, checked when the options are parsed (before a sandbox starts): a
    malformed piece raises :class:`ValueError` naming it."""
    parse_schedule(text)
    return text


def add_options(parser: rig.OptionParser) -> None:
    """Add ``--chaos`` and the rest to the plugin's help group."""
    group = parser.getgroup(PLUGIN, "chaos plugin: faults injected while the workload runs")
    group.addoption("--chaos", type=schedule_text, metavar="SCHEDULE",
                    help="faults to inject: KIND[=PARAMS]@START[+DURATION], comma-separated, "
                    "times from the workload's start (e.g. 'kill@5s, pause@12s+3s, "
                    f"latency=200ms±50ms@20s+10s'); kinds: {', '.join(KINDS)}")
    group.addoption("--chaos-random", type=rig.types.choice_list(list(KINDS)), metavar="KINDS",
                    help="a random nemesis instead: one fault of these kinds per "
                    "--chaos-interval")
    group.addoption("--chaos-interval", type=rig.types.positive_float, default=5.0,
                    metavar="SECONDS", help="--chaos-random: one fault per this many seconds "
                    "(default: %(default)s)")
    group.addoption("--chaos-fault-duration", type=rig.types.positive_float, default=2.0,
                    metavar="SECONDS", help="--chaos-random: how long each fault lasts "
                    "(default: %(default)s)")
    group.addoption("--chaos-seed", type=rig.types.non_negative_int, metavar="N",
                    help="--chaos-random: the seed (default: drawn, and shown in the report)")
    group.addoption("--chaos-max-recovery", type=rig.types.positive_float, default=30.0,
                    metavar="SECONDS", help="a fault whose recovery takes longer fails the "
                    "run (default: %(default)s)")
    group.addoption("--chaos-server-pid", type=rig.types.positive_int, metavar="PID",
                    help="a local server chaos may kill and pause (needs --chaos-server-start "
                    "and --chaos-i-own-this-server); default: only the --sandbox server")
    group.addoption("--chaos-server-start", metavar="CMD",
                    help="the command that starts that server again, in the foreground")
    group.addoption("--chaos-i-own-this-server", action="store_true",
                    help="consent: chaos may kill, restart and pause --chaos-server-pid")


def schedule(config: rig.Config) -> tuple[list[FaultSpec], int | None]:
    """The faults to inject, and the seed of a random nemesis (``None`` for a fixed one)."""
    text, kinds = config.getoption("chaos"), config.getoption("chaos_random")
    if (text is None) == (kinds is None):
        raise config.invalid("chaos", "give a schedule with --chaos, or --chaos-random KINDS, "
                             "not both" if text else "give a schedule with --chaos (e.g. "
                             "'kill@5s, pause@12s+3s') or --chaos-random KINDS")
    if text is not None:
        try:
            return parse_schedule(text), None
        except ScheduleError as exc:
            raise config.invalid("chaos", str(exc)) from None
    seed = config.getoption("chaos_seed")
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    horizon = config.getoption("duration") or DEFAULT_HORIZON_S
    try:
        return random_schedule(kinds, interval_s=config.getoption("chaos_interval"),
                               fault_duration_s=config.getoption("chaos_fault_duration"),
                               seed=seed, horizon_s=horizon), seed
    except ScheduleError as exc:
        raise rig.UsageError(str(exc)) from None


def target(config: rig.Config, faults: list[FaultSpec]) -> ServerTarget | None:
    """The server process faults may hurt (``None`` when the schedule has none): the run's
    sandbox, or the local server named with explicit consent; anything else is refused."""
    pid, start = config.getoption("chaos_server_pid"), config.getoption("chaos_server_start")
    consent = config.getoption("chaos_i_own_this_server")
    named = [flag for flag, value in (("--chaos-server-pid", pid),
                                      ("--chaos-server-start", start),
                                      ("--chaos-i-own-this-server", consent)) if value]
    if named and len(named) < 3:
        raise rig.UsageError(f"{', '.join(named)} alone does not let chaos hurt a server",
                             hint="give all of --chaos-server-pid PID, --chaos-server-start "
                             "CMD and --chaos-i-own-this-server")
    hurt = sorted({f.kind for f in faults if f.kind in PROCESS_KINDS})
    sandbox = config.stash.get(rig.SANDBOX)
    if named and sandbox is not None:
        raise rig.UsageError("--chaos-server-pid names a server, but --sandbox runs another",
                             hint="drop one of them")
    if sandbox is not None:
        return SandboxTarget(sandbox)
    if named:
        hosts = config.getoption("host")
        if len(hosts) != 1:
            raise rig.UsageError("--chaos-server-pid needs exactly one --host: the server's",
                                 hint="give --host HOST:PORT of that server")
        port = hosts[0].port or config.getoption("port")
        return LocalServer(pid, start, hosts[0].host, port)
    if hurt:
        raise rig.UsageError(f"--chaos {', '.join(hurt)} would hurt a server chaos was not "
                             "given", hint=CONSENT_HINT)
    return None


def needs_proxy(faults: list[FaultSpec]) -> bool:
    """Whether any fault acts on the network."""
    return any(f.kind in NETWORK_KINDS for f in faults)
