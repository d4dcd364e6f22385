"""Tasks: a Python callable with its run settings (:class:`Task`), and its uses in DAGs (:class:`TaskRef`).

``@task`` turns a function into a :class:`Task`. Calling the task inside a DAG does not run it:
it adds a use of the task to the DAG and returns a :class:`TaskRef`. Passing that reference to
another task's call makes a data dependency (the downstream task receives the upstream task's
return value, which travels as the XCom ``return_value``); ``a >> b`` makes an ordering one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

from baton._errors import DagDefinitionError

if TYPE_CHECKING:
    from baton._dag import DAG

TriggerRule = Literal["all_success", "all_done", "none_failed"]
"""When a task may start: every upstream succeeded; every upstream finished; none failed."""

TRIGGER_RULES: tuple[TriggerRule, ...] = ("all_success", "all_done", "none_failed")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$")
"""DAG, task, variable, connection and queue ids: 1 to 250 letters, digits, ``_ . -``."""

Duration = timedelta | int | float
"""A duration: a timedelta, or seconds."""


def check_id(kind: str, value: object) -> str:
    """``value`` when it is a valid id, else DagDefinitionError naming what it is."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise DagDefinitionError(
            f"{kind} {value!r} is not a valid id: use 1 to 250 letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'"
        )
    return value


def to_seconds(kind: str, value: Duration | None, *, minimum: float) -> int | None:
    """Whole seconds of a duration (rounded up), or None; DagDefinitionError below ``minimum``."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < minimum:
        raise DagDefinitionError(f"{kind} must be at least {minimum:g} seconds, not {value!r}")
    whole = int(seconds)
    return whole if whole == seconds else whole + 1


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """How a task runs; None means: the DAG's default, else the server's."""

    retries: int | None = None
    retry_delay: Duration | None = None
    execution_timeout: Duration | None = None
    queue: str | None = None
    trigger_rule: TriggerRule | None = None
    pool: str | None = None
    """The named pool whose slots the task takes while claimed or running (server default: default_pool)."""
    pool_slots: int | None = None

    def check(self, where: str) -> None:
        """Raise DagDefinitionError for a setting the server would refuse."""
        if self.retries is not None and (
            isinstance(self.retries, bool)
            or not isinstance(self.retries, int)
            or not 0 <= self.retries <= 100
        ):
            raise DagDefinitionError(
                f"{where}: retries must be an integer from 0 to 100, not {self.retries!r}"
            )
        to_seconds(f"{where}: retry_delay", self.retry_delay, minimum=0)
        to_seconds(f"{where}: execution_timeout", self.execution_timeout, minimum=1)
        if self.queue is not None:
            check_id(f"{where}: queue", self.queue)
        if self.pool is not None:
            check_id(f"{where}: pool", self.pool)
        if self.pool_slots is not None and (
            isinstance(self.pool_slots, bool)
            or not isinstance(self.pool_slots, int)
            or not 1 <= self.pool_slots <= 10_000
        ):
            raise DagDefinitionError(
                f"{where}: pool_slots must be an integer from 1 to 10000, not {self.pool_slots!r}"
            )
        if self.trigger_rule is not None and self.trigger_rule not in TRIGGER_RULES:
            raise DagDefinitionError(
                f"{where}: trigger_rule must be one of {', '.join(TRIGGER_RULES)}, not {self.trigger_rule!r}"
            )

    def merged_over(self, defaults: TaskSettings) -> TaskSettings:
        """These settings, with ``defaults`` filling in the ones left unset."""
        return TaskSettings(
            retries=self.retries if self.retries is not None else defaults.retries,
            retry_delay=self.retry_delay if self.retry_delay is not None else defaults.retry_delay,
            execution_timeout=(
                self.execution_timeout if self.execution_timeout is not None else defaults.execution_timeout
            ),
            queue=self.queue if self.queue is not None else defaults.queue,
            trigger_rule=self.trigger_rule if self.trigger_rule is not None else defaults.trigger_rule,
            pool=self.pool if self.pool is not None else defaults.pool,
            pool_slots=self.pool_slots if self.pool_slots is not None else defaults.pool_slots,
        )


class Task:
    """A callable and how it runs; call it inside a DAG to add it (``@task`` builds one)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        task_id: str | None = None,
        retries: int | None = None,
        retry_delay: Duration | None = None,
        execution_timeout: Duration | None = None,
        queue: str | None = None,
        trigger_rule: TriggerRule | None = None,
        pool: str | None = None,
        pool_slots: int | None = None,
    ) -> None:
        if not callable(fn):
            raise DagDefinitionError(f"a task needs a callable, not {fn!r}")
        self.fn = fn
        self.task_id = check_id("task id", task_id if task_id is not None else getattr(fn, "__name__", None))
        self.settings = TaskSettings(
            retries, retry_delay, execution_timeout, queue, trigger_rule, pool, pool_slots
        )
        self.settings.check(f"task {self.task_id!r}")
        self.__doc__ = getattr(fn, "__doc__", None)

    def override(self, **settings: Any) -> Task:
        """A copy with other settings (``task_id``, ``retries``, ``retry_delay``, ``queue``, ...)."""
        task_id = settings.pop("task_id", self.task_id)
        unknown = sorted(set(settings) - set(TaskSettings.__dataclass_fields__))
        if unknown:
            raise DagDefinitionError(f"task {self.task_id!r}: unknown setting(s) {', '.join(unknown)}")
        merged = replace(self.settings, **settings)
        return Task(
            self.fn, task_id=task_id, **{f: getattr(merged, f) for f in TaskSettings.__dataclass_fields__}
        )

    def __call__(self, *args: Any, **kwargs: Any) -> TaskRef:
        """Add this task to the DAG being defined, with these arguments; returns its reference."""
        from baton._dag import current_dag

        dag = current_dag()
        if dag is None:
            raise DagDefinitionError(
                f"task {self.task_id!r} was called outside a DAG: call tasks inside a @dag function "
                "or a `with DAG(...)` block (to run the function itself, call task.fn)"
            )
        return dag.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"Task({self.task_id!r})"


