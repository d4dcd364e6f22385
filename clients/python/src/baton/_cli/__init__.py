"""The ``baton`` command: run a worker, and operate Baton (DAGs, runs, logs, variables, connections, workers).

Every problem is reported in one line on stderr with a non-zero exit status (2: bad usage,
1: everything else); set ``BATON_DEBUG=1`` to see a traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from baton._cli import _backfills, _controls, _resources, _runs, _worker_cmd
from baton._cli._common import (
    ADMIN_TOKEN_ENV,
    CLIError,
    add_server_options,
    name,
    seconds,
    whole_number,
)
from baton._errors import (
    APIError,
    BatonError,
    BundleError,
    DagDefinitionError,
    ForbiddenError,
    TransportError,
    UnauthorizedError,
)
from baton._generated.api_version import API_VERSION

PAGE_MOST = 1000
"""The largest page the admin API's listings answer."""
TRY_MOST = 2**31 - 1
"""The largest try number the admin API takes."""

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _admin_command(
    sub: Subparsers, name: str, help_text: str, *, listing: bool = False
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    add_server_options(parser, ADMIN_TOKEN_ENV, "an admin token")
    parser.add_argument(
        "--json", action="store_true", help="print JSON (for scripts)" if listing else "print JSON"
    )
    return parser


def _group(sub: Subparsers, name: str, help_text: str) -> Subparsers:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def _dags_and_runs(sub: Subparsers) -> None:
    dags = _group(sub, "dags", "DAGs registered by workers")
    _admin_command(dags, "list", "list DAGs with their latest version", listing=True).set_defaults(
        handler=_runs.dags_list
    )

    runs = _group(sub, "runs", "DAG runs: trigger, list, show, cancel, mark")
    trigger = _admin_command(runs, "trigger", "trigger a run of a DAG's latest version")
    trigger.add_argument("dag", metavar="DAG", type=name)
    trigger.add_argument("--conf", metavar="JSON", help="a JSON object the tasks read as the run's conf")
    trigger.add_argument("--run-id", type=name, help="the run's id (default: manual__<time>)")
    trigger.add_argument(
        "--wait", action="store_true", help="follow the run until it ends; exit 1 if it failed"
    )
    trigger.add_argument(
        "--timeout", type=seconds, metavar="SECONDS", help="with --wait: give up after this long"
    )
    trigger.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    trigger.set_defaults(handler=_runs.runs_trigger)

    listing = _admin_command(runs, "list", "list DAG runs, newest first", listing=True)
    listing.add_argument("--dag", type=name, help="only this DAG's runs")
    listing.add_argument("--state", choices=["queued", "running", "success", "failed"])
    listing.add_argument("--limit", type=whole_number(PAGE_MOST), default=50, metavar="N")
    listing.set_defaults(handler=_runs.runs_list)

    show = _admin_command(runs, "show", "show a run's task instances: states, tries, durations")
    show.add_argument("run", metavar="RUN", type=name, help="the run id")
    show.add_argument(
        "--dag", type=name, help="the DAG (needed only when several DAGs have a run of that id)"
    )
    show.set_defaults(handler=_runs.runs_show)

    _controls_commands(sub, dags, runs)

    logs = _admin_command(sub, "logs", "print the log of a task attempt")
    logs.add_argument(
        "target", metavar="TASK_INSTANCE|RUN", type=name, help="a task instance id, or a run id with TASK"
    )
    logs.add_argument(
        "task", metavar="TASK", nargs="?", type=name, help="the task id, when the first argument is a run id"
    )
    logs.add_argument(
        "--dag", type=name, help="the DAG of RUN (needed only when several DAGs have a run of that id)"
    )
    logs.add_argument(
        "--try",
        dest="try_number",
        type=whole_number(TRY_MOST),
        metavar="N",
        help="the attempt (default: the latest)",
    )
    logs.set_defaults(handler=_runs.logs)


def _task_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="TASK_INSTANCE|RUN", type=name, help="a task instance id, or a run id with TASK"
    )
    parser.add_argument(
        "task", metavar="TASK", nargs="?", type=name, help="the task id, when the first argument is a run id"
    )
    parser.add_argument(
        "--dag", type=name, help="the DAG of RUN (needed only when several DAGs have a run of that id)"
    )


