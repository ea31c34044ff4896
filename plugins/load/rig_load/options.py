"""The load plugin's options, read once into a typed object."""

from __future__ import annotations

from dataclasses import dataclass

import rig
from rig_load import drivers

PLUGIN = "load"
DEFAULT_DATABASE = "rig_load"
"""Where the tables go when ``--database`` is not given (created, and dropped afterwards)."""


def add_options(parser: rig.OptionParser) -> None:
    """Add ``--workload``, ``--duration`` and the rest to the plugin's help group."""
    group = parser.getgroup(PLUGIN, "load plugin: sysbench-style workloads over --connections "
                            "connections")
    group.addoption("--workload", default="point-select", metavar="NAME",
                    help="point-select, read-only, read-write, insert, update-index, or one "
                    "added by another plugin (default: %(default)s)")
    group.addoption("--duration", type=rig.types.positive_float, default=10.0,
                    metavar="SECONDS", help="measured time, after the ramp-up "
                    "(default: %(default)s)")
    group.addoption("--ramp-up", type=rig.types.non_negative_float, default=0.0,
                    metavar="SECONDS", help="start the connections one after another over "
                    "this time, in order; not counted in the results (default: %(default)s)")
    group.addoption("--think-time", type=rig.types.non_negative_float, default=0.0,
                    metavar="SECONDS", help="pause of each connection after each event "
                    "(default: %(default)s)")
    group.addoption("--rate", type=rig.types.non_negative_float, default=0.0,
                    metavar="EVENTS_PER_S", help="target events per second over all "
                    "connections (one event = one query for point-select), open loop: latency "
                    "counts from each event's scheduled start; 0 = as fast as possible "
                    "(default: %(default)s)")
    group.addoption("--tables", type=rig.types.positive_int, default=1, metavar="N",
                    help="tables sbtest1..N (default: %(default)s)")
    group.addoption("--table-size", type=rig.types.positive_int, default=10000,
                    metavar="ROWS", help="rows per table (default: %(default)s)")
    group.addoption("--report-interval", type=rig.types.positive_float, default=1.0,
                    metavar="SECONDS", help="print throughput and latency this often "
                    "(default: %(default)s)")
    group.addoption("--processes", type=rig.types.positive_int, default=1, metavar="P",
                    help="run the workers in P processes (threads inside each) to use every "
                    "core; 1 = threads of rig's own process (default: %(default)s)")
    group.addoption("--driver", default="pymysql", metavar="NAME",
                    help="how the workers connect: pymysql, or mysqlclient (a C driver, less "
                    "client CPU per query; pip install 'rig-plugin-load[mysqlclient]') "
                    "(default: %(default)s)")
    group.addoption("--prepare-only", action="store_true",
                    help="create and fill the tables, then stop (they are kept)")
    group.addoption("--skip-prepare", action="store_true",
                    help="use tables prepared earlier (they are kept)")
    if "keep_tables" not in parser.options:  # the isolation plugin has the same flag
        group.addoption("--keep-tables", action="store_true",
                        help="keep the tables at the end (isolation: the database)")


@dataclass(frozen=True)
class LoadOptions:
    """The options of a load run."""

    workload: str
    duration: float
    ramp_up: float
    think_time: float
    rate: float
    tables: int
    table_size: int
    report_interval: float
    processes: int
    driver: str
    prepare_only: bool
    skip_prepare: bool
    keep_tables: bool

    @classmethod
    def from_config(cls, config: rig.Config) -> LoadOptions:
        """Read the options from ``config``."""
        return cls(**{name: config.getoption(name) for name in cls.__dataclass_fields__})

    @property
    def keeps_tables(self) -> bool:
        """Whether the tables stay after the run."""
        return self.keep_tables or self.prepare_only or self.skip_prepare


def validate(config: rig.Config, workloads: list[str]) -> None:
    """Reject combinations that cannot work, naming the option."""
    options = LoadOptions.from_config(config)
    if options.workload not in workloads:
        raise config.invalid("workload", f"unknown workload {options.workload!r}; choose from "
                             f"{', '.join(workloads)}")
    if options.driver not in drivers.NAMES:
        raise config.invalid("driver", f"choose from {', '.join(drivers.NAMES)}")
    if options.driver == "mysqlclient":
        if not drivers.mysqlclient_available():
            raise rig.ConfigError("--driver mysqlclient: MySQLdb is not installed: "
                                  + drivers.INSTALL_MYSQLCLIENT)
        mode = config.getoption("ssl_mode")
        if mode not in drivers.MYSQLCLIENT_TLS:
            raise rig.ConfigError(f"--ssl-mode {mode.value} is not supported with --driver "
                                  "mysqlclient (disabled, preferred, required are)",
                                  hint="use --driver pymysql to verify the server's "
                                  "certificate")
    if options.prepare_only and options.skip_prepare:
        raise config.invalid("skip_prepare", "--prepare-only and --skip-prepare exclude each "
                             "other")
    if options.rate and options.think_time:
        raise config.invalid("think_time", "--think-time applies to closed-loop runs; with "
                             "--rate the schedule sets the pace, so give only one of them")
