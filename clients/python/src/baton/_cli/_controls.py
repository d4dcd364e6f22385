"""Operator controls over the admin API: ``baton tasks clear|mark``, ``baton runs cancel|mark``,
``baton dags delete`` and ``baton audit list``."""

from __future__ import annotations

import argparse
import json
import sys

from baton._cli._common import CLIError, admin_client, expect, print_json, table, when
from baton._cli._runs import TASK_HEADERS, find_run, task_instance_id, task_rows
from baton._generated.api.admin import (
    cancel_dag_run,
    clear_task_instance,
    delete_dag,
    list_audit_events,
    mark_dag_run,
    mark_task_instance,
)
from baton._generated.models import (
    AuditEventList,
    ClearedTaskInstances,
    ClearTaskInstancePayload,
    DagRunDetail,
    DeletedDag,
    MarkStatePayload,
    TaskInstanceDetail,
)
from baton._generated.models.mark_state import check_mark_state
from baton._generated.types import UNSET


def tasks_clear(args: argparse.Namespace) -> int:
    """``baton tasks clear``: run a task instance again (with ``--downstream``, what waits for it too)."""
    with admin_client(args) as client:
        ti_id = task_instance_id(client, args)
        body = ClearTaskInstancePayload(include_downstream=args.downstream)
        cleared = expect(
            clear_task_instance.sync(ti_id, client=client.generated, body=body), ClearedTaskInstances
        )
    if args.json:
        print_json(cleared.to_dict())
        return 0
    names = ", ".join(ti.task_id for ti in cleared.task_instances)
    print(f"cleared {names} in {cleared.dag_id} run {cleared.run_id}: they run again with a new try")
    return 0


def tasks_mark(args: argparse.Namespace) -> int:
    """``baton tasks mark``: set a task instance's state by hand."""
    with admin_client(args) as client:
        ti_id = task_instance_id(client, args)
        body = MarkStatePayload(state=check_mark_state(args.state))
        ti = expect(mark_task_instance.sync(ti_id, client=client.generated, body=body), TaskInstanceDetail)
    if args.json:
        print_json(ti.to_dict())
        return 0
    print(f"marked {ti.dag_id} / {ti.run_id} / {ti.task_id} {ti.state}")
    return 0


def _print_run(detail: DagRunDetail, verb: str) -> None:
    print(f"{verb} {detail.dag_id} run {detail.run_id}: {detail.state}")
    print(table(TASK_HEADERS, task_rows(detail)))


def runs_cancel(args: argparse.Namespace) -> int:
    """``baton runs cancel``: fail a queued or running run; its running tasks are stopped."""
    with admin_client(args) as client:
        run = find_run(client, args.run, args.dag)
        detail = expect(cancel_dag_run.sync(run.dag_id, run.run_id, client=client.generated), DagRunDetail)
    if args.json:
        print_json(detail.to_dict())
    else:
        _print_run(detail, "cancelled")
    return 0


def runs_mark(args: argparse.Namespace) -> int:
    """``baton runs mark``: set a run's state by hand; its unfinished task instances end with it."""
    with admin_client(args) as client:
        run = find_run(client, args.run, args.dag)
        body = MarkStatePayload(state=check_mark_state(args.state))
        detail = expect(
            mark_dag_run.sync(run.dag_id, run.run_id, client=client.generated, body=body), DagRunDetail
        )
    if args.json:
        print_json(detail.to_dict())
    else:
        _print_run(detail, "marked")
    return 0


def dags_delete(args: argparse.Namespace) -> int:
    """``baton dags delete``: delete a DAG with its runs, logs and XComs, once its id is typed again."""
    confirm = args.confirm
    if confirm is None:
        if not sys.stdin.isatty():
            raise CLIError(f"deleting a DAG is final: pass --confirm {args.dag}", 2)
        print(f"This deletes DAG {args.dag} with every run, log and XCom of it.", file=sys.stderr)
        try:
            confirm = input("Type the DAG id to confirm: ").strip()
        except EOFError:  # Ctrl-D: nothing typed
            confirm = ""
        if confirm != args.dag:
            raise CLIError("not confirmed: nothing was deleted")
    with admin_client(args) as client:
        deleted = expect(delete_dag.sync(args.dag, client=client.generated, confirm=confirm), DeletedDag)
    if args.json:
        print_json(deleted.to_dict())
        return 0
    print(
        f"deleted DAG {deleted.dag_id}: {deleted.dag_runs} runs, {deleted.task_instances} task instances, "
        f"{deleted.task_logs} log lines, {deleted.xcoms} XComs, {deleted.dag_versions} versions"
    )
    return 0


def audit_list(args: argparse.Namespace) -> int:
    """``baton audit list``: who did which control, when, newest first."""
    with admin_client(args) as client:
        page = expect(
            list_audit_events.sync(
                client=client.generated,
                dag_id=args.dag or UNSET,
                action=args.action or UNSET,
                limit=args.limit,
            ),
            AuditEventList,
        )
    if args.json:
        print_json([e.to_dict() for e in page.audit_events])
        return 0
    rows = [
        [
            when(e.created_at),
            e.credential_name,
            e.action,
            "/".join(str(part) for part in (e.dag_id, e.run_id) if part) or "-",
            json.dumps(e.details.to_dict(), separators=(",", ":"), sort_keys=True),
        ]
        for e in page.audit_events
    ]
    print(table(["WHEN", "WHO", "ACTION", "TARGET", "DETAILS"], rows) if rows else "no audit events")
    if page.total > len(page.audit_events):
        print(f"({len(page.audit_events)} of {page.total}; --limit shows more)")
    return 0


__all__ = ["audit_list", "dags_delete", "runs_cancel", "runs_mark", "tasks_clear", "tasks_mark"]
