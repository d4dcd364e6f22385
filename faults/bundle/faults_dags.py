"""The DAGs of the fault suite. Every task body appends one line to the ledger (``FAULTS_LEDGER``) per
execution, so the suite counts how often each body ran, and logs ``FAULTS_LINES`` numbered lines, so
it counts which log lines the server stored. Each body also calls the API as tasks do — it reads a
variable and pushes an XCom — so that a fault that strikes while a body runs strikes those calls too.

``many`` has ``FAULTS_TASKS`` independent tasks (queue ``load``; no such DAG when it is 0);
``sleeper_kill`` and ``sleeper_zombie`` (queues ``kill`` and ``zombie``) have one task each that
sleeps ``conf["seconds"]`` on its first try only.
"""

from __future__ import annotations

import logging
import os
import time

from baton import DAG, Task, TaskContext, Variable, XCom

LINES = int(os.environ.get("FAULTS_LINES", "3"))
log = logging.getLogger("faults")


def _ledger(context: TaskContext, event: str) -> None:
    with open(os.environ["FAULTS_LEDGER"], "a") as ledger:
        ledger.write(f"{context.task_instance_id} {context.try_number} {event} {os.getpid()}\n")


def work(context: TaskContext) -> None:
    """Record this execution, log the numbered lines, nap if asked (first try only)."""
    _ledger(context, "ran")
    Variable.get("faults_absent", default=None)
    XCom.push("ran", context.try_number)
    for number in range(LINES):
        log.info("line %d of %s", number, context.fencing_token)
    seconds = float(context.conf.get("seconds", 0)) if context.try_number == 1 else 0.0
    if seconds:
        time.sleep(seconds)
        log.info("late line of %s", context.fencing_token)
        _ledger(context, "woke")


WORK = Task(work)

TASKS = int(os.environ.get("FAULTS_TASKS", "0"))
if TASKS:
    with DAG("many", queue="load"):
        for index in range(TASKS):
            WORK.override(task_id=f"t{index:04d}")()

for queue in ("kill", "zombie"):
    with DAG(f"sleeper_{queue}", queue=queue, retries=1, retry_delay=0):
        WORK()
