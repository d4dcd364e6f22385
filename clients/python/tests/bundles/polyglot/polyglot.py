"""A DAG in two languages: Go -> Python -> Go (its Go tasks: clients/go/internal/integration/testdata)."""

from __future__ import annotations

from typing import Any

from baton import dag, external_task, task

produce = external_task("produce", runtime="go", entry_point="polyglot:polyglot/produce", queue="go")
consume = external_task(
    "consume", runtime="go", entry_point="polyglot:polyglot/consume", queue="go", retries=1
)


@dag(queue="python")
def polyglot() -> None:
    """A Go task feeds a Python task, whose result feeds a Go task."""

    @task
    def double(reading: dict[str, Any]) -> dict[str, Any]:
        print(f"from Go: {reading}")
        return {"sensor": reading["sensor"], "values": [2 * v for v in reading["values"]]}

    consume(double(produce()))


polyglot()
