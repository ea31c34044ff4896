"""Option value types: callables for ``addoption(type=...)`` that raise ``ValueError`` with a
reason, so that rig can report the option, the bad value and where it came from."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = _int(text)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0."""
    value = _int(text)
    if value < 0:
        raise ValueError("must be a whole number of at least 0")
    return value


def positive_float(text: str) -> float:
    """A number greater than 0 (seconds, rates)."""
    value = _float(text)
    if value <= 0:
        raise ValueError("must be a number greater than 0")
    return value


def non_negative_float(text: str) -> float:
    """A number of at least 0."""
    value = _float(text)
    if value < 0:
        raise ValueError("must be a number of at least 0")
    return value


def comma_list(text: str) -> list[str]:
    """``a,b, c`` → ``["a", "b", "c"]``; empty items are dropped."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def choice(choices: Sequence[str]) -> Callable[[str], str]:
    """One of ``choices`` (compared case-insensitively, returned as written in ``choices``);
    the error lists them. Unlike argparse's ``choices=``, the message names the value's source
    and ``--help`` shows the ``metavar`` you give."""
    by_key = {option.lower(): option for option in choices}

    def parse(text: str) -> str:
        found = by_key.get(str(text).strip().lower())
        if found is None:
            raise ValueError(f"choose from {', '.join(choices)}")
        return found

    parse.__name__ = "choice"
    return parse


def choice_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """A comma-separated list whose every item is one of ``choices``."""

    def parse(text: str) -> list[str]:
        items = comma_list(text)
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(choices)}")
        return items

    parse.__name__ = "choice list"
    return parse


def _int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _float(text: str) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise ValueError("must be a number") from None