def _controls_commands(sub: Subparsers, dags: Subparsers, runs: Subparsers) -> None:
    delete = _admin_command(dags, "delete", "delete a DAG with its runs, logs and XComs (asks first)")
    delete.add_argument("dag", metavar="DAG", type=name)
    delete.add_argument(
        "--confirm", metavar="DAG", type=name, help="the DAG id again, instead of being asked"
    )
    delete.set_defaults(handler=_controls.dags_delete)

    cancel = _admin_command(runs, "cancel", "cancel a queued or running run; its running tasks are stopped")
    cancel.add_argument("run", metavar="RUN", type=name, help="the run id")
    cancel.add_argument(
        "--dag", type=name, help="the DAG (needed only when several DAGs have a run of that id)"
    )
    cancel.set_defaults(handler=_controls.runs_cancel)
    mark_run = _admin_command(runs, "mark", "set a run's state by hand; unfinished tasks end with it")
    mark_run.add_argument("run", metavar="RUN", type=name, help="the run id")
    mark_run.add_argument("--state", required=True, choices=["success", "failed"])
    mark_run.add_argument(
        "--dag", type=name, help="the DAG (needed only when several DAGs have a run of that id)"
    )
    mark_run.set_defaults(handler=_controls.runs_mark)

    tasks = _group(sub, "tasks", "task instances: clear (run again) or mark by hand")
    clear = _admin_command(tasks, "clear", "run a task instance again with a new try")
    _task_target(clear)
    clear.add_argument("--downstream", action="store_true", help="also clear every task that waits for it")
    clear.set_defaults(handler=_controls.tasks_clear)
    mark = _admin_command(tasks, "mark", "set a task instance's state by hand; a running attempt is stopped")
    _task_target(mark)
    mark.add_argument("--state", required=True, choices=["success", "failed"])
    mark.set_defaults(handler=_controls.tasks_mark)

    audit = _group(sub, "audit", "the audit trail of operator controls")
    listing = _admin_command(audit, "list", "who did which control, when, newest first", listing=True)
    listing.add_argument("--dag", type=name, help="only controls on this DAG")
    listing.add_argument("--action", help="only this control (clear_task_instance, cancel_dag_run, ...)")
    listing.add_argument("--limit", type=whole_number(PAGE_MOST), default=50, metavar="N")
    listing.set_defaults(handler=_controls.audit_list)


def _resources_commands(sub: Subparsers) -> None:
    variables = _group(sub, "variables", "variables: JSON values by key")
    get = _admin_command(variables, "get", "print a variable's value")
    get.add_argument("key", type=name)
    get.set_defaults(handler=_resources.variables_get)
    put = _admin_command(variables, "set", "set a variable (VALUE is JSON if it parses, else a string)")
    put.add_argument("key", type=name)
    put.add_argument("value")
    put.add_argument(
        "--string", action="store_true", help="store VALUE as a string even if it parses as JSON"
    )
    put.add_argument("--description")
    put.set_defaults(handler=_resources.variables_set)
    _admin_command(variables, "list", "list variables", listing=True).set_defaults(
        handler=_resources.variables_list
    )

    connections = _group(sub, "connections", "connections to external systems")
    add = _admin_command(connections, "add", "create or replace a connection")
    add.add_argument("conn_id", metavar="ID", type=name)
    add.add_argument("--uri", help="type://login:password@host:port/schema?extra_key=value")
    add.add_argument("--type", dest="conn_type")
    add.add_argument("--host")
    add.add_argument("--port", type=int)
    add.add_argument("--login")
    add.add_argument("--password")
    add.add_argument("--schema")
    add.add_argument("--extra", metavar="JSON")
    grant = add.add_mutually_exclusive_group()
    grant.add_argument(
        "--allow-dag",
        action="append",
        metavar="DAG",
        help="grant only to these DAGs (repeatable); without it or --all-dags the connection keeps its "
        "grant (a new one: every DAG)",
    )
    grant.add_argument("--all-dags", action="store_true", help="grant to every DAG")
    add.add_argument("--description")
    add.set_defaults(handler=_resources.connections_add)
    show = _admin_command(connections, "get", "show a connection (never its password)")
    show.add_argument("conn_id", metavar="ID", type=name)
    show.set_defaults(handler=_resources.connections_get)
    _admin_command(connections, "list", "list connections", listing=True).set_defaults(
        handler=_resources.connections_list
    )

    pools = _group(sub, "pools", "named pools: slots that tasks of any DAG share")
    _admin_command(pools, "list", "list pools with their slots and use", listing=True).set_defaults(
        handler=_resources.pools_list
    )
    set_pool = _admin_command(pools, "set", "create or change a pool")
    set_pool.add_argument("name", type=name)
    set_pool.add_argument("slots", type=_resources.pool_slots, help="a number of slots, or 'unlimited'")
    set_pool.add_argument("--description")
    set_pool.set_defaults(handler=_resources.pools_set)
    delete_pool = _admin_command(pools, "delete", "delete a pool (not default_pool)")
    delete_pool.add_argument("name", type=name)
    delete_pool.set_defaults(handler=_resources.pools_delete)

    workers = _group(sub, "workers", "registered workers")
    _admin_command(workers, "list", "list workers with their queues and load", listing=True).set_defaults(
        handler=_resources.workers_list
    )


