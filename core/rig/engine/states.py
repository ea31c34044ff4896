"""States, handlers and the registry that assembles a workflow.

A state is a name. A handler is an object with ``execute(ctx)`` (required) and optionally
``enter(ctx)`` and ``exit(ctx)``; a plain function ``fn(ctx)`` is a handler too. ``execute``
returns the name of the next state, or ``None`` for "the next state of the workflow".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rig.errors import PluginError

if TYPE_CHECKING:
    from rig.engine.context import Context

INITIAL = "initial"
PARSING_CONFIG = "parsing_config"
CONNECTING = "connecting"
TESTING_CONNECTION = "testing_connection"
VERIFYING_DATABASE = "verifying_database"
GETTING_VERSION = "getting_version"
COMPLETED = "completed"
ERROR = "error"

COMMON_STATES = (INITIAL, PARSING_CONFIG, CONNECTING, TESTING_CONNECTION, VERIFYING_DATABASE,
                 GETTING_VERSION)
"""The states every workflow starts with, in order; their handlers live in the core."""

TERMINAL_STATES = (COMPLETED, ERROR)


@runtime_checkable
class Handler(Protocol):
    """What a state does. Only :meth:`execute` is required; a handler keeps its own data in
    ``ctx.local(self)`` so that one handler object can serve every connection."""

    def execute(self, ctx: Context) -> str | None:
        """Do the state's work; return the next state's name, or ``None`` for the next state
        of the workflow."""


class FunctionHandler:
    """Adapts a plain function ``fn(ctx) -> str | None`` to a :class:`Handler`."""

    def __init__(self, fn: Callable[[Context], str | None]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def execute(self, ctx: Context) -> str | None:
        return self.fn(ctx)


@dataclass(frozen=True)
class StateSpec:
    """One state of a workflow: its name, handler, the plugin that added it, a description."""

    name: str
    handler: Any
    plugin: str
    description: str = ""
    cleanup: bool = False


class StateRegistry:
    """Collects the states of a workflow, in order, and refuses a name added twice.

    The core adds the common states; each selected plugin adds its own in
    ``rig_register_states``. ``completed`` and ``error`` are always there and need no handler.
    """

    def __init__(self) -> None:
        self._states: dict[str, StateSpec] = {}
        self.current_plugin = "rig"

    def add_state(self, name: str, handler: Any, *, description: str = "",
                  cleanup: bool = False) -> None:
        """Add state ``name`` run by ``handler`` (a :class:`Handler` or a function of ctx).

        ``cleanup=True`` marks a state that must run even when the workflow fails or is
        interrupted before reaching it (like ``finally``), once this plugin's states began:
        dropping tables, closing extra connections.
        """
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {self.current_plugin} added a state with no name")
        if name in TERMINAL_STATES:
            raise PluginError(
                f"plugin {self.current_plugin} cannot add the terminal state {name!r}")
        if name in self._states:
            other = self._states[name].plugin
            raise PluginError(
                f"state {name!r} is added by both {other} and {self.current_plugin}",
                hint="state names must be unique across the selected plugins; "
                "rename one (e.g. prefix it with the plugin's name)",
            )
        if not isinstance(handler, Handler):
            if callable(handler):
                handler = FunctionHandler(handler)
            else:
                raise PluginError(
                    f"plugin {self.current_plugin}: the handler of state {name!r} has no "
                    "execute(ctx) method and is not callable"
                )
        self._states[name] = StateSpec(name, handler, self.current_plugin, description, cleanup)

    def __contains__(self, name: object) -> bool:
        return name in self._states or name in TERMINAL_STATES

    def __iter__(self) -> Iterator[StateSpec]:
        return iter(self._states.values())

    def states_of(self, plugin: str) -> list[str]:
        """The names of the states ``plugin`` added."""
        return [spec.name for spec in self._states.values() if spec.plugin == plugin]

    def workflow(self) -> Workflow:
        """The assembled workflow: the states in the order they were added."""
        return Workflow(list(self._states.values()))


class Workflow:
    """An ordered list of states; ``None`` from a handler moves to the next one, and past the
    last one to ``completed``."""

    def __init__(self, states: list[StateSpec]) -> None:
        if not states:
            raise PluginError("the workflow has no states")
        self.states = states
        self._index = {spec.name: i for i, spec in enumerate(states)}

    @property
    def first(self) -> str:
        """The state a run starts in."""
        return self.states[0].name

    @property
    def names(self) -> list[str]:
        """Every state's name, in order."""
        return [spec.name for spec in self.states]

    def spec(self, name: str) -> StateSpec | None:
        """The state named ``name``, or ``None`` (terminal or unknown)."""
        index = self._index.get(name)
        return None if index is None else self.states[index]

    def next_after(self, name: str) -> str:
        """The state after ``name``; ``completed`` after the last."""
        index = self._index[name] + 1
        return self.states[index].name if index < len(self.states) else COMPLETED

    def __contains__(self, name: object) -> bool:
        return name in self._index or name in TERMINAL_STATES
