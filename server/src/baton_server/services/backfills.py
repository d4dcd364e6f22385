"""Backfills: one run per schedule tick in a date range, at most a cap of them queued or running.

A backfill is created ``running`` with a cursor at its first tick. Each scheduler pass
(:func:`advance_backfills`) handles ticks from the cursor on while fewer than ``max_active_runs``
of the backfill's runs are queued or running: it makes a run for the tick, or skips the tick when
its interval already has a run the ``reprocess_behavior`` keeps (as Airflow's backfills do):

- ``none``: skip every interval that has a run of any state;
- ``failed``: skip an interval that has a queued, running or successful run (rerun failed ones);
- ``completed``: skip only an interval that has a queued or running run.

A tick's interval never gets a second queued or running run. A backfill's runs are ``scheduled``
runs (logical date the tick, data interval from the tick before) with run id
``backfill__<tick>__<backfill id prefix>``. Once every tick is handled and none of its runs is
queued or running, the backfill is ``completed``. Backfills run on paused DAGs too, as triggered
runs do; each run uses the DAG's latest version, and the DAG's own ``max_active_runs`` still holds.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import BackfillRecord, DagRecord, DagRunRecord
from baton_server.db.types import new_id, utcnow
from baton_server.errors import ConflictError, InvalidInputError, NotFoundError
from baton_server.services._sql import insert_ignoring_conflicts, is_postgres, rowcount
from baton_server.services.dag_runs import run_id_time
from baton_server.services.dags import commit_unless_dag_gone, get_dag, load_version_or_none
from baton_server.services.schedules import UNSCHEDULABLE
from baton_server.services.states import DagRunState

log = logging.getLogger("baton_server.scheduler")

MAX_INTERVALS = 1000
"""Most schedule intervals one backfill covers; a longer range is refused (split it)."""

_ACTIVE = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)
_PER_PASS = 200
"""Most ticks one pass handles for one backfill."""


class ReprocessBehavior(StrEnum):
    """Which intervals that already have a run get another one."""

    NONE = "none"
    FAILED = "failed"
    COMPLETED = "completed"


class BackfillState(StrEnum):
    """``running`` until every tick is handled and its runs are over, then ``completed``."""

    RUNNING = "running"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """A backfill with the number of its runs in each state."""

    backfill: BackfillRecord
    runs_by_state: dict[str, int]


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} must carry a time zone", reason="naive_datetime")


async def create_backfill(
    session: AsyncSession,
    dag_id: str,
    *,
    from_date: datetime,
    to_date: datetime,
    max_active_runs: int,
    reprocess_behavior: ReprocessBehavior,
    now: datetime | None = None,
) -> BackfillProgress:
    """Create a running backfill of the DAG's schedule ticks in ``[from_date, to_date]``."""
    _aware(from_date, "from_date")
    _aware(to_date, "to_date")
    if from_date > to_date:
        raise InvalidInputError(
            f"from_date {from_date.isoformat()} is after to_date {to_date.isoformat()}",
            reason="invalid_backfill_range",
        )
    summary = await get_dag(session, dag_id)
    schedule = summary.version.spec.schedule
    if schedule is None:
        raise InvalidInputError(f"DAG {dag_id!r} has no schedule to backfill", reason="dag_not_scheduled")
    try:
        ticks = schedule.ticks_between(from_date, to_date, MAX_INTERVALS)  # the tick after the last too
        if ticks:
            schedule.previous_before(ticks[0])  # the first run's data interval starts there
    except UNSCHEDULABLE:
        # A range at the calendar's ends: stored, the backfill failed every scheduler pass from then on.
        raise InvalidInputError(
            f"the range from {from_date.isoformat()} to {to_date.isoformat()} puts a tick of DAG "
            f"{dag_id!r}'s schedule ({schedule.summary}), or the tick before or after it, outside the "
            "calendar (years 1 to 9999)",
            reason="validation_error",
        ) from None
    if not ticks:
        raise InvalidInputError(
            f"no tick of DAG {dag_id!r}'s schedule ({schedule.summary}) falls in the range",
            reason="empty_backfill_range",
        )
    if len(ticks) > MAX_INTERVALS:
        raise InvalidInputError(
            f"the range holds more than {MAX_INTERVALS} intervals of DAG {dag_id!r}'s schedule "
            f"({schedule.summary}); split it into several backfills",
            reason="too_many_backfill_intervals",
        )
    if is_postgres(session):
        # Two replicas creating a backfill of one DAG at once check for a running one in turn.
        await session.execute(select(DagRecord.dag_id).where(DagRecord.dag_id == dag_id).with_for_update())
    running = await session.scalar(
        select(BackfillRecord.id).where(
            BackfillRecord.dag_id == dag_id, BackfillRecord.state == BackfillState.RUNNING.value
        )
    )
    if running is not None:
        await session.rollback()
        raise ConflictError(
            f"DAG {dag_id!r} has a running backfill {running}: wait for it to complete",
            reason="backfill_already_running",
        )
    record = BackfillRecord(
        id=new_id(),
        dag_id=dag_id,
        from_date=from_date,
        to_date=to_date,
        max_active_runs=max_active_runs,
        reprocess_behavior=reprocess_behavior.value,
        total_intervals=len(ticks),
        runs_created=0,
        intervals_skipped=0,
        next_logical_date=ticks[0],
        state=BackfillState.RUNNING.value,
        created_at=now or utcnow(),
    )
    session.add(record)
    await commit_unless_dag_gone(session, dag_id)
    return BackfillProgress(record, {})


