"""The end-to-end pipeline: data passed between tasks, a retry, a variable, a connection, a conf.

extract ──► flaky (fails its first try) ──┐
                                           ├──► report
configure (variable + connection) ─────────┘
"""

from __future__ import annotations

import logging
import os

from baton import Connection, TaskContext, Variable, dag, get_context, task


@dag(queue="pipeline", retry_delay=0)
def e2e_pipeline() -> None:
    """Four tasks with data passed between them."""

    @task
    def extract() -> list[int]:
        print("extract: read 3 rows")
        return [1, 2, 3]

    @task(retries=1)
    def flaky(rows: list[int]) -> dict[str, int]:
        context = get_context()
        if context.try_number == 1:
            raise RuntimeError("flaky: the first try fails on purpose")
        print(f"flaky: try {context.try_number} of {context.max_tries} sums {rows}")
        return {"sum": sum(rows), "try": context.try_number}

    @task
    def configure() -> dict[str, object]:
        greeting = Variable.get("greeting")
        warehouse = Connection.get("warehouse")
        leaked = sorted(k for k in os.environ if k.startswith("BATON_") and not k.startswith("BATON_VAR_"))
        print(f"configure: greeting={greeting!r}")
        print(
            f"configure: warehouse={warehouse.conn_type}://{warehouse.login}@{warehouse.host}:{warehouse.port}"
        )
        print(f"configure: password set={warehouse.password is not None}, extra={warehouse.extra}")
        print(f"configure: baton settings visible to the task: {leaked}")
        return {"greeting": greeting, "host": warehouse.host}

    @task
    def report(stats: dict[str, int], config: dict[str, object], context: TaskContext) -> str:
        logging.getLogger("e2e.report").info("report ready", extra={"total": stats["sum"]})
        line = f"report: sum={stats['sum']} after try {stats['try']}, greeting={config['greeting']!r}"
        print(f"{line}, conf={context.conf}, run={context.run_id}")
        return line

    report(flaky(extract()), configure())


e2e_pipeline()
