"""Named pools: task instances that name a pool take its slots while claimed, running or stopping.

The claim path (services/workloads.py) enforces the slots; this module manages the pools.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    ScalarSelect,
    Select,
    Table,
    and_,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from baton_server.db.engine import Reader
from baton_server.db.tables import PoolRecord, TaskInstanceRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import ConflictError, NotFoundError
from baton_server.services.dag_specs import DEFAULT_POOL
from baton_server.services.states import TaskInstanceState

DEFAULT_POOL_DESCRIPTION = "The pool of every task that names none"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ACTIVE_STATES = (TaskInstanceState.QUEUED.value, TaskInstanceState.RUNNING.value)
"""The states in which a claimed task instance takes its pool's slots (and counts for its DAG)."""
_TI = cast(Table, TaskInstanceRecord.__table__)


async def list_pools(session: AsyncSession) -> list[tuple[PoolRecord, int]]:
    """Every pool with the slots its claimed or running task instances take, by name."""
    records = list((await session.scalars(select(PoolRecord).order_by(PoolRecord.name))).all())
    if all(r.name != DEFAULT_POOL for r in records):
        records = sorted([*records, _default_pool()], key=lambda r: r.name)
    used = await usage(session, TaskInstanceRecord.pool, [r.name for r in records])
    return [(r, used.get(r.name, 0)) for r in records]


async def get_pool(session: AsyncSession, name: str) -> tuple[PoolRecord, int]:
    """One pool with its used slots."""
    record = await session.get(PoolRecord, name, populate_existing=True)
    if record is None and name == DEFAULT_POOL:
        record = _default_pool()
    if record is None:
        raise NotFoundError(f"pool {name!r} does not exist", reason="pool_not_found")
    return record, (await usage(session, TaskInstanceRecord.pool, [name])).get(name, 0)


async def set_pool(
    session: AsyncSession, name: str, slots: int | None, description: str | None
) -> tuple[PoolRecord, int]:
    """Create or replace a pool; lowering its slots below what is used stops new claims, not running tasks.

    The pool as written with its used slots, read in the same transaction (a delete that comes right
    after cannot turn the answer into a 404)."""
    values = {"name": name, "slots": slots, "description": description, "updated_at": utcnow()}
    await upsert(session, PoolRecord, values, ["name"])
    written = await get_pool(session, name)
    await session.commit()
    return written


async def delete_pool(session: AsyncSession, name: str) -> None:
    """Delete a pool (not the default one); its tasks are no longer limited until it is made again."""
    if name == DEFAULT_POOL:
        raise ConflictError(
            f"{DEFAULT_POOL!r} cannot be deleted; set its slots to null to lift its limit",
            reason="default_pool_not_deletable",
        )
    await get_pool(session, name)
    await session.execute(delete(PoolRecord).where(PoolRecord.name == name))
    await session.commit()


def _default_pool() -> PoolRecord:
    """The default pool as it is before an operator sets it (a database made without migrations lacks it)."""
    return PoolRecord(name=DEFAULT_POOL, slots=None, description=DEFAULT_POOL_DESCRIPTION, updated_at=EPOCH)


def taking_a_slot(table: FromClause) -> ColumnElement[bool]:
    """The task instances of ``table`` that take their pool's slots and count for their DAG: claimed, not
    finished, or stopping (an operator ended or cleared the attempt while it ran, and its process may run
    yet: ``stopping_at``). The states are written as literals, so that every plan (a prepared statement's
    generic one too) can read the partial indexes of exactly these rows (``TAKING_A_SLOT``, migration
    0016)."""
    states: list[ColumnElement[Any]] = [literal_column(f"'{state}'") for state in ACTIVE_STATES]
    return and_(
        table.c.worker_id.is_not(None), or_(table.c.state.in_(states), table.c.stopping_at.is_not(None))
    )


def _taken(table: FromClause, of: str) -> ColumnElement[Any]:
    """What task instances of ``table`` take of a pool (``of="pool"``: their ``pool_slots``) or of a DAG
    (``of="dag_id"``: a count)."""
    return func.sum(table.c.pool_slots) if of == "pool" else func.count()


def slots_taken(of: str, name: ColumnElement[str]) -> ScalarSelect[int]:
    """What the task instances taking a slot take of the pool (``of="pool"``) or the DAG (``of="dag_id"``)
    named ``name`` (:func:`_taken`)."""
    taking = _TI.alias("taking")
    chosen = select(func.coalesce(_taken(taking, of), 0)).where(taking.c[of] == name, taking_a_slot(taking))
    return chosen.scalar_subquery()


def taken_by_name(of: str, which: ColumnElement[bool]) -> Select[str, int]:
    """What the task instances taking a slot take of each pool (``of="pool"``) or DAG (``of="dag_id"``)
    they name that meets ``which``: (name, taken), from the partial indexes of those rows."""
    column = _TI.c[of]
    return (
        select(column.label("name"), _taken(_TI, of).label("taken"))
        .where(which, taking_a_slot(_TI))
        .group_by(column)
    )


async def usage(reader: Reader, column: InstrumentedAttribute[str], names: list[str]) -> dict[str, int]:
    """What the claimed or running task instances take of each of these pools (slots) or DAGs (count)."""
    if not names:
        return {}
    rows = await reader.execute(taken_by_name(column.key, column.in_(names)))
    return {name: int(used or 0) for name, used in rows}
