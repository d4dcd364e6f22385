from typing import Literal

DagRunInfoRunType = Literal["manual", "scheduled"]

DAG_RUN_INFO_RUN_TYPE_VALUES: set[DagRunInfoRunType] = {
    "manual",
    "scheduled",
}


def check_dag_run_info_run_type(value: str) -> DagRunInfoRunType:
    if value in DAG_RUN_INFO_RUN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {DAG_RUN_INFO_RUN_TYPE_VALUES!r}"
    )
