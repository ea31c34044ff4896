"""Typed data: :class:`Key` and the :class:`DataStore` that holds values under keys."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")


class Key(Generic[T]):
    """A typed key: ``PINGS = rig.Key[list[float]]("basic.pings")``.

    Name keys after your plugin (``"plugin.thing"``) so plugins never overwrite each other.
    Keys are equal when their names are.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class DataStore:
    """Values under typed :class:`Key` s: ``store[KEY] = value``, ``store[KEY]``,
    ``store.get(KEY, default)``, ``KEY in store``."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def __setitem__(self, key: Key[T], value: T) -> None:
        self._values[key.name] = value

    def __getitem__(self, key: Key[T]) -> T:
        try:
            return cast(T, self._values[key.name])
        except KeyError:
            raise KeyError(f"no data stored under {key.name!r} (an earlier state stores it "
                           "with data[KEY] = value; use data.get(KEY) when it may be "
                           "missing)") from None

    def __contains__(self, key: Key[Any]) -> bool:
        return key.name in self._values

    @overload
    def get(self, key: Key[T]) -> T | None: ...
    @overload
    def get(self, key: Key[T], default: T) -> T: ...
    def get(self, key: Key[T], default: Any = None) -> Any:
        """The value under ``key``, else ``default``."""
        return self._values.get(key.name, default)

    def setdefault(self, key: Key[T], default: T) -> T:
        """The value under ``key``, storing ``default`` first when there is none."""
        return cast(T, self._values.setdefault(key.name, default))

    def pop(self, key: Key[T], default: T | None = None) -> T | None:
        """Remove and return the value under ``key`` (``default`` when there is none)."""
        return cast("T | None", self._values.pop(key.name, default))

    def as_dict(self) -> dict[str, Any]:
        """Every stored value by key name."""
        return dict(self._values)
