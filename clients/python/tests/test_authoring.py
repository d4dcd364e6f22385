"""Authoring DAGs: what a definition describes to the server, and the mistakes caught while it loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from baton import (
    DAG,
    BundleError,
    DagDefinitionError,
    NoTaskContextError,
    Task,
    Variable,
    XCom,
    dag,
    external_task,
    get_context,
    task,
)
from baton._bundle import load_bundle
from baton._describe import describe_dag, parse_entry_point


def _tasks(defined: DAG) -> dict[str, dict[str, Any]]:
    return {t["task_id"]: t for t in describe_dag(defined).to_dict()["tasks"]}


def test__dag_decorator__data_and_order_dependencies_and_settings_described() -> None:
    @dag(queue="etl", retries=1, retry_delay=timedelta(seconds=30), schedule="0 6 * * *")
    def nightly() -> None:
        """Load the night's orders."""

        @task
        def extract() -> list[int]:
            return [1]

        @task(retries=3, retry_delay=5, execution_timeout=timedelta(minutes=2), queue="heavy")
        def transform(rows: list[int]) -> int:
            return len(rows)

        @task(trigger_rule="all_done")
        def notify() -> None:
            pass

        transform(extract()) >> notify()

    described = describe_dag(nightly()).to_dict()
    assert (described["dag_id"], described["description"]) == ("nightly", "Load the night's orders.")
    assert described["schedule"] == {"cron": "0 6 * * *"}
    tasks = {t["task_id"]: t for t in described["tasks"]}
    assert tasks["extract"] == {
        "task_id": "extract",
        "entry_point": f"{__name__}:nightly/extract",
        "runtime": "python",
        "upstream_task_ids": [],
        "queue": "etl",
        "retries": 1,
        "retry_delay_seconds": 30,
        "execution_timeout_seconds": None,
        "trigger_rule": "all_success",
    }
    transform = tasks["transform"]
    assert (transform["upstream_task_ids"], transform["queue"]) == (["extract"], "heavy")
    assert (
        transform["retries"],
        transform["retry_delay_seconds"],
        transform["execution_timeout_seconds"],
    ) == (
        3,
        5,
        120,
    )
    assert (tasks["notify"]["upstream_task_ids"], tasks["notify"]["trigger_rule"]) == (
        ["transform"],
        "all_done",
    )


def test__dag_and_task_classes__describe_what_the_decorators_do() -> None:
    def extract() -> list[int]:
        return [1]

    def load(rows: list[int]) -> None:
        pass

    with DAG("by_class", queue="q", retries=2) as by_class:
        Task(load)(Task(extract)())

    @dag(dag_id="by_class", queue="q", retries=2)
    def by_decorator() -> None:
        task(load)(task(extract)())

    assert describe_dag(by_class).to_dict() == describe_dag(by_decorator()).to_dict()


def test__fan_in_and_fan_out_with_lists() -> None:
    with DAG("fan") as fan:
        a, b, c, d = (Task(lambda: None, task_id=n)() for n in "abcd")
        [a, b] >> c >> [d]
    tasks = _tasks(fan)
    assert sorted(tasks["c"]["upstream_task_ids"]) == ["a", "b"]
    assert tasks["d"]["upstream_task_ids"] == ["c"]


def test__task_used_twice__the_second_use_gets_a_suffix() -> None:
    @task
    def step() -> None:
        pass

    with DAG("twice") as twice:
        step() >> step() >> step.override(task_id="last")()
    assert list(_tasks(twice)) == ["step", "step__1", "last"]


def test__results_nested_in_arguments__become_dependencies() -> None:
    @task
    def one() -> int:
        return 1

    @task
    def combine(values: dict[str, list[int]]) -> None:
        pass

    with DAG("nested") as nested:
        combine({"all": [one(), one.override(task_id="two")()]})
    assert sorted(_tasks(nested)["combine"]["upstream_task_ids"]) == ["one", "two"]


