"""DAGs for the worker's life-cycle tests, one queue each (so that one test's worker never runs another's).

``nap`` sleeps ``conf["seconds"]`` on its first try only: a killed, stopped or handed-back first
try is followed by a quick second one. Given ``conf["until"]``, a path, it sleeps only until that file
exists (at most ``seconds``): the test says when it ends, whatever the machine's speed.
"""

from __future__ import annotations

import os
import tempfile
import time

from baton import DAG, Task, TaskContext, TaskSkipped, dag, task


def nap(context: TaskContext) -> int:
    """Sleep on the first try (until ``conf["until"]`` exists, if given); return the try number."""
    first = context.try_number == 1
    seconds = float(context.conf.get("seconds", 0)) if first else 0.0
    until = context.conf.get("until") if first else None
    print(f"nap: try {context.try_number} in pid {os.getpid()} sleeps {seconds:g} s", flush=True)
    if until is None:
        time.sleep(seconds)
    else:
        deadline = time.monotonic() + seconds
        while not os.path.exists(until) and time.monotonic() < deadline:
            time.sleep(0.05)
    print(f"nap: try {context.try_number} woke up", flush=True)
    return context.try_number


NAP = Task(nap)

for queue in ("kill", "taskkill", "drain", "handback", "stale", "down", "cancel", "hurry"):
    with DAG(f"nap_{queue}", queue=queue, retries=1, retry_delay=0):
        NAP()

with DAG("overrun", queue="timeout"):
    NAP.override(execution_timeout=2)()


@dag(queue="skip")
def skipper() -> None:
    """A skipped task: its all_success downstream is skipped too; the all_done one runs."""

    @task
    def decide() -> None:
        raise TaskSkipped("nothing to do today")

    @task
    def publish() -> None:
        print("publish: never runs")

    @task(trigger_rule="all_done")
    def cleanup() -> None:
        print("cleanup: runs whatever happened upstream")

    decided = decide()
    decided >> publish()
    decided >> cleanup()


skipper()


@dag(queue="warm", retries=1, retry_delay=0)
def warm_isolation() -> None:
    """Warm task processes keep isolation: each attempt its own process, environment and directory."""

    @task
    def taint() -> int:
        os.environ["E2E_TAINTED"] = "1"
        os.chdir(tempfile.gettempdir())
        return os.getpid()

    @task
    def check(tainted_pid: int) -> None:
        assert os.getpid() != tainted_pid, "two attempts ran in one process"
        assert "E2E_TAINTED" not in os.environ, "an attempt saw another's environment"
        assert os.getcwd() != tempfile.gettempdir(), "an attempt saw another's working directory"

    @task
    def crash(context: TaskContext) -> None:
        if context.try_number == 1:
            os._exit(3)

    check(taint())
    crash()


warm_isolation()
