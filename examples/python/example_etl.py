"""An example bundle: a small ETL pipeline that shows the Python Task SDK at work, with a Go task.

    extract (Go) ──► transform ──► enrich (fails on its first try, then succeeds) ──► load
        └───────────────────────────────────────────────────────────────────────────► report

Data moves between tasks as return values (XComs), from one language to the other: ``extract``
runs in a Go worker (its code is the Go bundle in ``examples/go/etl``; the function here is a
stub that is never called). ``enrich`` reads the variable
``exchange_rate`` and the connection ``warehouse`` (from the worker's environment:
``BATON_VAR_EXCHANGE_RATE``, ``BATON_CONN_WAREHOUSE``; else from the server).
"""

from __future__ import annotations

import logging
import time

from baton import Connection, Variable, dag, get_context, task

log = logging.getLogger(__name__)


@dag(queue="python", retry_delay=1)
def example_etl() -> None:
    """Extract orders, convert their currency, load them, and report."""

    @task(runtime="go", entry_point="etl:example_etl/extract", queue="go")
    def extract() -> list[dict[str, object]]:
        """Runs in Go (examples/go/etl): returns the orders."""
        raise NotImplementedError

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
    def report(orders: list[dict[str, object]], loaded: int) -> None:
        total = sum(float(str(o["amount"])) for o in orders)
        print(f"report: {len(orders)} orders extracted, {loaded} loaded, {total:.2f} EUR in all")

    orders = extract()
    report(orders, load(enrich(transform(orders))))


example_etl()
