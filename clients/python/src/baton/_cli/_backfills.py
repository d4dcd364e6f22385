"""``baton backfill``: backfills of scheduled DAGs over the admin API."""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime

from baton._cli._common import CLIError, admin_client, expect, print_json, table, when
from baton._generated.api.admin import create_backfill, get_backfill, list_backfills
from baton._generated.models import Backfill, BackfillCreate, BackfillList
from baton._generated.models.reprocess_behavior import check_reprocess_behavior
from baton._generated.types import UNSET

REPROCESS_CHOICES = ["none", "failed", "completed"]


def aware_datetime(text: str) -> datetime:
    """An ISO 8601 date-time with a time zone (``Z`` or an offset), for argparse."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add Z or an offset like +02:00")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _line(backfill: Backfill) -> str:
    handled = backfill.runs_created + backfill.intervals_skipped
    return (
        f"backfill {backfill.id} of {backfill.dag_id}: {backfill.state}, "
        f"{handled}/{backfill.total_intervals} intervals handled "
        f"({backfill.runs_created} runs, {backfill.intervals_skipped} skipped); runs: "
        f"{backfill.queued_runs} queued, {backfill.running_runs} running, {backfill.successful_runs} "
        f"succeeded, {backfill.failed_runs} failed"
    )


def backfill_create(args: argparse.Namespace) -> int:
    """``baton backfill create DAG --from --to``: start a backfill (with ``--wait``, follow it)."""
    body = BackfillCreate(
        from_date=args.from_date,
        to_date=args.to_date,
        max_active_runs=args.max_active_runs if args.max_active_runs is not None else UNSET,
        reprocess_behavior=check_reprocess_behavior(args.reprocess) if args.reprocess else UNSET,
    )
    with admin_client(args) as client:
        backfill = expect(create_backfill.sync(args.dag, client=client.generated, body=body), Backfill)
        if not args.json:
            print(
                f"backfill {backfill.id} of {backfill.dag_id}: {backfill.total_intervals} intervals",
                flush=True,
            )
        if args.wait:
            deadline = None if args.timeout is None else time.monotonic() + args.timeout
            shown = ""
            while backfill.state != "completed":
                if deadline is not None and time.monotonic() > deadline:
                    raise CLIError(
                        f"gave up after {args.timeout:g} s: backfill {backfill.id} is still running", 3
                    )
                time.sleep(args.interval)
                backfill = expect(get_backfill.sync(args.dag, backfill.id, client=client.generated), Backfill)
                if not args.json and _line(backfill) != shown:
                    shown = _line(backfill)
                    print(shown, flush=True)
    if args.json:
        print_json(backfill.to_dict())
    return 1 if args.wait and backfill.failed_runs else 0


def backfill_status(args: argparse.Namespace) -> int:
    """``baton backfill status DAG BACKFILL``: one backfill's progress."""
    with admin_client(args) as client:
        backfill = expect(get_backfill.sync(args.dag, args.backfill, client=client.generated), Backfill)
    if args.json:
        print_json(backfill.to_dict())
    else:
        print(_line(backfill))
    return 0


def backfill_list(args: argparse.Namespace) -> int:
    """``baton backfill list DAG``: the DAG's backfills, newest first."""
    with admin_client(args) as client:
        backfills = expect(list_backfills.sync(args.dag, client=client.generated), BackfillList).backfills
    if args.json:
        print_json([b.to_dict() for b in backfills])
        return 0
    rows = [
        [
            str(b.id),
            b.state,
            when(b.from_date),
            when(b.to_date),
            f"{b.runs_created + b.intervals_skipped}/{b.total_intervals}",
            str(b.failed_runs),
        ]
        for b in backfills
    ]
    print(table(["BACKFILL", "STATE", "FROM", "TO", "HANDLED", "FAILED"], rows))
    return 0


def backfill_id(text: str) -> uuid.UUID:
    """A backfill id (a UUID), for argparse."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a backfill id (a UUID)") from None


__all__ = [
    "REPROCESS_CHOICES",
    "aware_datetime",
    "backfill_create",
    "backfill_id",
    "backfill_list",
    "backfill_status",
    "positive_int",
]
