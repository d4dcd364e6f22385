"""DAGs: a set of task uses and their dependencies (:class:`DAG`, ``@dag``).

A DAG is defined by running Python: inside ``with DAG(...)`` or a ``@dag`` function, each task
call adds a task to it. Loading a bundle imports its modules while collecting every DAG they
define (:func:`collecting`); the worker then describes those DAGs to the server, never their code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, overload

from baton._errors import DagDefinitionError
from baton._task import Duration, Task, TaskRef, TaskSettings, TriggerRule, check_id

Schedule = str | timedelta | int
"""A cron expression (UTC, e.g. ``"0 6 * * *"``), or an interval (a timedelta, or seconds)."""

_defining: ContextVar[tuple[DAG, ...]] = ContextVar("baton_defining_dags", default=())
_collected: ContextVar[list[DAG] | None] = ContextVar("baton_collected_dags", default=None)


def current_dag() -> DAG | None:
    """The DAG being defined in this context (the innermost), if any."""
    stack = _defining.get()
    return stack[-1] if stack else None


@contextmanager
def collecting() -> Iterator[list[DAG]]:
    """Collect, into the yielded list, every DAG created inside the block (used to load bundles)."""
    found: list[DAG] = []
    token = _collected.set(found)
    try:
        yield found
    finally:
        _collected.reset(token)


def _caller_module(depth: int) -> str | None:
    frame = inspect.currentframe()
    for _ in range(depth + 1):
        frame = frame.f_back if frame is not None else None
    return frame.f_globals.get("__name__") if frame is not None else None


class DAG:
    """A DAG: define its tasks inside ``with DAG("id"):`` (or use ``@dag`` on a function)."""

    def __init__(
        self,
        dag_id: str,
        *,
        description: str | None = None,
        schedule: Schedule | None = None,
        start_at: datetime | None = None,
        queue: str | None = None,
        retries: int | None = None,
        retry_delay: Duration | None = None,
        execution_timeout: Duration | None = None,
        trigger_rule: TriggerRule | None = None,
        module: str | None = None,
        pool: str | None = None,
        pool_slots: int | None = None,
        max_active_runs: int | None = None,
        max_active_tasks: int | None = None,
        catchup: bool = False,
    ) -> None:
        self.dag_id = check_id("DAG id", dag_id)
        self.description = description
        self.schedule = schedule
        self.start_at = start_at
        if start_at is not None and start_at.tzinfo is None:
            raise DagDefinitionError(f"DAG {dag_id!r}: start_at needs a time zone (e.g. datetime.UTC)")
        self.defaults = TaskSettings(
            retries, retry_delay, execution_timeout, queue, trigger_rule, pool, pool_slots
        )
        """Task settings every task of this DAG gets unless it sets its own."""
        self.defaults.check(f"DAG {dag_id!r}")
        for name, limit in (("max_active_runs", max_active_runs), ("max_active_tasks", max_active_tasks)):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                raise DagDefinitionError(f"DAG {dag_id!r}: {name} must be a positive integer, not {limit!r}")
        self.max_active_runs = max_active_runs
        """At most this many runs of the DAG run at once (None: no limit)."""
        self.max_active_tasks = max_active_tasks
        """At most this many of its task instances are claimed or running at once (None: no limit)."""
        if not isinstance(catchup, bool):
            raise DagDefinitionError(f"DAG {dag_id!r}: catchup must be True or False, not {catchup!r}")
        self.catchup = catchup
        """Whether every schedule tick the scheduler missed gets a run (False: only the latest one)."""
        self.module = module if module is not None else _caller_module(1)
        """The module that defines this DAG: the first part of its tasks' entry points."""
        self.tasks: dict[str, TaskRef] = {}
        collected = _collected.get()
        if collected is not None:
            collected.append(self)

    def add(self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskRef:
        """Add a use of ``task`` with these arguments (a second use gets the id ``<id>__1``, ...)."""
        task_id = task.task_id
        if task_id in self.tasks:
            n = 1
            while f"{task.task_id}__{n}" in self.tasks:
                n += 1
            task_id = check_id("task id", f"{task.task_id}__{n}")
        ref = TaskRef(self, task, task_id, args, kwargs)
        self.tasks[task_id] = ref
        return ref

    def task(self, task_id: str) -> TaskRef:
        """The task of that id; DagDefinitionError when there is none."""
        try:
            return self.tasks[task_id]
        except KeyError:
            raise DagDefinitionError(f"DAG {self.dag_id!r} has no task {task_id!r}") from None

    def settings_of(self, ref: TaskRef) -> TaskSettings:
        """A task's effective settings: its own, else this DAG's defaults (None: the server's default)."""
        return ref.task.settings.merged_over(self.defaults)

    def __enter__(self) -> Self:
        self._token = _defining.set((*_defining.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _defining.reset(self._token)

    def __repr__(self) -> str:
        return f"DAG({self.dag_id!r}, tasks={list(self.tasks)})"


class DagFunction:
    """A function decorated with ``@dag``: call it to define the DAG (it returns the :class:`DAG`)."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self.calls = 0
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> DAG:
        """Define the DAG: run the function with a new DAG as the current one."""
        self.calls += 1
        options = dict(self.options)
        dag_id = options.pop("dag_id", None) or self.fn.__name__
        if options.get("description") is None and self.fn.__doc__:
            options["description"] = inspect.cleandoc(self.fn.__doc__)
        with DAG(dag_id, module=self.fn.__module__, **options) as defined:
            self.fn(*args, **kwargs)
        if not defined.tasks:
            raise DagDefinitionError(f"DAG {dag_id!r} defines no task: call tasks inside the @dag function")
        return defined


@overload
def dag(fn: Callable[..., Any], /) -> DagFunction: ...
@overload
def dag(
    *,
    dag_id: str | None = None,
    description: str | None = None,
    schedule: Schedule | None = None,
    start_at: datetime | None = None,
    queue: str | None = None,
    retries: int | None = None,
    retry_delay: Duration | None = None,
    execution_timeout: Duration | None = None,
    trigger_rule: TriggerRule | None = None,
    pool: str | None = None,
    pool_slots: int | None = None,
    max_active_runs: int | None = None,
    max_active_tasks: int | None = None,
    catchup: bool = False,
) -> Callable[[Callable[..., Any]], DagFunction]: ...
def dag(
    fn: Callable[..., Any] | None = None, /, **options: Any
) -> DagFunction | Callable[[Callable[..., Any]], DagFunction]:
    """Make a function a DAG definition: call the decorated function (once, at module level) to define it."""

    def wrap(function: Callable[..., Any]) -> DagFunction:
        return DagFunction(function, options)

    return wrap(fn) if fn is not None else wrap


__all__ = ["DAG", "DagFunction", "Schedule", "collecting", "current_dag", "dag"]
