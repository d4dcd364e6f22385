"""The DAG the web UI's browser test runs: two tasks, each printing one line."""

from __future__ import annotations

from baton import dag, task


@dag(queue="ui", retry_delay=0)
def ui_tour() -> None:
    """hello, then goodbye."""

    @task
    def hello() -> None:
        print("hello: from the ui tour", flush=True)

    @task
    def goodbye() -> None:
        print("goodbye: from the ui tour", flush=True)

    hello() >> goodbye()


ui_tour()
