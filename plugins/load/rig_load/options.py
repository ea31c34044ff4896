"""The load plugin's options (``--load-<name>``, the naming rule), read once into a typed
object."""

from __future__ import annotations

import os
from dataclasses import dataclass

import rig
from rig_load import drivers, ray_pool

PLUGIN = "load"
DEFAULT_DATABASE = "rig_load"
"""Where the tables go when ``--database`` is not given: created by the run (or taken when it
exists and is empty), and dropped by the core at the end unless ``--keep-tables``."""
DEFAULT_DURATION_S = 10.0
"""The measured time when neither ``--load-duration`` nor ``--duration`` is given."""
AUTO = "auto"
MAX_AUTO_PROCESSES = 64
"""``--load-processes auto`` starts at most this many worker processes."""
LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)
"""``--load-executor``: on this machine, or as Ray actors over a Ray cluster."""
MAX_AUTO_ACTORS = 4096
"""``--load-processes auto`` with ``--load-executor ray`` places at most this many actors."""


def processes_type(text: str) -> int | str:
    """``auto`` or a whole number of at least 1."""
    if str(text).strip().lower() == AUTO:
        return AUTO
    return rig.types.positive_int(text)


processes_type.__name__ = "processes"


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def choose_processes(asked: int | str, connections: int, cores: int,
                     executor: str = LOCAL) -> tuple[int, str]:
    """Resolve ``--load-processes``: a number is taken as asked; ``auto`` runs one worker
    process per connection (at most :data:`MAX_AUTO_PROCESSES`) when there are several
    connections and more than one core, else the workers are threads of rig's own process.
    One process per connection, not one per core: threads sharing a process take turns on
    its GIL, and measured on 2 cores 4 connections in 2 processes ran at 0.4 times the rate of 4
    processes (docs/performance.md)."""
    if asked != AUTO:
        return int(asked), "asked for"
    if executor == RAY:  # the cluster's CPUs are shared out among the actors
        count = min(connections, MAX_AUTO_ACTORS)
        return count, "auto: one Ray actor per connection" + (
            f" (at most {MAX_AUTO_ACTORS})" if count < connections else "")
    if connections < 2:
        return 1, "auto: one connection"
    if cores < 2:
        return 1, f"auto: {cores} core"
    count = min(connections, MAX_AUTO_PROCESSES)
    return count, f"auto: {connections} connections on {cores} cores, one process per " \
        "connection" + (f" (at most {MAX_AUTO_PROCESSES})" if count < connections else "")


def add_options(parser: rig.OptionParser) -> None:
    """Add ``--load-workload``, ``--load-duration`` and the rest to the plugin's help group."""
    group = parser.getgroup(PLUGIN, "load plugin: sysbench-style workloads over --connections "
                            "connections")
    group.addoption("--load-workload", default="point-select", metavar="NAME",
                    help="point-select, read-only, read-write, insert, update-index, or one "
                    "added by another plugin (default: %(default)s)")
    group.addoption("--load-duration", type=rig.types.positive_float,
                    metavar="SECONDS", help="measured time, after the ramp-up (default: "
                    f"--duration, else {DEFAULT_DURATION_S:g})")
    group.addoption("--load-ramp-up", type=rig.types.non_negative_float, default=0.0,
                    metavar="SECONDS", help="start the connections one after another over "
                    "this time, in order; not counted in the results (default: %(default)s)")
    group.addoption("--load-think-time", type=rig.types.non_negative_float, default=0.0,
                    metavar="SECONDS", help="pause of each connection after each event "
                    "(default: %(default)s)")
    group.addoption("--load-rate", type=rig.types.non_negative_float, default=0.0,
                    metavar="EVENTS_PER_S", help="target events per second over all "
                    "connections (one event = one query for point-select), open loop: latency "
                    "counts from each event's scheduled start; 0 = as fast as possible "
                    "(default: %(default)s)")
    group.addoption("--load-tables", type=rig.types.positive_int, default=1, metavar="N",
                    help="tables sbtest1..N (default: %(default)s)")
    group.addoption("--load-table-size", type=rig.types.positive_int, default=10000,
                    metavar="ROWS", help="rows per table (default: %(default)s)")
    group.addoption("--load-report-interval", type=rig.types.positive_float, default=1.0,
                    metavar="SECONDS", help="show throughput and latency this often "
                    "(default: %(default)s)")
    group.addoption("--load-processes", type=processes_type, default=AUTO, metavar="P",
                    help="run the workers in P processes (threads inside each) to use every "
                    "core; 1 = threads of rig's own process; auto = one process per "
                    "connection when there are several connections and more than one core, "
                    "else 1 (default: %(default)s)")
    group.addoption("--load-driver", type=rig.types.choice((AUTO, *drivers.NAMES)),
                    default=AUTO, metavar="NAME",
                    help="how the workers connect: pymysql; mysqlclient (a C driver, less "
                    "client CPU per query; pip install 'rig-plugin-load[mysqlclient]'); mariadb "
                    "(MariaDB's C connector; pip install 'rig-plugin-load[mariadb]'); auto = "
                    "mysqlclient when it is installed and --ssl-mode allows it, else pymysql "
                    "(default: %(default)s)")
    group.addoption("--load-executor", "--executor", type=rig.types.choice(EXECUTORS),
                    default=LOCAL, metavar="NAME",
                    help="where the workers run: local = on this machine (threads, or "
                    "--load-processes processes); ray = as Ray actors spread over a Ray "
                    "cluster's nodes, --load-processes of them (auto: one per connection), "
                    "their histograms merged here (pip install 'rig-plugin-load[ray]'; "
                    "docs/load-ray.md) (default: %(default)s)")
    group.addoption("--load-ray-address", "--ray-address", metavar="ADDRESS",
                    help="with --load-executor ray: HOST:PORT of the Ray cluster's head (what "
                    "'ray start --head' printed); auto = the cluster 'ray start' runs on this "
                    "machine (or $RAY_ADDRESS); local = a new Ray instance on this machine for "
                    "the run (default: local)")
    group.addoption("--load-prepare-only", action="store_true",
                    help="create and fill the tables, then stop; needs --keep-tables, so "
                    "that a later --load-skip-prepare run finds them")
    group.addoption("--load-skip-prepare", action="store_true",
                    help="use tables prepared earlier, as they are (never dropped)")


