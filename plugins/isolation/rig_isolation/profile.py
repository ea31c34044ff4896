"""Profiles: an expected matrix, level → test → result, in TOML or JSON.

``--isolation-expect FILE`` compares the observed matrix with a profile;
``--isolation-save-profile FILE`` writes the observed one. An ``about`` table (which server and
settings produced it) is kept for people and ignored by the comparison. A bare name
(``mariadb-10.11``) means a profile shipped with the plugin.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rig
from rig_isolation.catalog import RESULTS, TEST_IDS
from rig_isolation.matrix import SNAPSHOT_VARIANT, VARIANT_SEPARATOR

SHIPPED = Path(__file__).parent / "profiles"
"""Where the plugin's own profiles live."""
AUTO, NONE = "auto", "none"
"""``--isolation-expect auto``: the shipped profile of the server tested, if any; ``none``."""

ABOUT = "about"

Matrix = dict[str, dict[str, str]]
"""level key → test id → result."""


class ProfileError(ValueError):
    """A profile that cannot be read or holds something other than a matrix."""


def resolve(text: str) -> Path:
    """A path, or the name of a shipped profile (``mariadb-10.11``)."""
    path = Path(text).expanduser()
    if path.is_file():
        return path
    shipped = SHIPPED / f"{text}.toml"
    if "/" not in text and shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.toml")))
    raise ProfileError(f"no such file (shipped profiles: {names})")


def shipped_for(server: Mapping[str, Any], snapshot: str | None) -> str | None:
    """The shipped profile for the server a run tested (its facts, as the report has them)
    and ``--isolation-snapshot``: ``tidb-8.5-pessimistic`` (by the transaction mode used),
    ``mariadb-10.11`` (when the matrix's plain rows ran with innodb_snapshot_isolation off,
    as the profile's did); ``None`` when nothing shipped matches."""
    major_minor = ".".join(str(server["version"]).split(".")[:2])
    if server["flavor"] == "tidb":
        mode = server.get("txn_mode")
        if mode in (None, "server default"):
            mode = server.get("tidb_txn_mode") or "optimistic"  # empty: before v3.0.8
        name = f"tidb-{major_minor}-{mode}"
    else:
        plain = {"on": "ON", "off": "OFF", "both": "OFF"}.get(
            snapshot or "", server.get("innodb_snapshot_isolation") or "OFF")
        if plain != "OFF":
            return None
        name = f"{server['flavor']}-{major_minor}"
    return name if (SHIPPED / f"{name}.toml").is_file() else None


def valid_level_key(key: str) -> bool:
    """``read-committed`` or ``repeatable-read+snapshot-isolation``."""
    level, _sep, variant = key.partition(VARIANT_SEPARATOR)
    return level in rig.ISOLATION_LEVELS and variant in ("", SNAPSHOT_VARIANT)


def parse(data: Mapping[str, Any]) -> Matrix:
    """Check and return the matrix part of a parsed profile."""
    matrix: Matrix = {}
    for level, tests in data.items():
        if level == ABOUT:
            continue
        if not valid_level_key(level):
            raise ProfileError(f"unknown level {level!r}; levels are "
                               f"{', '.join(rig.ISOLATION_LEVELS)}")
        if not isinstance(tests, Mapping):
            raise ProfileError(f"{level} must map test ids to results")
        for test, result in tests.items():
            if test not in TEST_IDS:
                raise ProfileError(f"unknown test {test!r} under {level}; tests are "
                                   f"{', '.join(TEST_IDS)}")
            if result not in RESULTS:
                raise ProfileError(f"{level}.{test} = {result!r}; results are "
                                   f"{', '.join(RESULTS)}")
        matrix[level] = {str(test): str(result) for test, result in tests.items()}
    if not matrix:
        raise ProfileError("it holds no level")
    return matrix


def load(text: str) -> Matrix:
    """Read the profile ``text`` names (a path or a shipped name)."""
    path = resolve(text)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"cannot read it: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ProfileError(f"not valid {kind}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ProfileError("it must be a table of levels")
    return parse(data)


@dataclass(frozen=True)
class Difference:
    """A cell where the observed result differs from the profile."""

    level: str
    test: str
    expected: str
    observed: str

    def __str__(self) -> str:
        return f"{self.level}/{self.test}: expected {self.expected}, observed {self.observed}"


def compare(expected: Matrix, observed: Matrix) -> list[Difference]:
    """Every observed cell the profile expects otherwise (cells not run are not compared)."""
    return [
        Difference(level, test, expected[level][test], result)
        for level, tests in observed.items()
        for test, result in tests.items()
        if test in expected.get(level, {}) and expected[level][test] != result
    ]


def _toml_value(value: Any) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def dumps(matrix: Matrix, about: Mapping[str, Any], *, as_json: bool) -> str:
    """A profile's text: ``about`` first, then one table per level."""
    if as_json:
        return json.dumps({ABOUT: dict(about), **matrix}, indent=2) + "\n"
    lines = ["# rig isolation profile: level -> test -> observed result",
             "# (prevented | anomaly | unsupported | error). Use with:",
             "# rig --plugin isolation --isolation-expect FILE", "",
             f"[{ABOUT}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in about.items()]
    for level, tests in matrix.items():
        lines += ["", f"[{_toml_value(level)}]"]
        lines += [f"{_toml_value(test)} = {_toml_value(result)}" for test, result in tests.items()]
    return "\n".join(lines) + "\n"


def save(path: str, matrix: Matrix, about: Mapping[str, Any]) -> None:
    """Write the profile; JSON when ``path`` ends in ``.json``, else TOML."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(matrix, about, as_json=target.suffix.lower() == ".json"),
                      encoding="utf-8")
