"""The plugin's options, read once into a typed object."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import rig
from rig_consistency import expect
from rig_consistency.generator import WORKLOADS, Shape

PLUGIN = "consistency"
DEFAULT_DURATION_S = 10.0
"""How long the workload runs when neither ``--duration`` nor ``--consistency-txns`` is
given."""
HISTORY_SUFFIXES = (".edn", ".jsonl", ".json")
ALL_LEVELS = "all"
MODELS = ("read-uncommitted", "read-committed", "repeatable-read", "snapshot-isolation",
          "serializable", "strict-serializable")
"""The consistency models ``--consistency-model`` accepts (Elle's names)."""


def add_options(parser: rig.OptionParser) -> None:
    """Add the plugin's options to its help group."""
    group = parser.getgroup(PLUGIN, "consistency plugin: random concurrent transactions, "
                            "their history checked for anomalies the way Jepsen's Elle does")
    group.addoption("--isolation-level",
                    type=rig.types.choice_list([*rig.ISOLATION_LEVELS, ALL_LEVELS]),
                    metavar="LEVEL[,LEVEL...]",
                    help="the isolation level of the transactions: "
                    f"{', '.join(rig.ISOLATION_LEVELS)}; a comma-separated list, or all, runs "
                    "the levels in turn, each with its own keys, history and verdict (on TiDB "
                    "all is the two levels it accepts) (default: the server's)")
    group.addoption("--consistency-workload", type=rig.types.choice(list(WORKLOADS)),
                    default="list-append", metavar="NAME",
                    help="list-append (lists of integers appended with CONCAT: the most "
                    "telling) or rw-register (integers written and read) "
                    "(default: %(default)s)")
    group.addoption("--consistency-txns", type=rig.types.positive_int, metavar="N",
                    help="stop after N transactions (default: run for --duration, else "
                    f"{DEFAULT_DURATION_S:g} s)")
    group.addoption("--consistency-clients", type=rig.types.int_range(1, 1000), default=6,
                    metavar="N", help="concurrent client sessions per connection "
                    "(--connections) (default: %(default)s)")
    group.addoption("--consistency-keys", type=rig.types.int_range(1, 10000), default=10,
                    metavar="N", help="keys in use at any moment (default: %(default)s)")
    group.addoption("--consistency-max-txn-length", type=rig.types.int_range(1, 100),
                    default=4, metavar="N",
                    help="micro-operations per transaction, at most (default: %(default)s)")
    group.addoption("--consistency-max-writes-per-key", type=rig.types.int_range(1, 100000),
                    default=32, metavar="N", help="writes to a key before it is retired for a "
                    "fresh one (default: %(default)s)")
    group.addoption("--consistency-tables", type=rig.types.int_range(1, 100), default=3,
                    metavar="N", help="tables the keys are spread over (default: %(default)s)")
    group.addoption("--consistency-seed", type=rig.types.non_negative_int, metavar="N",
                    help="seed of the random transactions (default: a new one, shown in the "
                    "report to repeat a run)")
    group.addoption("--consistency-model", type=rig.types.choice_list(list(MODELS)),
                    metavar="MODEL,...",
                    help="check the history against these models instead of the one the "
                    f"isolation level claims: {', '.join(MODELS)}")
    group.addoption("--consistency-expect", default="auto", metavar="NAME|FILE",
                    help="a profile of the server's known weaknesses (level -> anomalies "
                    "found but expected): auto (the shipped profile for the server's flavour "
                    "and version, if any), none, a shipped name such as mariadb-10.11, or a "
                    "TOML file (default: %(default)s)")
    group.addoption("--consistency-cycle-timeout", type=rig.types.positive_float, default=5.0,
                    metavar="SECONDS", help="time for the cycle search in each strongly "
                    "connected component; beyond it the verdict is undecided (exit 6) "
                    "(default: %(default)s)")
    group.addoption("--consistency-save-history", type=rig.types.output_file, metavar="FILE",
                    help="write the history, also after a failure or Ctrl-C: Jepsen's EDN "
                    "(FILE.edn) or JSON lines (FILE.jsonl), for rig consistency check or Elle")
    group.addoption("--consistency-database", type=rig.types.identifier("database name"),
                    default="rig_consistency", metavar="NAME",
                    help="database to work in: created by the run (and dropped at the end "
                    "unless --keep-tables), or an existing empty one (default: %(default)s)")



@dataclass(frozen=True)
class Options:
    """A consistency run's options."""

    levels: tuple[str, ...]
    """The isolation levels to run, in turn (empty: the server's default)."""
    all_levels: bool
    """Whether ``--isolation-level`` said ``all``."""
    workload: str
    duration: float | None
    txns: int | None
    clients: int
    shape: Shape
    tables: int
    seed: int
    txn_mode: str | None
    models: tuple[str, ...]
    expect: str
    cycle_timeout: float
    save_history: str | None
    database: str

    @classmethod
    def from_config(cls, config: rig.Config) -> Options:
        """Read the options from ``config``; a seed is drawn when none is given."""
        def get(name: str) -> Any:
            return config.getoption(f"{PLUGIN}_{name}")

        txns = get("txns")
        duration = config.getoption("duration")
        if duration is None and txns is None:
            duration = DEFAULT_DURATION_S
        seed = get("seed")
        return cls(
            levels=levels(config.getoption("isolation_level") or []),
            all_levels=ALL_LEVELS in (config.getoption("isolation_level") or []),
            workload=str(get("workload")),
            duration=None if duration is None else float(duration),
            txns=txns,
            clients=int(get("clients")),
            shape=Shape(key_count=int(get("keys")),
                        max_length=int(get("max_txn_length")),
                        max_writes_per_key=int(get("max_writes_per_key"))),
            tables=int(get("tables")),
            seed=random.SystemRandom().randrange(2**31) if seed is None else int(seed),
            txn_mode=config.getoption("txn_mode"),
            models=tuple(get("model") or ()),
            expect=str(get("expect")),
            cycle_timeout=float(get("cycle_timeout")),
            save_history=get("save_history"),
            database=str(get("database")),
        )


def levels(names: list[str]) -> tuple[str, ...]:
    """``--isolation-level``'s levels, in the order given, ``all`` expanded."""
    expanded = [level for name in names
                for level in (rig.ISOLATION_LEVELS if name == ALL_LEVELS else (name,))]
    return tuple(dict.fromkeys(expanded))


def validate(config: rig.Config) -> None:
    """Reject what cannot work, naming the option."""
    profile = config.getoption("consistency_expect")
    if profile not in (expect.AUTO, expect.NONE):
        try:
            expect.load(profile)
        except expect.ProfileError as exc:
            raise config.invalid("consistency_expect", str(exc)) from None
    save = config.getoption("consistency_save_history")
    if save and not str(save).endswith(HISTORY_SUFFIXES):
        raise config.invalid("consistency_save_history",
                             "name a .edn (Jepsen's EDN) or .jsonl (JSON lines) file")
