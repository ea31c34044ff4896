"""The state machine that runs one connection's workflow."""

from __future__ import annotations

import time
import traceback
from typing import Any

from rig.context import Context
from rig.errors import ExitCode, RigError, WorkflowError
from rig.results import RunErrorInfo, StateOutcome, StateRecord
from rig.states import COMPLETED, ERROR, TERMINAL_STATES, Workflow

DEFAULT_MAX_TRANSITIONS = 10_000
_PATH_SHOWN = 12


class StateMachine:
    """Runs a :class:`rig.states.Workflow` for one connection until ``completed`` or ``error``.

    Every transition is timed, logged and shown to the ``rig_state_enter`` /
    ``rig_state_exit`` observers. A handler that raises, returns an unknown state, or a workflow
    that passes ``max_transitions`` ends in ``error`` with the path that led there. States
    added with ``cleanup=True`` run even when the workflow fails or is interrupted before them.
    """

    def __init__(self, workflow: Workflow, hooks: Any, *,
                 max_transitions: int = DEFAULT_MAX_TRANSITIONS) -> None:
        self.workflow = workflow
        self.hooks = hooks
        self.max_transitions = max_transitions

    def run(self, ctx: Context) -> str:
        """Run the workflow; returns the final state (``completed`` or ``error``)."""
        result = ctx.result
        path: list[str] = []
        visited: set[str] = set()
        state = self.workflow.first
        try:
            while state not in TERMINAL_STATES:
                if ctx.cancelled:
                    result.error = RunErrorInfo("interrupted", state, ExitCode.INTERRUPTED,
                                                "interrupted", tuple(path))
                    state = ERROR
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
            if ctx.connection is not None:
                ctx.connection.close()
        result.final_state = state
        result.states.append(StateRecord(state, 0.0, "ok" if state == COMPLETED else "error"))
        ctx.state = state
        self.hooks.rig_state_enter(ctx=ctx, state=state)
        return state

    def _run_state(self, ctx: Context, state: str) -> tuple[str, RigError | None]:
        spec = self.workflow.spec(state)
        assert spec is not None
        ctx.state = state
        ctx.plugin = spec.plugin
        if ctx.connection is not None:
            ctx.connection.state = state
        handler = spec.handler
        error: RigError | None = None
        next_state: str | None = None
        start = time.perf_counter()
        try:
            self.hooks.rig_state_enter(ctx=ctx, state=state)
            if hasattr(handler, "enter"):
                handler.enter(ctx)
            next_state = handler.execute(ctx)
        except Exception as exc:
            error = _as_rig_error(exc, state, spec.plugin)
            ctx.log.opt(exception=exc).debug("state {} raised", state)
        finally:
            if hasattr(handler, "exit"):
                try:
                    handler.exit(ctx)
                except Exception as exc:
                    error = error or _as_rig_error(exc, state, spec.plugin)
        duration = time.perf_counter() - start
        target = next_state or (None if error else self.workflow.next_after(state))
        status = "error" if error else "ok"
        ctx.result.states.append(StateRecord(state, duration, status, spec.plugin))
        outcome = StateOutcome(status, duration, target, str(error) if error else None)
        self.hooks.rig_state_exit(ctx=ctx, state=state, outcome=outcome)
        ctx.log.debug("{} → {} ({:.1f} ms)", state, target or ERROR, duration * 1000)
        return target or ERROR, error

    def _fail(self, ctx: Context, path: list[str], state: str, error: RigError) -> str:
        ctx.result.error = RunErrorInfo(
            message=str(error), state=state, exit_code=ExitCode(error.exit_code),
            kind=type(error).__name__, path=tuple(path),
        )
        ctx.log.debug("ends in error: {}", error)
        return ERROR

    def _run_cleanups(self, ctx: Context, visited: set[str]) -> None:
        for spec in self.workflow.states:
            if not spec.cleanup or spec.name in visited:
                continue
            if spec.plugin not in {s.plugin for s in self.workflow.states if s.name in visited}:
                continue  # the plugin never started, so it has nothing to clean up
            ctx.log.info("running cleanup state {} after the failure", spec.name)
            _next, error = self._run_state(ctx, spec.name)
            if error is not None:
                ctx.log.error("cleanup state {} failed: {}", spec.name, error)


def _as_rig_error(exc: BaseException, state: str, plugin: str) -> RigError:
    if isinstance(exc, RigError):
        return exc
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {frame.filename}:{frame.lineno}" if frame else ""
    return WorkflowError(
        f"the handler of state {state!r} (plugin {plugin}) raised "
        f"{type(exc).__name__}: {exc}{where}",
        hint="run with -v for the traceback",
    )


def _path(path: list[str]) -> str:
    shown = path[-_PATH_SHOWN:]
    prefix = "… → " if len(path) > _PATH_SHOWN else ""
    return prefix + " → ".join(shown)
