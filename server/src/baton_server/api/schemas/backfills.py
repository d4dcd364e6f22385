"""Wire models of the admin API's backfills."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictInt

from baton_server.api.schemas.common import IntegralNumber, RequestModel, ResponseModel, StrictAwareDatetime
from baton_server.services.backfills import MAX_INTERVALS, BackfillState, ReprocessBehavior


class BackfillCreate(RequestModel):
    """A backfill of a scheduled DAG: one run per tick of its schedule from `from_date` to `to_date`."""

    from_date: StrictAwareDatetime = Field(description="The first logical date (tick) covered, inclusive.")
    to_date: StrictAwareDatetime = Field(description="The last logical date (tick) covered, inclusive.")
    max_active_runs: Annotated[StrictInt, Field(ge=1, le=MAX_INTERVALS), IntegralNumber] = Field(
        default=10,
        description="At most this many of the backfill's runs are queued or running at once; the rest "
        "wait and are made as earlier ones finish.",
    )
    reprocess_behavior: ReprocessBehavior = Field(
        default=ReprocessBehavior.NONE,
        description="Intervals that already have a run: `none` skips them all, `failed` makes a run for "
        "those whose runs all failed, `completed` makes one for every interval. An interval with a queued "
        "or running run is always skipped.",
    )


class Backfill(ResponseModel):
    """A backfill and its progress."""

    id: uuid.UUID
    dag_id: str
    from_date: datetime
    to_date: datetime
    max_active_runs: int
    reprocess_behavior: ReprocessBehavior
    state: BackfillState = Field(
        description="`completed` once every interval is handled and its runs are over."
    )
    total_intervals: int = Field(description="Ticks of the schedule in the range.")
    runs_created: int = Field(description="Runs made so far.")
    intervals_skipped: int = Field(description="Intervals skipped so far, because of their existing runs.")
    next_logical_date: datetime | None = Field(description="The next tick to handle; null: all handled.")
    queued_runs: int
    running_runs: int
    successful_runs: int
    failed_runs: int
    created_at: datetime
    completed_at: datetime | None


class BackfillList(ResponseModel):
    """A DAG's backfills, newest first (at most 100)."""

    backfills: list[Backfill]
