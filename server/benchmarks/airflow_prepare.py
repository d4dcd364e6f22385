"""Prepare Airflow for the benchmark, inside Airflow's own virtualenv (not Baton's).

``python airflow_prepare.py COUNT`` with AIRFLOW_HOME and Airflow's configuration in the
environment, after ``airflow db migrate``: writes a DAG ``bench`` of COUNT no-op tasks into the DAG
folder, serializes it (Airflow's own DAG processor code, ``airflow dags reserialize``), creates a
running DAG run ``bench_run`` through the serialized DAG's ``create_dagrun`` with its task
instances queued, adds the variable ``bench_var`` and the connection ``bench_conn``, and mints each
task instance's workload token with the executor's own signer (``BaseExecutor.jwt_generator``, the
configured ``[api_auth] jwt_secret``), as the scheduler does when it queues a workload. Prints one
JSON line: [[task instance id, workload token, task id], ...].
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DAG = """
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("bench", schedule=None, catchup=False):
    for n in range({count}):
        EmptyOperator(task_id=f"t{{n}}")
"""


def main() -> None:
    """Seed and print the workloads."""
    count = int(sys.argv[1])
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    (dags / "bench.py").write_text(DAG.format(count=count))
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "dags", "reserialize"], check=True, stdout=subprocess.DEVNULL)

    from airflow.executors.local_executor import LocalExecutor
    from airflow.executors.workloads import ExecuteTask
    from airflow.models.connection import Connection
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.variable import Variable
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = timezone.utcnow()
    with create_session() as session:
        dag = SerializedDagModel.get_dag("bench", session=session)
        assert dag is not None, "the bench DAG was not serialized"
        run = dag.create_dagrun(
            run_id="bench_run",
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
        session.add(Connection(conn_id="bench_conn", conn_type="postgres", host="db.example", port=5432))
        session.commit()
        Variable.set("bench_var", json.dumps({"rows": 100, "ok": True}), session=session)
        session.commit()
        generator = LocalExecutor().jwt_generator
        workloads = [
            [str(ti.id), ExecuteTask.generate_token(str(ti.id), generator), ti.task_id] for ti in tis
        ]
    print(json.dumps(workloads))


if __name__ == "__main__":
    main()
