"""A value that never shows itself: passwords live in :class:`Secret` from parsing to connecting."""

from __future__ import annotations

MASK = "***"


class Secret:
    """Wraps a sensitive string so that ``str()``, ``repr()``, f-strings, logs and tracebacks
    print ``***``. Call :meth:`reveal` at the one place that needs the real value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value; pass it straight to the driver and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
