"""Prepare Airflow for the benchmark, inside Airflow's own virtualenv (not Baton's).

``python airflow_prepare.py COUNT FRESH`` with AIRFLOW_HOME and Airflow's configuration in the
environment, after ``airflow db migrate``: writes a DAG ``bench`` of COUNT no-op tasks and a DAG
``bench_fresh`` of ten into the DAG folder, serializes them (Airflow's own DAG processor code,
``airflow dags reserialize``), creates a running DAG run ``bench_run`` of ``bench`` and FRESH / 10
running DAG runs of ``bench_fresh`` (the run/state scenario's attempts) through the serialized DAG's
``create_dagrun`` with their task instances queued, adds the variable ``bench_var`` and the
connection ``bench_conn``, and mints each task instance's workload token with the executor's own
signer (``BaseExecutor.jwt_generator``, the configured ``[api_auth] jwt_secret``), as the scheduler
does when it queues a workload. Prints one JSON line: {"attempts": [[task instance id, workload
token, task id], ...], "fresh": [[task instance id, workload token], ...]}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("{dag_id}", schedule=None, catchup=False):
    for n in range({count}):
        EmptyOperator(task_id=f"t{{n}}")
"""
FRESH_TASKS_PER_RUN = 10


def _queued_run(dag: Any, run_id: str, offset: int, session: Any) -> list[Any]:
    """A running DAG run of ``dag`` made by its own ``create_dagrun`` (its logical date ``offset``
    seconds from now: one per run of a DAG), its task instances queued at try 1."""
    from airflow.utils import timezone
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = timezone.utcnow() + timedelta(seconds=offset)
    run = dag.create_dagrun(
        run_id=run_id,
        logical_date=now,
        data_interval=(now, now),
        run_after=now,
        run_type=DagRunType.MANUAL,
        triggered_by=DagRunTriggeredByType.TEST,
        state=DagRunState.RUNNING,
        start_date=now,
        session=session,
    )
    session.flush()
    tis = sorted(run.get_task_instances(session=session), key=lambda ti: int(ti.task_id[1:]))
    for ti in tis:
        ti.state = TaskInstanceState.QUEUED
        ti.try_number = 1
    return tis


def main() -> None:
    """Seed and print the workloads."""
    count, fresh = int(sys.argv[1]), int(sys.argv[2])
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    (dags / "bench.py").write_text(DAG.format(dag_id="bench", count=count))
    (dags / "bench_fresh.py").write_text(DAG.format(dag_id="bench_fresh", count=FRESH_TASKS_PER_RUN))
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "dags", "reserialize"], check=True, stdout=subprocess.DEVNULL)

    from airflow.executors.local_executor import LocalExecutor
    from airflow.executors.workloads import ExecuteTask
    from airflow.models.connection import Connection
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        dag = SerializedDagModel.get_dag("bench", session=session)
        fresh_dag = SerializedDagModel.get_dag("bench_fresh", session=session)
        assert dag is not None, "the bench DAG was not serialized"
        assert fresh_dag is not None, "the bench_fresh DAG was not serialized"
        tis = _queued_run(dag, "bench_run", 0, session)
        queued = []
        for k in range(-(-fresh // FRESH_TASKS_PER_RUN)):
            queued += _queued_run(fresh_dag, f"fresh_{k}", k, session)
        session.add(Connection(conn_id="bench_conn", conn_type="postgres", host="db.example", port=5432))
        session.commit()
        Variable.set("bench_var", json.dumps({"rows": 100, "ok": True}), session=session)
        session.commit()
        generator = LocalExecutor().jwt_generator
        workloads = [
            [str(ti.id), ExecuteTask.generate_token(str(ti.id), generator), ti.task_id] for ti in tis
        ]
        fresh_workloads = [
            [str(ti.id), ExecuteTask.generate_token(str(ti.id), generator)] for ti in queued[:fresh]
        ]
    print(json.dumps({"attempts": workloads, "fresh": fresh_workloads}))


if __name__ == "__main__":
    main()
