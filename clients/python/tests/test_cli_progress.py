"""``baton runs trigger --wait``'s live view: redrawn in place on a terminal, else a line per change."""

from __future__ import annotations

import io
from typing import Any

from baton._cli._progress import Progress
from baton._generated.models import DagRunDetail


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(state: str, *tasks: tuple[str, str | None, int]) -> DagRunDetail:
    stamp = "2026-11-24T20:00:00+00:00"
    data: dict[str, Any] = {
        "id": "01a20f4b-6333-7b30-bb1d-44b40537ec2f", "dag_id": "d", "run_id": "r1",
        "dag_version_id": "01a20f4b-6333-7b30-bb1d-44b40537ec2f", "run_type": "manual", "state": state,
        "logical_date": stamp, "data_interval_start": None, "data_interval_end": None, "conf": {},
        "queued_at": stamp, "start_date": stamp, "end_date": None, "duration_seconds": None,
        "task_instances": [
            {
                "id": "01a20f4b-6333-7b30-bb1d-44b40537ec2f", "task_id": task_id, "map_index": -1,
                "state": ti_state,
                "try_number": tries, "max_tries": 2, "queue": "q", "runtime": "python", "hostname": None,
                "worker_id": None, "queued_at": None, "start_date": None, "end_date": None,
                "duration_seconds": 1.5 if ti_state == "success" else None, "next_attempt_at": None,
            }
            for task_id, ti_state, tries in tasks
        ],
    }  # fmt: skip
    return DagRunDetail.from_dict(data)


def test__terminal__table_redrawn_in_place() -> None:
    out = Terminal()
    progress = Progress(out)
    progress.show(_run("running", ("a", "running", 1), ("b", None, 0)))
    first = out.getvalue()
    progress.show(_run("running", ("a", "success", 1), ("b", "queued", 1)))
    redraw = out.getvalue()[len(first) :]
    assert first.splitlines() == [
        "run r1: running, 0/2 tasks finished",
        "TASK  STATE    TRY  DURATION",
        "a     running  1/2  -",
        "b     waiting  -    -",
    ]
    assert redraw.startswith("\x1b[4F\x1b[J"), "cursor up over the 4 lines drawn, then clear"
    assert "a     success  1/2  1.5s" in redraw


def test__pipe__one_line_per_change() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.show(_run("running", ("a", "running", 1), ("b", None, 0)))
    progress.show(_run("running", ("a", "running", 1), ("b", None, 0)))
    progress.show(_run("running", ("a", "up_for_retry", 1), ("b", None, 0)))
    progress.show(_run("running", ("a", "running", 2), ("b", None, 0)))
    lines = [line.split("  ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "a: running (try 1/2)",
        "b: waiting",
        "a: up_for_retry (try 1/2)",
        "a: running (try 2/2)",
    ]
    assert "\x1b" not in out.getvalue()


def test__pipe__changes_seen_in_one_poll__printed_in_the_order_they_happened() -> None:
    detail = _run(
        "running", ("consume", "success", 1), ("flaky", "up_for_retry", 1), ("produce", "success", 1)
    )
    ends = {"produce": "2026-11-24T20:00:01+00:00", "consume": "2026-11-24T20:00:03+00:00"}
    data = detail.to_dict()
    for ti in data["task_instances"]:
        ti["end_date"] = ends.get(ti["task_id"], "2026-11-24T20:00:02+00:00")
    out = io.StringIO()
    Progress(out).show(DagRunDetail.from_dict(data))
    assert out.getvalue().splitlines() == [
        "20:00:01  produce: success (try 1/2) in 1.5s",
        "20:00:02  flaky: up_for_retry (try 1/2)",
        "20:00:03  consume: success (try 1/2) in 1.5s",
    ]
