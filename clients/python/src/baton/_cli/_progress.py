"""The live view of a run while ``baton runs trigger --wait`` follows it.

On a terminal the task table is redrawn in place (plain ANSI cursor moves); otherwise (a pipe, a
CI log) one line is printed per task state change, so the output reads well as a log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from baton._cli._common import duration, table, tries
from baton._generated.models import DagRunDetail, TaskInstanceSummary

_UP_AND_CLEAR = "\x1b[{lines}F\x1b[J"


class Progress:
    """Shows a run's task states as they change."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._drawn = 0
        self._seen: dict[str, tuple[str, int]] = {}

    def show(self, detail: DagRunDetail) -> None:
        """Show the run as it is now."""
        if self._tty:
            self._redraw(detail)
        else:
            self._print_changes(detail)

    def _redraw(self, detail: DagRunDetail) -> None:
        finished = sum(
            1
            for ti in detail.task_instances
            if ti.state in ("success", "failed", "skipped", "upstream_failed")
        )
        rows = [
            [
                ti.task_id,
                ti.state or "waiting",
                tries(ti.try_number, ti.max_tries),
                duration(ti.duration_seconds),
            ]
            for ti in detail.task_instances
        ]
        text = f"run {detail.run_id}: {detail.state}, {finished}/{len(rows)} tasks finished\n"
        text += table(["TASK", "STATE", "TRY", "DURATION"], rows) + "\n"
        if self._drawn:
            self._out.write(_UP_AND_CLEAR.format(lines=self._drawn))
        self._out.write(text)
        self._out.flush()
        self._drawn = text.count("\n")

    def _print_changes(self, detail: DagRunDetail) -> None:
        polled = datetime.now(UTC)
        changes: list[tuple[datetime, str]] = []
        for ti in detail.task_instances:
            now = (ti.state or "waiting", ti.try_number)
            if self._seen.get(ti.task_id) != now:
                self._seen[ti.task_id] = now
                took = f" in {duration(ti.duration_seconds)}" if ti.duration_seconds is not None else ""
                attempt = f" (try {ti.try_number}/{ti.max_tries})" if ti.try_number else ""
                changes.append((_changed_at(ti) or polled, f"{ti.task_id}: {now[0]}{attempt}{took}"))
        # One poll may see several changes: they are printed in the order they happened.
        for at, text in sorted(changes, key=lambda change: change[0]):
            self._out.write(f"{at.astimezone(UTC).strftime('%H:%M:%S')}  {text}\n")
        self._out.flush()

    def finish(self, detail: DagRunDetail) -> None:
        """Say how the run ended."""
        self._out.write(f"run {detail.run_id} {detail.state} in {duration(detail.duration_seconds)}\n")
        self._out.flush()


def _changed_at(ti: TaskInstanceSummary) -> datetime | None:
    """When the task instance reached its current state, as far as its dates tell."""
    return ti.end_date or ti.start_date or ti.queued_at


__all__ = ["Progress"]