async def _runs_by_state(session: AsyncSession, backfill_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(DagRunRecord.state, func.count())
        .where(DagRunRecord.backfill_id == backfill_id)
        .group_by(DagRunRecord.state)
    )
    return {state: int(count) for state, count in rows}


async def get_backfill(session: AsyncSession, dag_id: str, backfill_id: uuid.UUID) -> BackfillProgress:
    """One backfill of the DAG with its runs counted by state, or NotFoundError."""
    await get_dag(session, dag_id)
    record = await session.scalar(
        select(BackfillRecord)
        .where(BackfillRecord.id == backfill_id, BackfillRecord.dag_id == dag_id)
        .execution_options(populate_existing=True)
    )
    if record is None:
        raise NotFoundError(f"DAG {dag_id!r} has no backfill {backfill_id}", reason="backfill_not_found")
    return BackfillProgress(record, await _runs_by_state(session, record.id))


async def list_backfills(session: AsyncSession, dag_id: str) -> list[BackfillProgress]:
    """The DAG's backfills, newest first (at most 100)."""
    await get_dag(session, dag_id)
    records = await session.scalars(
        select(BackfillRecord)
        .where(BackfillRecord.dag_id == dag_id)
        .order_by(BackfillRecord.created_at.desc(), BackfillRecord.id)
        .limit(100)
    )
    return [BackfillProgress(r, await _runs_by_state(session, r.id)) for r in records.all()]


async def _keeps_interval(session: AsyncSession, dag_id: str, tick: datetime, behavior: str) -> bool:
    """Whether an existing run of the tick's interval means the backfill skips it."""
    states = set(
        (
            await session.scalars(
                select(DagRunRecord.state).where(
                    DagRunRecord.dag_id == dag_id, DagRunRecord.logical_date == tick
                )
            )
        ).all()
    )
    if states & set(_ACTIVE):
        return True
    if behavior == ReprocessBehavior.NONE.value:
        return bool(states)
    if behavior == ReprocessBehavior.FAILED.value:
        return DagRunState.SUCCESS.value in states
    return False


def running_backfill_dags() -> Select[str]:
    """The DAGs of the running backfills (whose rows a pass locks first: a run inserted takes its DAG's)."""
    return select(BackfillRecord.dag_id).where(BackfillRecord.state == BackfillState.RUNNING.value)


