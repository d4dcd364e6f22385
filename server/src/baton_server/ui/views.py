"""What the UI's pages show, assembled from the services' reads: the runs grid and the log pane."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import DagRunRecord, TaskInstanceRecord, TaskLogRecord
from baton_server.db.types import utcnow
from baton_server.errors import NotFoundError
from baton_server.services import dag_runs, dags
from baton_server.services import logs as log_service
from baton_server.services.dag_specs import topological_order
from baton_server.services.dags import DagSummary
from baton_server.services.states import FINISHED_TI_STATES

GRID_RUNS = 25
"""How many of a DAG's newest runs its grid shows."""
LOG_PAGE = 1000
"""Log lines one read of the log pane brings."""
LOG_GRACE = timedelta(seconds=15)
"""How long after an attempt ended the log pane still polls: a worker ships its last lines after the end."""

SYMBOLS = {
    "success": "✓",
    "failed": "✗",
    "running": "▶",
    "queued": "…",
    "scheduled": "◷",
    "up_for_retry": "↻",
    "upstream_failed": "⊘",
    "skipped": "»",
    "none": "·",
}
"""A mark per state, so that a state reads without its color (its name is in the cell's title and text)."""

_CELL_PRIORITY = ["running", "queued", "up_for_retry", "scheduled", "failed", "upstream_failed", "none"]
"""Which state a cell of several mapped task instances shows: the first of these present, else success."""


def state_name(state: str | None) -> str:
    """A task instance's state for display: ``none`` while it waits for its upstream tasks."""
    return state or "none"


@dataclass(frozen=True, slots=True)
class GridCell:
    """One task in one run: its state, and the task instance it links to (several when mapped)."""

    state: str
    task_instances: list[TaskInstanceRecord]

    @property
    def symbol(self) -> str:
        """The state's mark."""
        return SYMBOLS.get(self.state, "?")

    @property
    def single(self) -> TaskInstanceRecord | None:
        """The one task instance of the cell, unless the task is mapped."""
        return self.task_instances[0] if len(self.task_instances) == 1 else None


@dataclass(frozen=True, slots=True)
class GridRow:
    """A task and its cells, one per run shown (None where the run has no such task)."""

    task_id: str
    cells: list[GridCell | None]


@dataclass(frozen=True, slots=True)
class Grid:
    """A DAG's newest runs (oldest first, left to right) against its tasks."""

    dag: DagSummary
    runs: list[DagRunRecord]
    rows: list[GridRow]
    total_runs: int


def _cell(tis: list[TaskInstanceRecord]) -> GridCell:
    states = {state_name(ti.state) for ti in tis}
    shown = next((s for s in _CELL_PRIORITY if s in states), None)
    if shown is None:
        shown = "success" if states == {"success"} else sorted(states)[0]
    return GridCell(state=shown, task_instances=tis)


async def build_grid(session: AsyncSession, dag_id: str) -> Grid:
    """The grid of a DAG: its newest runs as columns, its tasks (latest version's order first) as rows."""
    summary = await dags.get_dag(session, dag_id)
    newest, total = await dag_runs.list_dag_runs(
        session, dag_id=dag_id, state=None, limit=GRID_RUNS, offset=0
    )
    runs = list(reversed(newest))
    tis = await dag_runs.task_instances_of_runs(session, [r.id for r in runs])
    by_task: dict[str, dict[uuid.UUID, list[TaskInstanceRecord]]] = defaultdict(lambda: defaultdict(list))
    for ti in tis:
        by_task[ti.task_id][ti.dag_run_id].append(ti)
    task_ids = [t.task_id for t in topological_order(summary.version.spec)]
    task_ids += sorted(set(by_task) - set(task_ids))  # tasks that only older versions had
    rows = [
        GridRow(
            task_id=task_id,
            cells=[_cell(by_task[task_id][r.id]) if by_task[task_id].get(r.id) else None for r in runs],
        )
        for task_id in task_ids
    ]
    return Grid(dag=summary, runs=runs, rows=rows, total_runs=total)


async def load_task_instance(session: AsyncSession, task_instance_id: str) -> TaskInstanceRecord:
    """The task instance of a UI path, or NotFoundError (an id that is no UUID included)."""
    try:
        parsed = uuid.UUID(task_instance_id)
    except ValueError:
        raise NotFoundError(
            f"task instance {task_instance_id!r} does not exist", reason="task_instance_not_found"
        ) from None
    ti = await session.get(TaskInstanceRecord, parsed, populate_existing=True)
    if ti is None:
        raise NotFoundError(f"task instance {parsed} does not exist", reason="task_instance_not_found")
    return ti


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Lines of one attempt after a line id, and whether the pane should ask for more."""

    try_number: int
    lines: list[TaskLogRecord]
    after: int
    follow: bool
    more_now: bool
    ended: str | None = field(default=None)


def attempt_is_live(ti: TaskInstanceRecord, try_number: int, now: datetime | None = None) -> bool:
    """Whether an attempt may still get log lines: the current one, running or ended moments ago."""
    if try_number != ti.try_number:
        return False
    if ti.state is None or ti.state not in FINISHED_TI_STATES:
        return True
    return ti.end_date is None or (now or utcnow()) - ti.end_date < LOG_GRACE


async def read_log_chunk(
    session: AsyncSession, ti: TaskInstanceRecord, try_number: int, after: int
) -> LogChunk:
    """The next lines of an attempt for the log pane, and whether to keep following it."""
    lines, _ = await log_service.read_logs(session, ti.id, try_number=try_number, after=after, limit=LOG_PAGE)
    more_now = len(lines) == LOG_PAGE
    follow = more_now or attempt_is_live(ti, try_number)
    ended = None
    if not follow and try_number == ti.try_number:
        ended = state_name(ti.state)
    return LogChunk(
        try_number=try_number,
        lines=lines,
        after=lines[-1].id if lines else after,
        follow=follow,
        more_now=more_now,
        ended=ended,
    )
