"""``baton dags``, ``baton runs`` and ``baton logs``: DAGs, their runs, and task logs, over the admin API."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

from baton._cli._common import (
    CLIError,
    admin_client,
    duration,
    every_page,
    expect,
    parse_json_object,
    print_json,
    shown,
    table,
    tries,
    when,
)
from baton._cli._progress import Progress
from baton._client import Client
from baton._generated.api.admin import (
    get_dag_run,
    get_task_instance,
    get_task_instance_logs,
    list_dag_runs,
    list_dags,
    trigger_dag_run,
)
from baton._generated.models import (
    DagList,
    DagRun,
    DagRunDetail,
    DagRunList,
    DagSummary,
    LogPage,
    LogRecordOut,
    TaskInstanceDetail,
    TriggerDagRunPayload,
    TriggerDagRunPayloadConf,
)
from baton._generated.types import UNSET

PAGE = 1000
FINISHED_RUN_STATES = {"success", "failed"}


def dags_list(args: argparse.Namespace) -> int:
    """``baton dags list``: every DAG with its latest version."""
    with admin_client(args) as client:

        def fetch(offset: int) -> tuple[list[DagSummary], int]:
            page = expect(list_dags.sync(client=client.generated, limit=PAGE, offset=offset), DagList)
            return page.dags, page.total

        dags = every_page(fetch, key=lambda dag: dag.dag_id)
    if args.json:
        print_json([d.to_dict() for d in dags])
        return 0
    rows = [
        [
            d.dag_id,
            d.latest_version_number,
            d.task_count,
            "yes" if d.is_paused else "no",
            _schedule_text(d.schedule),
            d.bundle_name or "-",
            getattr(d, "owner", None) or "-",  # from API version 2026-12-02
        ]
        for d in dags
    ]
    headers = ["DAG", "VERSION", "TASKS", "PAUSED", "SCHEDULE", "BUNDLE", "OWNER"]
    print(table(headers, rows) if rows else "no DAGs")
    return 0


def _schedule_text(schedule: Any) -> str:
    if not schedule:
        return "-"
    if isinstance(schedule.cron, str):
        return schedule.cron
    if isinstance(schedule.interval_seconds, int):
        return f"every {duration(float(schedule.interval_seconds))}"
    return "-"


def find_run(client: Client, run_id: str, dag_id: str | None) -> DagRunDetail:
    """A run by its run id (and DAG id, needed only when two DAGs have a run of that id)."""
    if dag_id is None:
        # A set: newest first, a run triggered while this pages moves the one last seen into the next page.
        matches: set[str] = set()
        offset = 0
        while True:
            page = expect(list_dag_runs.sync(client=client.generated, limit=PAGE, offset=offset), DagRunList)
            matches.update(r.dag_id for r in page.dag_runs if r.run_id == run_id)
            offset += len(page.dag_runs)
            if offset >= page.total or not page.dag_runs:
                break
        if not matches:
            raise CLIError(f"no DAG run {run_id!r}")
        if len(matches) > 1:
            raise CLIError(f"DAGs {', '.join(sorted(matches))} each have a run {run_id!r}: pass --dag")
        (dag_id,) = matches
    return expect(get_dag_run.sync(dag_id, run_id, client=client.generated), DagRunDetail)


def runs_trigger(args: argparse.Namespace) -> int:
    """``baton runs trigger DAG``: queue a run (and with ``--wait``, follow it to its end)."""
    conf = parse_json_object(args.conf, "--conf") if args.conf else {}
    body = TriggerDagRunPayload(conf=TriggerDagRunPayloadConf.from_dict(conf), run_id=args.run_id or UNSET)
    with admin_client(args) as client:
        run = expect(trigger_dag_run.sync(args.dag, client=client.generated, body=body), DagRun)
        if not args.wait:
            if args.json:
                print_json(run.to_dict())
            else:
                print(f"triggered {run.dag_id} run {run.run_id} ({run.state})")
            return 0
        if not args.json:
            print(f"triggered {run.dag_id} run {run.run_id}; waiting for it to finish", flush=True)
        detail = _wait(client, run.dag_id, run.run_id, args)
    if args.json:
        print_json(detail.to_dict())
    return 0 if detail.state == "success" else 1


def _wait(client: Client, dag_id: str, run_id: str, args: argparse.Namespace) -> DagRunDetail:
    progress = None if args.json else Progress(sys.stdout)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while True:
        detail = expect(get_dag_run.sync(dag_id, run_id, client=client.generated), DagRunDetail)
        if progress is not None:
            progress.show(detail)
        if detail.state in FINISHED_RUN_STATES:
            if progress is not None:
                progress.finish(detail)
            return detail
        if deadline is not None and time.monotonic() > deadline:
            raise CLIError(f"gave up after {args.timeout:g} s: run {run_id} is still {detail.state}", 3)
        time.sleep(args.interval)


def runs_list(args: argparse.Namespace) -> int:
    """``baton runs list``: the newest runs, optionally of one DAG and in one state."""
    with admin_client(args) as client:
        page = expect(
            list_dag_runs.sync(
                client=client.generated,
                dag_id=args.dag or UNSET,
                state=args.state or UNSET,
                limit=args.limit,
            ),
            DagRunList,
        )
    if args.json:
        print_json([r.to_dict() for r in page.dag_runs])
        return 0
    rows = [
        [r.dag_id, r.run_id, r.state, r.run_type, when(r.logical_date), duration(r.duration_seconds)]
        for r in page.dag_runs
    ]
    print(table(["DAG", "RUN", "STATE", "TYPE", "LOGICAL DATE", "DURATION"], rows) if rows else "no DAG runs")
    if page.total > len(page.dag_runs):
        print(f"({len(page.dag_runs)} of {page.total}; --limit shows more)")
    return 0


def task_rows(detail: DagRunDetail) -> list[list[object]]:
    """One table row per task instance of a run."""
    return [
        [
            ti.task_id,
            ti.state or "waiting",
            tries(ti.try_number, ti.max_tries),
            duration(ti.duration_seconds),
            when(ti.start_date),
            ti.hostname or "-",
            str(ti.id),
        ]
        for ti in detail.task_instances
    ]


TASK_HEADERS = ["TASK", "STATE", "TRY", "DURATION", "STARTED", "HOST", "TASK INSTANCE"]


def runs_show(args: argparse.Namespace) -> int:
    """``baton runs show RUN``: a run and its task instances."""
    with admin_client(args) as client:
        detail = find_run(client, args.run, args.dag)
    if args.json:
        print_json(detail.to_dict())
        return 0
    print(
        f"{detail.dag_id} run {detail.run_id}: {detail.state} "
        f"(logical date {when(detail.logical_date)}, took {duration(detail.duration_seconds)})"
    )
    print(table(TASK_HEADERS, task_rows(detail)))
    return 0


def task_instance_id(client: Client, args: argparse.Namespace) -> uuid.UUID:
    """The task instance named by ``args.target`` (an id) or by ``args.target`` (a run) and ``args.task``."""
    if args.task is None:
        try:
            return uuid.UUID(args.target)
        except ValueError:
            raise CLIError(
                f"{args.target!r} is not a task instance id; to name a task: RUN TASK", 2
            ) from None
    detail = find_run(client, args.target, args.dag)
    for ti in detail.task_instances:
        if ti.task_id == args.task:
            return ti.id
    raise CLIError(f"run {detail.run_id} of {detail.dag_id} has no task {args.task!r}")


def logs(args: argparse.Namespace) -> int:
    """``baton logs TASK_INSTANCE`` or ``baton logs RUN TASK``: an attempt's log lines, in order."""
    with admin_client(args) as client:
        ti_id = task_instance_id(client, args)
        ti = expect(get_task_instance.sync(ti_id, client=client.generated), TaskInstanceDetail)
        lines: list[LogRecordOut] = []
        after = 0
        attempt = args.try_number
        while True:
            page = expect(
                get_task_instance_logs.sync(
                    ti_id,
                    client=client.generated,
                    try_number=args.try_number if args.try_number is not None else UNSET,
                    after=after,
                    limit=5000,
                ),
                LogPage,
            )
            lines.extend(page.lines)
            attempt = page.try_number
            if not isinstance(page.next_after, int):
                break
            after = page.next_after
    if args.json:
        print_json([line.to_dict() for line in lines])
        return 0
    print(f"# {ti.dag_id} / {ti.run_id} / {ti.task_id}, try {attempt} (task instance now: {ti.state})")
    for line in lines:
        print(format_line(line))
    if not lines:
        print("# no log lines")
    return 0


def format_line(line: LogRecordOut) -> str:
    """``HH:MM:SS.mmm LEVEL  [source] message``, safe to print on a terminal (:func:`shown`)."""
    fields = line.fields.to_dict() if line.fields else {}
    source = fields.get("stream") or ("worker" if fields.get("source") == "worker" else fields.get("logger"))
    stamp = line.timestamp.strftime("%H:%M:%S.%f")[:-3]
    prefix = f"{stamp} {line.level.upper():<8}" + (f"[{source}] " if source else "")
    return shown(prefix + line.message.replace("\n", "\n" + " " * len(prefix)))


__all__ = [
    "TASK_HEADERS",
    "dags_list",
    "find_run",
    "format_line",
    "logs",
    "runs_list",
    "runs_show",
    "runs_trigger",
    "task_instance_id",
    "task_rows",
]
