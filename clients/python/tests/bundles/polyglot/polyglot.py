"""A DAG in two languages: Go -> Python -> Go (its Go tasks: clients/go/internal/integration/testdata)."""

from __future__ import annotations

from typing import Any

from baton import dag, task


@dag(queue="python")
def polyglot() -> None:
    """A Go task feeds a Python task, whose result feeds a Go task."""

    @task(runtime="go", entry_point="polyglot:polyglot/produce", queue="go")
    def produce() -> dict[str, Any]:
        raise NotImplementedError  # runs in Go

    @task
    def double(reading: dict[str, Any]) -> dict[str, Any]:
        print(f"from Go: {reading}")
        return {"sensor": reading["sensor"], "values": [2 * v for v in reading["values"]]}

    @task(runtime="go", entry_point="polyglot:polyglot/consume", queue="go", retries=1)
    def consume(doubled: dict[str, Any]) -> str:
        raise NotImplementedError  # runs in Go

    consume(double(produce()))


polyglot()
