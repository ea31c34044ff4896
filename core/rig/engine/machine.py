"""The state machine that runs one connection's workflow."""

from __future__ import annotations

import time
from typing import Protocol

from rig.db.explain import explain_lost
from rig.engine.context import Context
from rig.engine.results import RunErrorInfo, StateOutcome, StateRecord
from rig.engine.states import COMPLETED, ERROR, TERMINAL_STATES, Workflow
from rig.errors import ExitCode, RigError, WorkflowError, code_location

DEFAULT_MAX_TRANSITIONS = 10_000
_PATH_SHOWN = 12


class Observers(Protocol):
    """Who is told about every transition: rig passes the ``rig_state_enter`` and
    ``rig_state_exit`` hooks. What they raise ends the connection in ``error``."""

    def state_enter(self, ctx: Context, state: str) -> None:
        """``ctx`` enters ``state`` (also the final ``completed`` or ``error``)."""

    def state_exit(self, ctx: Context, state: str, outcome: StateOutcome) -> None:
        """``ctx`` leaves ``state``."""


class StateMachine:
    """Runs a :class:`rig.engine.states.Workflow` for one connection until ``completed`` or
    ``error``.

    Every transition is timed, logged and shown to the observers. A handler or an observer that
    raises, a handler that returns an unknown state, or a workflow that passes
    ``max_transitions`` ends in ``error`` with the path that led there. States added with
    ``cleanup=True`` run even when the workflow fails or is interrupted before them, once one of
    their plugin's states has run. The connection's sessions are closed at the end.
    """

    def __init__(self, workflow: Workflow, observers: Observers, *,
                 max_transitions: int = DEFAULT_MAX_TRANSITIONS) -> None:
        self.workflow = workflow
        self.observers = observers
        self.max_transitions = max_transitions

    def run(self, ctx: Context) -> str:
        """Run the workflow; returns the final state (``completed`` or ``error``)."""
        path: list[str] = []
        visited: set[str] = set()
        state = self.workflow.first
        try:
            while state not in TERMINAL_STATES:
                if ctx.cancelled:
                    state = self._fail(ctx, path, state, None)
                    break
                if len(path) >= self.max_transitions:
                    state = self._fail(ctx, path, state, WorkflowError(
                        f"the workflow passed {self.max_transitions} transitions without "
                        f"finishing (a loop?); last states: {_path(path)}",
                        hint="fix the handler that loops, or raise --max-transitions"))
                    break
                path.append(state)
                visited.add(state)
                next_state, error = self._run_state(ctx, state)
                if error is not None:
                    state = self._fail(ctx, path, state, error)
                    break
                if not isinstance(next_state, str):
                    state = self._fail(ctx, path, state, WorkflowError(
                        f"the handler of state {state!r} returned a "
                        f"{type(next_state).__name__}, not a state name",
                        hint="execute(ctx) must return the next state's name or None"))
                    break
                if next_state not in self.workflow:
                    state = self._fail(ctx, path, state, WorkflowError(
                        f"the handler of state {state!r} returned unknown state "
                        f"{next_state!r}; path: {_path(path)}",
                        hint=f"known states: {', '.join([*self.workflow.names, COMPLETED])}"))
                    break
                state = next_state
        finally:
            if state != COMPLETED:
                self._run_cleanups(ctx, visited)
            ctx.close()
        return self._finish(ctx, state, path)

    def _finish(self, ctx: Context, state: str, path: list[str]) -> str:
        """Enter the final state: the observers see it, and one that raises turns a
        ``completed`` run into ``error``."""
        ctx.state = state
        try:
            self.observers.state_enter(ctx, state)
        except Exception as exc:
            error = _observer_error(exc)
            ctx.log.opt(exception=exc).debug("observer of {} raised", state)  # pragma: no mutate
            if ctx.result.error is None:
                self._fail(ctx, path, state, error)
            state = ERROR
            ctx.state = state
        ctx.result.final_state = state
        ctx.result.states.append(StateRecord(state, 0.0, "ok" if state == COMPLETED else "error"))
        return state

    def _run_state(self, ctx: Context, state: str) -> tuple[object, RigError | None]:
        """Enter ``state`` (observers), run its handler, leave it (observers); returns the
        handler's next state (``None`` after an error) and the error."""
        spec = self.workflow.spec(state)
        assert spec is not None
        ctx.state = state
        ctx.plugin = spec.plugin
        if ctx.connection is not None:
            ctx.connection.state = state
        start = time.perf_counter()
        try:
            self.observers.state_enter(ctx, state)
        except Exception as exc:
            ctx.log.opt(exception=exc).debug("observer of {} raised", state)  # pragma: no mutate
            ctx.result.states.append(StateRecord(state, 0.0, "error", spec.plugin))
            return None, _observer_error(exc)
        handler = spec.handler
        error: RigError | None = None
        try:
            if hasattr(handler, "enter"):
                handler.enter(ctx)
            next_state = handler.execute(ctx)
        except Exception as exc:
            error = _lost(ctx, exc, state) or _handler_error(exc, state, spec.plugin)
            ctx.log.opt(exception=exc).debug("state {} raised", state)  # pragma: no mutate
        finally:
            if hasattr(handler, "exit"):
                try:
                    handler.exit(ctx)
                except Exception as exc:
                    error = error or _lost(ctx, exc, state) or \
                        _handler_error(exc, state, spec.plugin)
        duration = time.perf_counter() - start
        target = None if error else next_state or self.workflow.next_after(state)
        status = "ok" if error is None else "interrupted" if ctx.cancelled else "error"
        ctx.result.states.append(StateRecord(state, duration, status, spec.plugin))
        outcome = StateOutcome(status, duration, target if isinstance(target, str) else None,
                               None if error is None else str(error))
        try:
            self.observers.state_exit(ctx, state, outcome)
        except Exception as exc:
            ctx.log.opt(exception=exc).debug("observer of {} raised", state)  # pragma: no mutate
            error = error or _observer_error(exc)
        # pragma: no mutate start
        ctx.log.debug("{} → {} ({:.1f} ms)", state, target if not error else ERROR,
                      duration * 1000)
        # pragma: no mutate end
        return target, error

    def _fail(self, ctx: Context, path: list[str], state: str, error: RigError | None) -> str:
        """Record why the connection ends in the ``error`` state: ``error`` — or
        ``interrupted`` once the run is being interrupted (``error`` is then ``None``, or what
        the interruption caused). Returns ``error``, the state."""
        if ctx.cancelled or error is None:
            ctx.result.error = RunErrorInfo("interrupted", state, ExitCode.INTERRUPTED,
                                            "interrupted", tuple(path))
        else:
            ctx.result.error = RunErrorInfo(
                message=str(error), state=state, exit_code=ExitCode(error.exit_code),
                kind=type(error).__name__, path=tuple(path),
            )
        ctx.log.debug("ends in error: {}", error)  # pragma: no mutate
        return ERROR

    def _run_cleanups(self, ctx: Context, visited: set[str]) -> None:
        started = {spec.plugin for spec in self.workflow.states if spec.name in visited}
        # not those that ran already, nor those of a plugin that never started (nothing to clean)
        cleanups = [spec for spec in self.workflow.states
                    if spec.cleanup and spec.name not in visited and spec.plugin in started]
        if cleanups and ctx.cancelled and ctx.connection is not None:
            ctx.reopen_after_interrupt()  # Ctrl-C shut the sessions down: one new for them all
        for spec in cleanups:
            # pragma: no mutate start
            ctx.log.info("running cleanup state {} after the {}", spec.name,
                         "interrupt" if ctx.cancelled else "failure")
            # pragma: no mutate end
            _next, error = self._run_state(ctx, spec.name)
            if error is not None:
                ctx.log.error("cleanup state {} failed: {}", spec.name, error)


def _observer_error(exc: Exception) -> RigError:
    """What an observer raised, as an error: rig's observers already name plugin and hook."""
    if isinstance(exc, RigError):
        return exc
    return WorkflowError(f"an observer raised {type(exc).__name__}: {exc}")


def _lost(ctx: Context, exc: BaseException, state: str) -> RigError | None:
    """The one line for a server lost mid-run (exit 5): once the connection had reached it,
    and unless rig itself shut the sessions down (Ctrl-C)."""
    if ctx.cancelled or not ctx.connected_once:
        return None
    return explain_lost(exc, ctx.settings, state)


def _handler_error(exc: BaseException, state: str, plugin: str) -> RigError:
    if isinstance(exc, RigError):
        return exc
    where = code_location(exc)
    return WorkflowError(
        f"the handler of state {state!r} (plugin {plugin}) raised "
        f"{type(exc).__name__}: {exc}" + (f" at {where}" if where else ""),
        hint="run with -v for the traceback",
    )


def _path(path: list[str]) -> str:
    shown = path[-_PATH_SHOWN:]
    prefix = "… → " if len(path) > _PATH_SHOWN else ""
    return prefix + " → ".join(shown)