@dataclass(frozen=True)
class LoadOptions:
    """The options of a load run (``--load-<field>``, and the core's ``--keep-tables``)."""

    workload: str
    duration: float
    ramp_up: float
    think_time: float
    rate: float
    tables: int
    table_size: int
    report_interval: float
    processes: int
    """Resolved: ``auto`` is decided by :func:`choose_processes`."""
    driver: str
    """Resolved: ``auto`` is decided by :func:`rig_load.drivers.choose`."""
    prepare_only: bool
    skip_prepare: bool
    executor: str
    ray_address: str | None
    keep_tables: bool
    processes_reason: str = "asked for"
    """Why :attr:`processes` (``asked for``, or what ``auto`` saw)."""
    driver_reason: str = "asked for"
    """Why :attr:`driver`."""

    @classmethod
    def from_config(cls, config: rig.Config) -> LoadOptions:
        """Read the options from ``config``, deciding ``auto`` driver and processes."""
        own = ("keep_tables", "processes_reason", "driver_reason")
        values = {name: config.getoption(f"{PLUGIN}_{name}")
                  for name in cls.__dataclass_fields__ if name not in own}
        values["duration"] = values["duration"] or config.getoption("duration") \
            or DEFAULT_DURATION_S
        connections = int(config.getoption("connections") or 1)
        values["processes"], processes_reason = choose_processes(
            values["processes"], connections, usable_cores(), values["executor"])
        choice = drivers.choose(values["driver"], config.getoption("ssl_mode"))
        values["driver"] = choice.name
        return cls(**values, keep_tables=bool(config.getoption("keep_tables")),
                   processes_reason=processes_reason, driver_reason=choice.reason)

    def decided(self) -> str:
        """What the driver and processes are and why, for the run's header and report."""
        processes = describe_processes(self.processes, self.executor)
        return f"driver {self.driver} ({self.driver_reason}) · {processes} " \
            f"({self.processes_reason})"


def describe_processes(count: int, executor: str) -> str:
    """Where the workers run, in words: ``8 Ray actors``, ``4 processes``…"""
    if executor == RAY:
        return f"{count} Ray actor{'s' if count != 1 else ''}"
    return "threads of rig's process" if count == 1 else f"{count} processes"


def validate(config: rig.Config, workloads: list[str]) -> None:
    """Reject combinations that cannot work, naming the option."""
    options = LoadOptions.from_config(config)
    if options.workload not in workloads:
        raise config.invalid("load_workload", f"unknown workload {options.workload!r}; choose "
                             f"from {', '.join(workloads)}")
    if options.driver in drivers.MODULES:
        if not drivers.available(options.driver):
            module = drivers.MODULES[options.driver]
            raise rig.ConfigError(f"--load-driver {options.driver}: {module} is not "
                                  f"installed: {drivers.INSTALL[options.driver]}")
        mode = config.getoption("ssl_mode")
        if mode not in drivers.C_DRIVER_TLS:
            raise rig.ConfigError(f"--ssl-mode {mode.value} is not supported with --load-driver "
                                  f"{options.driver} (disabled, preferred, required are)",
                                  hint="use --load-driver pymysql to verify the server's "
                                  "certificate")
    if options.executor == RAY:
        ray_pool.import_ray()  # or say how to install it
    elif options.ray_address is not None:
        raise config.invalid("load_ray_address", "--load-ray-address applies only with "
                             "--load-executor ray")
    if options.prepare_only and options.skip_prepare:
        raise config.invalid("load_skip_prepare", "--load-prepare-only and --load-skip-prepare "
                             "exclude each other")
    if options.prepare_only and not options.keep_tables:
        raise rig.ConfigError("--load-prepare-only without --keep-tables: the prepared tables "
                              "would be dropped at the end of the run",
                              hint="add --keep-tables to keep them for a later "
                              "--load-skip-prepare run")
    if options.rate and options.think_time:
        raise config.invalid("load_think_time", "--load-think-time applies to closed-loop runs; "
                             "with --load-rate the schedule sets the pace, so give only one of "
                             "them")
