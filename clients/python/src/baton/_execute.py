"""Run one task use: pull its upstream results, call its function, push its return value.

The same code runs in a worker's task process and inside an application (``isolation="thread"``).
The outcome is ``success``, ``skipped`` (the task raised :class:`TaskSkipped`) or ``failed`` (any
other exception, ``KeyboardInterrupt``, ``SystemExit`` and other ``BaseException`` subclasses
included, logged with its traceback); the supervisor turns a failure into ``up_for_retry`` or
``failed`` by the attempts left. Only :class:`Stopped`, the worker's stop, is not an outcome.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from baton._context import RETURN_VALUE, TaskRuntime, running
from baton._errors import TaskSkipped
from baton._task import TaskRef, iter_refs, substitute_refs

TASK_LOGGER = "baton.task"
CONTEXT_PARAMETER = "context"
"""A task function with a parameter of this name (left unbound) receives the TaskContext there."""

OutcomeState = Literal["success", "skipped", "failed"]


class Stopped(SystemExit):
    """Raised in a task process by the worker's stop (SIGTERM): ends the process, never an outcome."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the task function ended, and a one-line reason when it did not succeed."""

    state: OutcomeState
    message: str | None = None


def _arguments(ref: TaskRef, runtime: TaskRuntime) -> tuple[tuple[Any, ...], dict[str, Any]]:
    results: dict[str, Any] = {}
    for upstream in iter_refs((ref.args, ref.kwargs)):
        if upstream.task_id not in results:
            # A task that returned None pushed nothing: its downstream tasks receive None.
            results[upstream.task_id] = runtime.pull_xcom(upstream.task_id, RETURN_VALUE, None, None)
    args = tuple(substitute_refs(list(ref.args), results))
    kwargs: dict[str, Any] = substitute_refs(ref.kwargs, results)
    try:
        signature = inspect.signature(ref.task.fn)
    except (TypeError, ValueError):
        return args, kwargs
    if CONTEXT_PARAMETER in signature.parameters:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            return args, kwargs  # the call itself will say what is wrong
        if CONTEXT_PARAMETER not in bound.arguments:
            kwargs[CONTEXT_PARAMETER] = runtime.context
    return args, kwargs


def _call(ref: TaskRef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = ref.task.fn(*args, **kwargs)
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    return result


def describe_exception(exc: BaseException) -> str:
    """``ValueError: bad row``, even for an exception whose ``str()`` raises (as a traceback says it)."""
    try:
        text = str(exc)
    except Exception:
        text = "<exception str() failed>"
    return f"{type(exc).__name__}: {text}"


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the first frame outside this module: the task's code (and what it called)."""
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


def execute(ref: TaskRef, runtime: TaskRuntime) -> Outcome:
    """Run the task use with ``runtime`` as the current task runtime; raises nothing but :class:`Stopped`."""
    log = logging.getLogger(TASK_LOGGER)
    with running(runtime):
        try:
            args, kwargs = _arguments(ref, runtime)
            result = _call(ref, args, kwargs)
            if result is not None:
                try:
                    json.dumps(result, allow_nan=False)  # NaN and the infinities are not JSON either
                except (TypeError, ValueError) as exc:
                    message = f"the return value is not JSON ({exc}); return JSON data or None"
                    log.error("task %s failed: %s", ref.task_id, message)
                    return Outcome("failed", message)
                runtime.push_xcom(RETURN_VALUE, result)
        except TaskSkipped as exc:
            reason = str(exc) or "the task raised TaskSkipped"
            log.info("task %s skipped: %s", ref.task_id, reason)
            return Outcome("skipped", reason)
        except Stopped:
            raise
        except BaseException as exc:  # sys.exit(), KeyboardInterrupt...: the task's failure, reported
            reason = describe_exception(exc)
            log.error(
                "task %s failed: %s",
                ref.task_id,
                reason,
                exc_info=(type(exc), exc, _user_frames(exc.__traceback__)),
            )
            return Outcome("failed", reason)
    return Outcome("success")


__all__ = ["TASK_LOGGER", "Outcome", "OutcomeState", "Stopped", "describe_exception", "execute"]