class TaskRef:
    """One use of a task in a DAG: its arguments, its upstream tasks, and (as an argument) its result."""

    def __init__(
        self, dag: DAG, task: Task, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.dag = dag
        self.task = task
        self.task_id = task_id
        self.args = args
        self.kwargs = kwargs
        self.upstream_task_ids: list[str] = []
        for ref in iter_refs((args, kwargs)):
            if ref.dag is not dag:
                raise DagDefinitionError(
                    f"task {task_id!r} of DAG {dag.dag_id!r} takes the result of {ref.task_id!r}, "
                    f"a task of another DAG ({ref.dag.dag_id!r})"
                )
            self._add_upstream(ref)

    def _add_upstream(self, ref: TaskRef) -> None:
        if ref.dag is not self.dag:
            raise DagDefinitionError(
                f"{ref.task_id!r} (DAG {ref.dag.dag_id!r}) and {self.task_id!r} (DAG {self.dag.dag_id!r}) "
                "belong to different DAGs"
            )
        if ref is self:
            raise DagDefinitionError(f"task {self.task_id!r} cannot depend on itself")
        if ref.task_id not in self.upstream_task_ids:
            self.upstream_task_ids.append(ref.task_id)

    def set_downstream(self, *others: TaskRef | Sequence[TaskRef]) -> None:
        """Make each of ``others`` wait for this task."""
        for other in _flatten(others):
            other._add_upstream(self)

    def set_upstream(self, *others: TaskRef | Sequence[TaskRef]) -> None:
        """Make this task wait for each of ``others``."""
        for other in _flatten(others):
            self._add_upstream(other)

    @overload
    def __rshift__(self, other: TaskRef) -> TaskRef: ...
    @overload
    def __rshift__(self, other: Sequence[TaskRef]) -> Sequence[TaskRef]: ...
    def __rshift__(self, other: TaskRef | Sequence[TaskRef]) -> TaskRef | Sequence[TaskRef]:
        """``self >> other``: other runs after self; returns other, for chains."""
        self.set_downstream(other)
        return other

    @overload
    def __lshift__(self, other: TaskRef) -> TaskRef: ...
    @overload
    def __lshift__(self, other: Sequence[TaskRef]) -> Sequence[TaskRef]: ...
    def __lshift__(self, other: TaskRef | Sequence[TaskRef]) -> TaskRef | Sequence[TaskRef]:
        """``self << other``: self runs after other; returns other, for chains."""
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Sequence[TaskRef]) -> TaskRef:
        """``[a, b] >> self``: self runs after a and b."""
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Sequence[TaskRef]) -> TaskRef:
        """``[a, b] << self``: a and b run after self."""
        self.set_downstream(other)
        return self

    def __repr__(self) -> str:
        return f"TaskRef({self.dag.dag_id!r}, {self.task_id!r})"


def _flatten(items: Sequence[TaskRef | Sequence[TaskRef]]) -> Iterator[TaskRef]:
    for item in items:
        if isinstance(item, TaskRef):
            yield item
        elif isinstance(item, list | tuple | set | frozenset):
            for inner in item:
                if not isinstance(inner, TaskRef):
                    raise DagDefinitionError(f"only tasks can be chained with >> and <<, not {inner!r}")
                yield inner
        else:
            raise DagDefinitionError(f"only tasks can be chained with >> and <<, not {item!r}")


_RUNTIME = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
"""A runtime's name, as the API defines it (``go``, ``java``, or one of any other language)."""


