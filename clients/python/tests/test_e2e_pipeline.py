"""End to end: a real server and worker run a Python DAG; every task's log is read back with ``baton logs``.

On SQLite, and on PostgreSQL when BATON_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e import Stack

pytestmark = pytest.mark.e2e

TASKS = ["configure", "extract", "flaky", "report"]
TUTORIAL = Path(__file__).resolve().parents[3] / "examples" / "tutorial"


@pytest.mark.parametrize("task_start", ["fork", "spawn"])
def test__python_dag__runs_through_the_api_alone_and_every_log_is_readable(
    stack: Stack, task_start: str
) -> None:
    stack.baton("variables", "set", "greeting", "from the server")
    stack.baton(
        "connections", "add", "warehouse",
        "--uri", "postgres://etl:s3cr%40t@warehouse.example:5432/dw?sslmode=require",
    )  # fmt: skip
    worker = stack.start_worker(
        "pipeline",
        "--task-start",
        task_start,
        env={
            # Worker-side secrets win over the server's variable...
            "BATON_VAR_GREETING": '"from the worker"',
            # ...and Baton's own settings never reach the task process.
            "BATON_DATABASE_URL": "postgresql://nobody:never@127.0.0.1:1/none",
            "BATON_ADMIN_TOKEN": stack.admin_token,
        },
    )

    triggered = stack.baton(
        "runs", "trigger", "e2e_pipeline", "--conf", '{"region": "eu"}', "--wait", "--interval", "0.3"
    )
    run_id = triggered.stdout.splitlines()[0].split(" run ")[1].split(";")[0]
    assert f"run {run_id} success" in triggered.stdout
    assert "flaky: success (try 2/2)" in triggered.stdout

    run = stack.run("e2e_pipeline", run_id)
    states = {task: (ti["state"], ti["try_number"], ti["max_tries"]) for task, ti in run["tasks"].items()}
    assert states == {
        "configure": ("success", 1, 1),
        "extract": ("success", 1, 1),
        "flaky": ("success", 2, 2),
        "report": ("success", 1, 1),
    }

    logs = {task: stack.baton("logs", run_id, task).stdout for task in TASKS}
    assert "[stdout] extract: read 3 rows" in logs["extract"]
    assert "[stdout] flaky: try 2 of 2 sums [1, 2, 3]" in logs["flaky"]
    first_try = stack.baton("logs", run_id, "flaky", "--try", "1").stdout
    assert "RuntimeError: flaky: the first try fails on purpose" in first_try
    assert "ended after" in first_try
    assert "up_for_retry" in first_try
    assert "configure: greeting='from the worker'" in logs["configure"]
    assert "configure: warehouse=postgres://etl@warehouse.example:5432" in logs["configure"]
    assert "configure: password set=True, extra={'sslmode': 'require'}" in logs["configure"]
    assert "configure: baton settings visible to the task: []" in logs["configure"]
    assert "report: sum=6 after try 2, greeting='from the worker', conf={'region': 'eu'}" in logs["report"]
    assert "[e2e.report] report ready" in logs["report"]

    # The structured fields survive: the logging record's extra, and where each line came from.
    report_lines = json.loads(stack.baton("logs", run_id, "report", "--json").stdout)
    ready = next(line for line in report_lines if line["message"] == "report ready")
    assert ready["fields"] == {"logger": "e2e.report", "total": 6}
    assert {"stream": "stdout"} in [line["fields"] for line in report_lines]

    # No token, credential or secret in any log, the worker's own output included.
    everything = "\n".join([*logs.values(), first_try, worker.output()])
    for secret in (stack.worker_token, stack.admin_token, "s3cr@t", "eyJ"):
        assert secret not in everything


def test__cli__lists_and_shows_what_the_run_left(stack: Stack) -> None:
    dags = json.loads(stack.baton("dags", "list", "--json").stdout)
    assert {"e2e_pipeline", "skipper", "overrun"} <= {d["dag_id"] for d in dags}
    assert stack.baton("workers", "list").stdout.startswith("NAME")
    runs = json.loads(stack.baton("runs", "list", "--dag", "e2e_pipeline", "--json").stdout)
    assert runs, "the previous test triggered a run"
    shown = stack.baton("runs", "show", runs[0]["run_id"]).stdout
    assert shown.splitlines()[1].split() == [
        "TASK",
        "STATE",
        "TRY",
        "DURATION",
        "STARTED",
        "HOST",
        "TASK",
        "INSTANCE",
    ]
    assert "flaky      success  2/2" in shown
    assert stack.baton("variables", "get", "greeting").stdout == "from the server\n"
    connection = json.loads(stack.baton("connections", "get", "warehouse", "--json").stdout)
    assert (connection["host"], connection["password_set"]) == ("warehouse.example", True)
    assert "s3cr" not in stack.baton("connections", "list").stdout


def test__tutorial__runs_as_docs_python_sdk_md_says(stack: Stack) -> None:
    stack.start_worker("tutorial", bundle=TUTORIAL)
    first = stack.baton("runs", "trigger", "greetings", "--wait")
    assert " success in " in first.stdout.splitlines()[-1]
    stack.baton("variables", "set", "salutation", "Good morning")
    second = stack.baton("runs", "trigger", "greetings", "--wait")
    run_id = second.stdout.split(" run ", 1)[1].split(";", 1)[0]
    shown = stack.baton("logs", run_id, "show").stdout
    assert "[stdout] Good morning, Ada!" in shown
    assert f"[stdout] run {run_id} is done" in shown
