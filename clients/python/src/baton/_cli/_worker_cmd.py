"""``baton worker``: serve a bundle's DAGs until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from baton._child import TASK_STARTS
from baton._cli._common import add_server_options, server_url, token
from baton._runner import QUIET_LOGGERS
from baton._secrets import SECRETS_FILE_ENV
from baton._worker import Worker

WORKER_TOKEN_ENV = "BATON_WORKER_TOKEN"  # noqa: S105 - the name of a variable, not a secret
TASK_START_ENV = "BATON_TASK_START"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare ``baton worker`` and its options."""
    parser = sub.add_parser(
        "worker",
        help="serve the DAGs of a bundle: register them, claim and run their tasks",
        description=(
            "Register a bundle's DAGs with the server and run their tasks, each in a supervised task "
            "process. SIGTERM or Ctrl-C drains (no new claims; running tasks get --grace-period seconds "
            "to finish, then are handed back); a second one hands them back at once."
        ),
    )
    add_server_options(parser, WORKER_TOKEN_ENV, "the worker credential")
    parser.add_argument("--bundle", required=True, metavar="PATH", help="a .py file or a folder of them")
    parser.add_argument(
        "--queue",
        action="append",
        metavar="QUEUE",
        help="a queue to serve (repeat, or separate with commas; default: default)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="tasks run at once (default 4)"
    )
    parser.add_argument("--name", help="the worker's name (default: <hostname>-<pid>)")
    parser.add_argument(
        "--bundle-name", help="the bundle's name on the server (default: its file or folder name)"
    )
    parser.add_argument(
        "--secrets-file",
        metavar="PATH",
        default=os.environ.get(SECRETS_FILE_ENV),
        help=f"a JSON file of variables and connections read before the API (default: ${SECRETS_FILE_ENV})",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between heartbeats of the worker and of each running task (default 5)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="on shutdown, how long running tasks may go on before they are handed back (default 60)",
    )
    parser.add_argument(
        "--stop-grace",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between SIGTERM and SIGKILL when a task is stopped (default 10)",
    )
    parser.add_argument(
        "--isolation",
        choices=["process", "thread"],
        default="process",
        help="run each task in its own process (default) or in a thread of the worker",
    )
    parser.add_argument(
        "--warm-processes",
        type=int,
        metavar="N",
        help="task processes started ahead of their attempts, past their imports; each still runs one "
        "attempt (default: the concurrency + 1, at most 4; 0: none)",
    )
    parser.add_argument(
        "--task-start",
        choices=TASK_STARTS,
        default=os.environ.get(TASK_START_ENV) or "fork",
        help="how task processes start: forked from a fork server past the SDK's imports (the default "
        "where the platform has one; else and on its failure, a new interpreter) or spawned, each a new "
        f"interpreter (default: ${TASK_START_ENV}, else fork)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Serve until told to stop; 0 after a clean drain."""
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    queues = [q.strip() for part in (args.queue or ["default"]) for q in part.split(",") if q.strip()]
    worker = Worker(
        server_url(args),
        token(args, WORKER_TOKEN_ENV, "worker credential"),
        bundle=args.bundle,
        queues=queues,
        concurrency=args.concurrency,
        name=args.name,
        isolation=args.isolation,
        heartbeat_interval=args.heartbeat_interval,
        grace_period=args.grace_period,
        stop_grace=args.stop_grace,
        secrets_file=args.secrets_file,
        bundle_name=args.bundle_name,
        log_level=args.log_level,
        warm_processes=args.warm_processes,
        task_start=args.task_start,
    )
    worker.run()
    return 0


__all__ = ["TASK_START_ENV", "WORKER_TOKEN_ENV", "add_parser", "run_worker"]
