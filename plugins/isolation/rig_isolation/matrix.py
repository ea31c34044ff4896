"""The matrix: roll-up of test results per anomaly, the SQL standard's promises, and the console
table (levels as rows, anomalies as columns, broken promises marked)."""

from __future__ import annotations

from collections.abc import Mapping

from rig_isolation.catalog import (
    ANOMALY,
    ANOMALY_CODES,
    ERROR,
    PREVENTED,
    PREVENTED_READ_ONLY,
    TESTS,
    UNSUPPORTED,
)

PROMISES: Mapping[str, frozenset[str]] = {
    "read-uncommitted": frozenset({"G0"}),
    "read-committed": frozenset({"G0", "G1a", "G1b", "G1c"}),
    "repeatable-read": frozenset({"G0", "G1a", "G1b", "G1c", "OTV", "P4", "G-single",
                                  "G2-item"}),
    "serializable": frozenset(ANOMALY_CODES),
}
"""What each level must prevent (Adya's portable levels, as in the SQL standard)."""

VARIANT_SEPARATOR = "+"
SNAPSHOT_VARIANT = "snapshot-isolation"


def base_level(level_key: str) -> str:
    """``repeatable-read+snapshot-isolation`` → ``repeatable-read``."""
    return level_key.split(VARIANT_SEPARATOR, 1)[0]


def roll_up(results: Mapping[str, str]) -> dict[str, str]:
    """Test id → result, to anomaly code → result. An anomaly with a read-only and a write
    variant is ``prevented-read-only`` when only the write variant shows it."""
    rolled: dict[str, str] = {}
    for code in ANOMALY_CODES:
        tests = [t for t in TESTS if t.code == code and t.id in results]
        if not tests:
            continue
        seen = [results[t.id] for t in tests]
        if ERROR in seen:
            rolled[code] = ERROR
        elif all(result == UNSUPPORTED for result in seen):
            rolled[code] = UNSUPPORTED
        elif any(results[t.id] == ANOMALY for t in tests if t.read_only is not False):
            rolled[code] = ANOMALY
        elif any(results[t.id] == ANOMALY for t in tests):
            rolled[code] = PREVENTED_READ_ONLY
        else:
            rolled[code] = PREVENTED
    return rolled


def breaks_promise(level_key: str, code: str, result: str) -> bool:
    """Whether ``result`` is weaker than what the standard promises for the level."""
    promised = code in PROMISES.get(base_level(level_key), frozenset())
    return promised and result in (ANOMALY, PREVENTED_READ_ONLY)


def deviations(anomalies: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """Every (level, anomaly) where the observed result breaks the standard's promise."""
    return [
        {"level": level, "anomaly": code, "observed": result, "promised": PREVENTED}
        for level, row in anomalies.items()
        for code, result in row.items()
        if breaks_promise(level, code, result)
    ]


_SHORT = {PREVENTED: "prevented", ANOMALY: "anomaly", PREVENTED_READ_ONLY: "prev-ro",
          UNSUPPORTED: "unsupported", ERROR: "ERROR"}


def render(anomalies: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The console table: a row per level, a column per anomaly; ``!`` marks a broken promise,
    ``prev-ro`` is prevented only for read-only transactions."""
    codes = [c for c in ANOMALY_CODES if any(c in row for row in anomalies.values())]
    first = max([len("level"), *(len(level) for level in anomalies)])
    widths = [max(len(code), 11) for code in codes]
    lines = ["  ".join(["level".ljust(first), *(c.ljust(w) for c, w in zip(codes, widths,
                                                                            strict=True))]
                       ).rstrip()]
    for level, row in anomalies.items():
        cells = []
        for code, width in zip(codes, widths, strict=True):
            result = row.get(code)
            text = "-" if result is None else _SHORT.get(result, result)
            if result is not None and breaks_promise(level, code, result):
                text += " !"
            cells.append(text.ljust(width))
        lines.append("  ".join([level.ljust(first), *cells]).rstrip())
    return lines