def test__cycle__dag_definition_error_naming_it() -> None:
    with DAG("loop") as loop:
        a, b = Task(lambda: None, task_id="a")(), Task(lambda: None, task_id="b")()
        a >> b >> a
    with pytest.raises(DagDefinitionError, match=r"cycle: .*a.*b.*a|cycle: .*b.*a.*b"):
        describe_dag(loop)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DAG("has space"), "DAG id 'has space' is not a valid id"),
        (lambda: Task(lambda: None, task_id="-x"), "task id '-x' is not a valid id"),
        (lambda: Task(print, retries=-1), "retries must be an integer from 0 to 100"),
        (lambda: Task(print, execution_timeout=0), "execution_timeout must be at least 1 seconds"),
        (lambda: Task(print, trigger_rule="sometimes"), "trigger_rule must be one of"),  # type: ignore[arg-type]
        (lambda: DAG("d", start_at=datetime(2026, 1, 1)), "start_at needs a time zone"),
        (lambda: Task(print)(), "called outside a DAG"),
    ],
)
def test__bad_definition__dag_definition_error(build: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()


def test__result_of_another_dags_task__dag_definition_error() -> None:
    with DAG("first"):
        theirs = Task(print, task_id="theirs")()
    with DAG("second"), pytest.raises(DagDefinitionError, match="a task of another DAG"):
        Task(print, task_id="mine")(theirs)


def test__interval_schedule_with_start__described() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with DAG("hourly", schedule=timedelta(hours=1), start_at=start) as hourly:
        Task(print)()
    assert describe_dag(hourly).to_dict()["schedule"] == {
        "interval_seconds": 3600,
        "start_at": start.isoformat(),
    }


@pytest.mark.parametrize(
    "use",
    [lambda: Variable.get("k"), lambda: Variable.set("k", 1), lambda: XCom.pull("t"), get_context],
)
def test__task_facilities_outside_a_task__no_task_context_error(use: Any) -> None:
    with pytest.raises(NoTaskContextError, match="only while a task runs"):
        use()


def test__entry_point__round_trips_and_rejects_other_forms() -> None:
    point = parse_entry_point("pkg.module:my_dag/my.task")
    assert (point.module, point.dag_id, point.task_id, str(point)) == (
        "pkg.module",
        "my_dag",
        "my.task",
        "pkg.module:my_dag/my.task",
    )
    for bad in ("module:function", "dag.task", ":d/t", "m:d/", "m:d/t/x"):
        with pytest.raises(BundleError):
            parse_entry_point(bad)


def _bundle(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test__bundle_folder__dags_of_every_module_with_their_module_as_entry_point(tmp_path: Path) -> None:
    header = "from baton import DAG, Task, dag, task\n"
    folder = _bundle(
        tmp_path,
        **{
            "_helpers.py": header + "def make(name):\n    with DAG(name):\n        Task(print)()\n",
            "sales_dags.py": header + "import _helpers\n_helpers.make('sales')\n",
            "ops_dags.py": header
            + "@dag\ndef ops():\n    task(print)()\nops()\n@dag\ndef forgotten():\n    task(print)()\n",
        },
    )
    bundle = load_bundle(folder, name="b1")
    assert sorted(bundle.dags) == ["ops", "sales"]
    # A DAG made by a helper belongs to the bundle module whose import made it.
    assert sorted(bundle.tasks()) == ["ops_dags:ops/print", "sales_dags:sales/print"]
    assert bundle.warnings == [
        "module 'ops_dags': @dag function 'forgotten' is never called, so it defines no DAG; "
        "add `forgotten()` at module level"
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"broken.py": "x = 1\ndef oops(:\n"},
         r"bundle module 'broken' failed to import: SyntaxError: .* \(at .*broken.py:2\)$"),
        ({"bad_id.py": "from baton import DAG, Task\nwith DAG('bad'):\n    Task(print, task_id='a b')()\n"},
         r"task id 'a b' is not a valid id.* \(at .*bad_id.py:3\)$"),
        ({"raises.py": "raise RuntimeError('no config')\n"}, r"RuntimeError: no config \(at .*raises.py:1\)"),
        ({"exits.py": "import sys\nsys.exit(0)\n"},
         r"bundle module 'exits' failed to import: SystemExit: 0 \(at .*exits.py:2\)$"),
        ({"a.py": "from baton import DAG, Task\nwith DAG('same'):\n    Task(print)()\n",
          "b.py": "from baton import DAG, Task\nwith DAG('same'):\n    Task(print)()\n"}, "defined twice"),
        ({"json.py": "x = 1\n"}, "shadowed by an installed module"),
        ({"empty.py": "x = 1\n"}, "defines no DAG"),
    ],
)  # fmt: skip
def test__broken_bundle__bundle_error_in_one_line(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(BundleError, match=message) as caught:
        load_bundle(_bundle(tmp_path, **files))
    assert "\n" not in str(caught.value)


def test__external_task__described_with_its_runtime_and_entry_point() -> None:
    summarize = external_task(
        "summarize", runtime="java", entry_point="org.example.Bundle:mixed/summarize", queue="java", retries=2
    )

    @dag(queue="python")
    def mixed() -> None:
        @task
        def produce() -> dict[str, int]:
            return {"rows": 3}

        @task
        def show(summary: str) -> None:
            print(summary)

        show(summarize(produce()))

    described = {t.task_id: t for t in describe_dag(mixed()).tasks}
    java = described["summarize"]
    assert (java.runtime, java.entry_point, java.queue, java.retries) == (
        "java",
        "org.example.Bundle:mixed/summarize",
        "java",
        2,
    )
    assert java.upstream_task_ids == ["produce"]
    assert described["show"].upstream_task_ids == ["summarize"]
    assert described["produce"].runtime == "python"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: external_task("t", runtime="python", entry_point="x"), "runtime must name another runtime"),
        (lambda: external_task("t", runtime="java", entry_point=""), "entry_point must be 1 to 1000"),
    ],
)
def test__external_task__bad_declaration__dag_definition_error(build: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()


def test__external_task__called_with_a_value__dag_definition_error() -> None:
    total = external_task("total", runtime="go", entry_point="bundle:d/total")
    with pytest.raises(DagDefinitionError, match="takes upstream tasks only"), DAG("d"):
        total(42)


def test__pools_and_dag_limits__described_with_defaults_filled_in() -> None:
    def extract() -> int:
        return 1

    def load(value: int) -> None:
        pass

    with DAG("limited", max_active_runs=1, max_active_tasks=3, pool="warehouse") as limited:
        Task(load, pool_slots=2)(Task(extract, pool="api")())

    described = describe_dag(limited).to_dict()
    assert (described["max_active_runs"], described["max_active_tasks"]) == (1, 3)
    tasks = _tasks(limited)
    assert (tasks["extract"]["pool"], "pool_slots" in tasks["extract"]) == ("api", False)
    assert (tasks["load"]["pool"], tasks["load"]["pool_slots"]) == ("warehouse", 2)
    with DAG("plain") as plain:
        Task(extract)()
    assert "pool" not in _tasks(plain)["extract"]  # the server's default: default_pool, 1 slot
    assert "max_active_runs" not in describe_dag(plain).to_dict()
    with pytest.raises(DagDefinitionError, match="pool_slots"):
        Task(extract, pool_slots=0)
    with pytest.raises(DagDefinitionError, match="max_active_runs"):
        DAG("bad", max_active_runs=0)


def test__catchup__sent_only_when_on() -> None:
    def extract() -> int:
        return 1

    hourly = timedelta(hours=1)
    with DAG("caught", schedule=hourly, catchup=True) as caught:
        Task(extract)()
    with DAG("latest_only", schedule=hourly) as latest_only:
        Task(extract)()
    assert describe_dag(caught).to_dict()["catchup"] is True
    assert "catchup" not in describe_dag(latest_only).to_dict()  # the server's default: no catchup
    with pytest.raises(DagDefinitionError, match="catchup"):
        DAG("bad", catchup="yes")  # type: ignore[arg-type]