def _backfill_commands(sub: Subparsers) -> None:
    backfill = _group(sub, "backfill", "backfills: runs of a scheduled DAG for each interval of a past range")
    create = _admin_command(backfill, "create", "start a backfill of a DAG's schedule intervals in a range")
    create.add_argument("dag", metavar="DAG", type=name)
    for flag, which in (("--from", "first"), ("--to", "last")):
        create.add_argument(
            flag,
            dest=f"{flag[2:]}_date",
            required=True,
            type=_backfills.aware_datetime,
            metavar="DATETIME",
            help=f"the {which} logical date covered, inclusive (ISO 8601 with a zone: 2026-01-01T00:00Z)",
        )
    create.add_argument(
        "--max-active-runs",
        type=_backfills.positive_int,
        metavar="N",
        help="at most N of its runs queued or running at once (default 10)",
    )
    create.add_argument(
        "--reprocess",
        choices=_backfills.REPROCESS_CHOICES,
        help="intervals that have runs already: none (skip them, the default), failed (rerun the failed), "
        "completed (rerun all)",
    )
    create.add_argument(
        "--wait", action="store_true", help="follow it until it completes; exit 1 if a run failed"
    )
    create.add_argument(
        "--timeout", type=seconds, metavar="SECONDS", help="with --wait: give up after this long"
    )
    create.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    create.set_defaults(handler=_backfills.backfill_create)
    status = _admin_command(backfill, "status", "show a backfill's progress")
    status.add_argument("dag", metavar="DAG", type=name)
    status.add_argument("backfill", metavar="BACKFILL", type=_backfills.backfill_id, help="the backfill id")
    status.set_defaults(handler=_backfills.backfill_status)
    listing = _admin_command(backfill, "list", "list a DAG's backfills, newest first", listing=True)
    listing.add_argument("dag", metavar="DAG", type=name)
    listing.set_defaults(handler=_backfills.backfill_list)


def build_parser() -> argparse.ArgumentParser:
    """The ``baton`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="baton",
        description="Run a Baton worker, and operate Baton through its admin API.",
        epilog=f"API version {API_VERSION}. Docs: docs/cli.md and docs/python-sdk.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _worker_cmd.add_parser(sub)
    _dags_and_runs(sub)
    _resources_commands(sub)
    _backfill_commands(sub)
    return parser


def _message(exc: BaseException, args: argparse.Namespace) -> str:
    server = getattr(args, "server", None) or os.environ.get("BATON_SERVER_URL") or "the server"
    if isinstance(exc, TransportError):
        return f"cannot reach the Baton server ({server}): {exc}"
    if isinstance(exc, UnauthorizedError | ForbiddenError):
        return f"the server refused the token: {exc}"
    if isinstance(exc, APIError):
        return str(exc)
    if isinstance(exc, BundleError | DagDefinitionError):
        return f"bundle: {exc}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``baton`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
        return status
    except CLIError as exc:
        print(f"baton: error: {exc}", file=sys.stderr)
        return exc.status
    except BatonError as exc:
        if os.environ.get("BATON_DEBUG"):
            raise
        print(f"baton: error: {_message(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("baton: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if os.environ.get("BATON_DEBUG"):
            raise
        print(f"baton: error: {type(exc).__name__}: {exc} (BATON_DEBUG=1 shows where)", file=sys.stderr)
        return 1


__all__ = ["build_parser", "main"]
