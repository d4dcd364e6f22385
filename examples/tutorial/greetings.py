"""The tutorial's bundle (docs/python-sdk.md): three tasks passing data along."""

from __future__ import annotations

from baton import Variable, dag, get_context, task


@dag(queue="tutorial")
def greetings() -> None:
    """Greet a few people."""

    @task
    def names() -> list[str]:
        return ["Ada", "Grace", "Linus"]

    @task(retries=2, retry_delay=5)
    def greet(people: list[str]) -> list[str]:
        salutation = Variable.get("salutation", default="Hello")
        return [f"{salutation}, {name}!" for name in people]

    @task
    def show(lines: list[str]) -> None:
        for line in lines:
            print(line)
        print(f"run {get_context().run_id} is done")

    show(greet(names()))


greetings()
