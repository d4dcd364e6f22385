"""An example bundle: a small ETL pipeline that shows the Python Task SDK at work, with a Go task.

    extract (Go) ──► transform ──► enrich (fails on its first try, then succeeds) ──► load ──► report
        │                               └──► summarize (Java: examples/java/demo-bundle) ──►┘
        └──────────────────────────────────────────────────────────────────────────────────►┘

Data moves between tasks as return values (XComs), from one language to the other: ``extract``
runs in a Go worker (the Go bundle in ``examples/go/etl``), ``summarize`` in a Java worker.
``enrich`` reads the variable
``exchange_rate`` and the connection ``warehouse`` (from the worker's environment:
``BATON_VAR_EXCHANGE_RATE``, ``BATON_CONN_WAREHOUSE``; else from the server).
"""

from __future__ import annotations

import logging
import time

from baton import Connection, Variable, dag, external_task, get_context, task

log = logging.getLogger(__name__)

extract = external_task("extract", runtime="go", entry_point="etl:example_etl/extract", queue="go")
"""The Go worker runs this one: it returns the orders."""

summarize = external_task(
    "summarize",
    runtime="java",
    entry_point="org.baton.examples.demo.DemoBundle:example_etl/summarize",
    queue="java",
)
"""The Java worker runs this one: it reads ``enrich``'s orders and returns their totals."""


@dag(queue="python", retry_delay=1)
def example_etl() -> None:
    """Extract orders, convert their currency, load them, and report."""

    @task
    def transform(orders: list[dict[str, object]]) -> list[dict[str, object]]:
        kept = [o for o in orders if float(str(o["amount"])) >= 50]
        log.info(
            "kept %d of %d orders over 50", len(kept), len(orders), extra={"dropped": len(orders) - len(kept)}
        )
        return kept

    @task(retries=2)
    def enrich(orders: list[dict[str, object]]) -> list[dict[str, object]]:
        context = get_context()
        if context.try_number == 1:
            raise ConnectionError("the rates service timed out (this example fails its first try on purpose)")
        rate = float(Variable.get("exchange_rate", default=1.1))
        warehouse = Connection.get("warehouse")
        print(f"try {context.try_number} of {context.max_tries}: rate {rate}, warehouse {warehouse.host}")
        return [{**o, "amount_usd": round(float(str(o["amount"])) * rate, 2)} for o in orders]

    @task
    def load(orders: list[dict[str, object]]) -> int:
        time.sleep(0.5)  # pretend to write somewhere
        print(f"loaded {len(orders)} orders")
        return len(orders)

    @task
    def report(orders: list[dict[str, object]], loaded: int, summary: dict[str, object]) -> None:
        total = sum(float(str(o["amount"])) for o in orders)
        print(f"report: {len(orders)} orders extracted, {loaded} loaded, {total:.2f} EUR in all")
        print(f"from Java: {summary['orders']} orders worth {summary['total_usd']} USD")

    orders = extract()
    enriched = enrich(transform(orders))
    report(orders, load(enriched), summarize(enriched))


example_etl()