async def advance_backfills(
    session: AsyncSession, now: datetime, *, held: frozenset[str] | None = None
) -> int:
    """Make the next runs of every running backfill, up to its cap; complete finished ones.

    Returns how many runs were made. Every write is conditional on the cursor or state it read,
    like the scheduled runs' ``next_run_at``. With ``held`` (the DAGs whose rows the pass locked
    first), a backfill of another DAG (made since) waits for the next pass.
    """
    records = await session.scalars(
        select(BackfillRecord)
        .where(BackfillRecord.state == BackfillState.RUNNING.value)
        .order_by(BackfillRecord.created_at, BackfillRecord.id)
        .limit(_PER_PASS)
    )
    created = 0
    for record in list(records.all()):
        if held is not None and record.dag_id not in held:
            continue
        created += await _advance(session, record, now)
    return created


async def _advance(session: AsyncSession, record: BackfillRecord, now: datetime) -> int:
    active = int(
        await session.scalar(
            select(func.count()).where(DagRunRecord.backfill_id == record.id, DagRunRecord.state.in_(_ACTIVE))
        )
        or 0
    )
    cursor = record.next_logical_date
    if cursor is None:
        if active == 0:
            await session.execute(
                update(BackfillRecord)
                .where(BackfillRecord.id == record.id, BackfillRecord.state == BackfillState.RUNNING.value)
                .values(state=BackfillState.COMPLETED.value, completed_at=now)
            )
        return 0
    dag = await session.get(DagRecord, record.dag_id)
    version = (
        await load_version_or_none(session, dag.latest_version_id) if dag and dag.latest_version_id else None
    )
    schedule = version.spec.schedule if version else None
    created = 0
    handled = 0
    while cursor is not None and active < record.max_active_runs and handled < _PER_PASS:
        handled += 1
        try:
            following = schedule.next_after(cursor) if schedule else None
            interval_start = schedule.previous_before(cursor) if schedule else None
        except UNSCHEDULABLE as exc:  # stored before creation refused such ranges
            log.error(
                "backfill %s of DAG %r: its schedule has no tick to compute (%s): the rest are skipped",
                record.id,
                record.dag_id,
                exc,
            )
            schedule, following, interval_start = None, None, None
        if following is not None and following > record.to_date:
            following = None
        made = skipped = 0
        if version is None or schedule is None:
            # The schedule was removed since (or has no tick to compute): the remaining ticks are skipped.
            skipped = record.total_intervals - record.runs_created - record.intervals_skipped
            following = None
        elif await _keeps_interval(session, record.dag_id, cursor, record.reprocess_behavior):
            skipped = 1
        claimed = await session.execute(
            update(BackfillRecord)
            .where(BackfillRecord.id == record.id, BackfillRecord.next_logical_date == cursor)
            .values(
                next_logical_date=following,
                runs_created=BackfillRecord.runs_created + (0 if skipped else 1),
                intervals_skipped=BackfillRecord.intervals_skipped + skipped,
            )
        )
        if rowcount(claimed) != 1:
            break
        if not skipped and version is not None and schedule is not None:
            result = await session.execute(
                insert_ignoring_conflicts(
                    session,
                    DagRunRecord,
                    {
                        "id": new_id(),
                        "dag_id": record.dag_id,
                        "run_id": f"backfill__{run_id_time(cursor)}__{record.id.hex[:8]}",
                        "dag_version_id": version.id,
                        "run_type": "scheduled",
                        "state": DagRunState.QUEUED.value,
                        "logical_date": cursor,
                        "data_interval_start": interval_start,
                        "data_interval_end": cursor,
                        "conf": {},
                        "queued_at": now,
                        "backfill_id": record.id,
                    },
                )
            )
            made = rowcount(result)
        created += made
        active += made
        cursor = following
    return created
