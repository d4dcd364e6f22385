"""Tasks as RPC: an application serves the tasks of its DAG itself, inside its own process.

The tasks run in threads of the application, so they share its state: here, an in-memory stock.
"""

from __future__ import annotations

import os

from baton import Variable, Worker, dag, task

stock = {"widgets": 3}
"""The application's own state, which its tasks read and change."""


@dag(queue="inventory")
def restock() -> None:
    """Top the stock up to the target level (the variable ``stock_target``, 10 by default)."""

    @task
    def shortfall() -> int:
        return max(0, int(Variable.get("stock_target", default=10)) - stock["widgets"])

    @task
    def order(missing: int) -> int:
        stock["widgets"] += missing
        print(f"ordered {missing} widgets; {stock['widgets']} in stock")
        return stock["widgets"]

    order(shortfall())


def start_worker() -> Worker:
    """Serve the DAG's tasks from this process, in the background, until ``worker.stop()``."""
    worker = Worker(
        os.environ["BATON_SERVER_URL"],
        os.environ["BATON_WORKER_TOKEN"],
        dags=[restock()],
        queues=["inventory"],
        isolation="thread",
    )
    worker.start()  # returns once the worker and its DAG are registered
    return worker


if __name__ == "__main__":
    import time

    worker = start_worker()
    print("serving the restock DAG; trigger it with `baton runs trigger restock`; Ctrl-C stops")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        worker.stop()  # drains: no new claims; running tasks finish
