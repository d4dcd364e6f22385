from typing import Literal

DagRunState = Literal["failed", "queued", "running", "success"]

DAG_RUN_STATE_VALUES: set[DagRunState] = {
    "failed",
    "queued",
    "running",
    "success",
}


def check_dag_run_state(value: str) -> DagRunState:
    if value in DAG_RUN_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {DAG_RUN_STATE_VALUES!r}"
    )
