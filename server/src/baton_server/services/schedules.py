"""DAG schedules: a cron expression (evaluated in UTC) or a fixed interval, turned into run times.

By default runs are not caught up: after downtime (or a pause) the scheduler makes one run, for
the latest tick that has passed, and moves on to the next future tick. A DAG with ``catchup`` gets
one run per missed tick instead, oldest first, and a ``start_at`` in the past is its first tick. A
run's logical date is its tick; its data interval ends there and starts at the tick before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]

from baton_server.errors import InvalidInputError

_TINY = timedelta(microseconds=1)

UNSCHEDULABLE = (OverflowError, ValueError)
"""What computing a schedule's ticks raises when it has none to give: a date outside the years 1 to 9999,
or croniter finding no date (its errors are ValueErrors)."""
_YEAR_FIELD = 6  # croniter's seven fields: minute, hour, day, month, weekday, second, year


def _cron_next(expression: str, after: datetime) -> datetime:
    value: datetime = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    return value


def _cron_at_or_before(expression: str, moment: datetime) -> datetime:
    # croniter's start time is exclusive: nudge past ``moment`` so a tick exactly at it counts.
    value: datetime = croniter(expression, moment.astimezone(UTC) + _TINY).get_prev(datetime)
    return value


@dataclass(frozen=True, slots=True)
class Schedule:
    """Exactly one of ``cron`` and ``interval_seconds``; ``start_at`` anchors the first run."""

    cron: str | None = None
    interval_seconds: int | None = None
    start_at: datetime | None = None

    def validate(self, dag_id: str) -> None:
        """Raise InvalidInputError (reason ``invalid_schedule``) unless this schedule can fire."""
        if (self.cron is None) == (self.interval_seconds is None):
            raise InvalidInputError(
                f"DAG {dag_id!r}: a schedule needs exactly one of 'cron' and 'interval_seconds'",
                reason="invalid_schedule",
            )
        if self.cron is not None:
            if not croniter.is_valid(self.cron):
                raise InvalidInputError(
                    f"DAG {dag_id!r}: {self.cron!r} is not a cron expression", reason="invalid_schedule"
                )
            expanded = croniter(self.cron).expanded
            if len(expanded) > _YEAR_FIELD and expanded[_YEAR_FIELD] != ["*"]:
                # A year field (croniter's seventh) makes a schedule that stops: past its last year, or
                # before its first, there is no tick to compute, and every scheduler pass failed on it.
                raise InvalidInputError(
                    f"DAG {dag_id!r}: the cron expression {self.cron!r} limits the years it fires in; "
                    "a schedule has no end (use five fields, or six with seconds)",
                    reason="invalid_schedule",
                )
            try:
                _cron_next(self.cron, datetime(2000, 1, 1, tzinfo=UTC))
            except Exception:  # croniter raises its own error types for expressions that never fire
                raise InvalidInputError(
                    f"DAG {dag_id!r}: the cron expression {self.cron!r} never fires",
                    reason="invalid_schedule",
                ) from None
        elif self.interval_seconds is not None and self.interval_seconds < 1:
            raise InvalidInputError(
                f"DAG {dag_id!r}: interval_seconds must be at least 1", reason="invalid_schedule"
            )
        if self.start_at is not None:
            # The ticks the scheduler computes around the first one must be dates: a catchup from
            # 0001-01-01 failed every scheduler pass (the tick before the first is before year 1), and a
            # cron's first tick after a start_at late in 9999 answered 500.
            try:
                first = self.first_tick_from(self.start_at)
                self.previous_before(first)
                self.next_after(first)
            except UNSCHEDULABLE:
                raise InvalidInputError(
                    f"DAG {dag_id!r}: start_at {self.start_at.isoformat()} puts the schedule's first ticks "
                    "outside the calendar (years 1 to 9999)",
                    reason="invalid_schedule",
                ) from None

    @property
    def summary(self) -> str:
        """A short human form: the cron expression, or ``every <n>s``."""
        return self.cron if self.cron is not None else f"every {self.interval_seconds}s"

    def first_run_at(self, now: datetime, *, catchup: bool = False) -> datetime:
        """When the first run of a newly registered (or rescheduled) DAG is due."""
        if catchup and self.start_at is not None and self.start_at < now:
            return self.first_tick_from(self.start_at)
        if self.cron is not None:
            if self.start_at is not None and self.start_at > now:
                return _cron_next(self.cron, self.start_at - _TINY)
            return _cron_next(self.cron, now)
        step = timedelta(seconds=self._interval)
        if self.start_at is None:
            return now + step
        if self.start_at >= now:
            return self.start_at
        periods = (now - self.start_at) // step
        candidate = self.start_at + periods * step
        return candidate if candidate >= now else candidate + step

    def first_tick_from(self, start: datetime) -> datetime:
        """The first tick at or after ``start`` (interval ticks are anchored at ``start_at``)."""
        if self.cron is not None:
            return _cron_next(self.cron, start - _TINY)
        if self.start_at is None:
            return start
        step = timedelta(seconds=self._interval)
        periods = -((self.start_at - start) // step)  # ceiling division: the first anchor tick ≥ start
        return self.start_at + periods * step

    def ticks_between(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """The ticks from ``start`` to ``end`` inclusive; at most ``limit`` + 1, to tell "too many"."""
        ticks: list[datetime] = []
        tick = self.first_tick_from(start)
        while tick <= end and len(ticks) <= limit:
            ticks.append(tick)
            tick = self.next_after(tick)
        return ticks

    def latest_tick(self, due: datetime, now: datetime) -> datetime:
        """The latest tick at or before ``now``, given that ``due`` (≤ now) is a tick."""
        if self.cron is not None:
            return max(due, _cron_at_or_before(self.cron, now))
        step = timedelta(seconds=self._interval)
        return due + ((now - due) // step) * step

    def next_after(self, tick: datetime) -> datetime:
        """The first tick strictly after ``tick``."""
        if self.cron is not None:
            return _cron_next(self.cron, tick)
        return tick + timedelta(seconds=self._interval)

    def previous_before(self, tick: datetime) -> datetime:
        """The tick before ``tick``: the start of the data interval that ends at ``tick``."""
        if self.cron is not None:
            value: datetime = croniter(self.cron, tick.astimezone(UTC)).get_prev(datetime)
            return value
        return tick - timedelta(seconds=self._interval)

    @property
    def _interval(self) -> int:
        assert self.interval_seconds is not None
        return self.interval_seconds

    def to_document(self) -> dict[str, Any]:
        """The stored JSON form."""
        return {
            "cron": self.cron,
            "interval_seconds": self.interval_seconds,
            "start_at": self.start_at.astimezone(UTC).isoformat() if self.start_at else None,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Schedule:
        """Rebuild from the stored JSON form."""
        start_at = doc.get("start_at")
        return cls(
            cron=doc.get("cron"),
            interval_seconds=doc.get("interval_seconds"),
            start_at=datetime.fromisoformat(start_at) if start_at else None,
        )