def _runs_elsewhere(*args: Any, **kwargs: Any) -> Any:
    raise DagDefinitionError("an external task runs in a worker of its own runtime, never in Python")


class ExternalTask(Task):
    """A task of this DAG that a worker of another runtime runs (a Java or Go task, say).

    The bundle declares it (its id, runtime, entry point and settings) so that one DAG can mix
    languages; the other runtime's worker serves the entry point. Call it with upstream tasks only:
    it reads their XComs itself, and Python tasks taking it as an argument receive its return value.
    """

    def __init__(self, task_id: str, *, runtime: str, entry_point: str, **settings: Any) -> None:
        super().__init__(_runs_elsewhere, task_id=task_id, **settings)
        if not isinstance(runtime, str) or not _RUNTIME.match(runtime) or runtime == "python":
            raise DagDefinitionError(
                f"external task {task_id!r}: runtime must name another runtime "
                f"(lowercase letters, digits, _ and -, at most 20), not {runtime!r}"
            )
        if not isinstance(entry_point, str) or not 1 <= len(entry_point) <= 1000:
            raise DagDefinitionError(f"external task {task_id!r}: entry_point must be 1 to 1000 characters")
        self.runtime = runtime
        self.entry_point = entry_point

    def __call__(self, *upstream: Any, **kwargs: Any) -> TaskRef:
        """Add this task to the DAG being defined, after ``upstream``; returns its reference."""
        if kwargs or not all(isinstance(ref, TaskRef) for ref in upstream):
            raise DagDefinitionError(
                f"external task {self.task_id!r} takes upstream tasks only (it reads their XComs itself)"
            )
        return super().__call__(*upstream)

    def __repr__(self) -> str:
        return f"ExternalTask({self.task_id!r}, runtime={self.runtime!r})"


def external_task(
    task_id: str,
    *,
    runtime: str,
    entry_point: str,
    retries: int | None = None,
    retry_delay: Duration | None = None,
    execution_timeout: Duration | None = None,
    queue: str | None = None,
    trigger_rule: TriggerRule | None = None,
    pool: str | None = None,
    pool_slots: int | None = None,
) -> ExternalTask:
    """Declare a task another runtime's worker runs (``runtime="java"``, its ``entry_point``, settings)."""
    return ExternalTask(
        task_id,
        runtime=runtime,
        entry_point=entry_point,
        retries=retries,
        retry_delay=retry_delay,
        execution_timeout=execution_timeout,
        queue=queue,
        trigger_rule=trigger_rule,
        pool=pool,
        pool_slots=pool_slots,
    )


def iter_refs(value: Any) -> Iterator[TaskRef]:
    """Every TaskRef in ``value``, looking inside lists, tuples, sets and dict values."""
    if isinstance(value, TaskRef):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from iter_refs(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_refs(item)


def substitute_refs(value: Any, results: Mapping[str, Any]) -> Any:
    """``value`` with every TaskRef replaced by its task's result (from ``results``, by task id)."""
    if isinstance(value, TaskRef):
        return results[value.task_id]
    if isinstance(value, list):
        return [substitute_refs(item, results) for item in value]
    if isinstance(value, tuple):
        return tuple(substitute_refs(item, results) for item in value)
    if isinstance(value, set | frozenset):
        return type(value)(substitute_refs(item, results) for item in value)
    if isinstance(value, Mapping):
        return {key: substitute_refs(item, results) for key, item in value.items()}
    return value


@overload
def task(fn: Callable[..., Any], /) -> Task: ...
@overload
def task(
    *,
    task_id: str | None = None,
    retries: int | None = None,
    retry_delay: Duration | None = None,
    execution_timeout: Duration | None = None,
    queue: str | None = None,
    trigger_rule: TriggerRule | None = None,
    pool: str | None = None,
    pool_slots: int | None = None,
) -> Callable[[Callable[..., Any]], Task]: ...
def task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    task_id: str | None = None,
    retries: int | None = None,
    retry_delay: Duration | None = None,
    execution_timeout: Duration | None = None,
    queue: str | None = None,
    trigger_rule: TriggerRule | None = None,
    pool: str | None = None,
    pool_slots: int | None = None,
) -> Task | Callable[[Callable[..., Any]], Task]:
    """Make a function a :class:`Task`: ``@task`` or ``@task(retries=2, queue="python", ...)``."""

    def wrap(function: Callable[..., Any]) -> Task:
        return Task(
            function,
            task_id=task_id,
            retries=retries,
            retry_delay=retry_delay,
            execution_timeout=execution_timeout,
            queue=queue,
            trigger_rule=trigger_rule,
            pool=pool,
            pool_slots=pool_slots,
        )

    return wrap(fn) if fn is not None else wrap


__all__ = [
    "Duration",
    "ExternalTask",
    "Task",
    "TaskRef",
    "TaskSettings",
    "TriggerRule",
    "external_task",
    "task",
]
