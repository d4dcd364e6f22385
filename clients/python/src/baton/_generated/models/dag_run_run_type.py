from typing import Literal

DagRunRunType = Literal["manual", "scheduled"]

DAG_RUN_RUN_TYPE_VALUES: set[DagRunRunType] = {
    "manual",
    "scheduled",
}


def check_dag_run_run_type(value: str) -> DagRunRunType:
    if value in DAG_RUN_RUN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {DAG_RUN_RUN_TYPE_VALUES!r}"
    )
