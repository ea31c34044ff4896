"""What may go into a report: JSON types only, checked where a plugin hands data over (a
report section, a timeline event), so that a mistake names the plugin, not the JSON writer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_problem(value: Any, where: str) -> str | None:
    """Where ``value`` holds something that is not a JSON type (``None`` when it is all JSON):
    dicts with string keys, lists, tuples, strings, numbers, booleans and ``None`` are."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r}, a {type(key).__name__}, not a string"
            problem = json_problem(item, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{where}[{index}]")
            if problem:
                return problem
        return None
    return f"{where} is a {type(value).__name__}, not a JSON type"
