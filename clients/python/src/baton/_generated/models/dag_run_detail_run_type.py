from typing import Literal

DagRunDetailRunType = Literal["manual", "scheduled"]

DAG_RUN_DETAIL_RUN_TYPE_VALUES: set[DagRunDetailRunType] = {
    "manual",
    "scheduled",
}


def check_dag_run_detail_run_type(value: str) -> DagRunDetailRunType:
    if value in DAG_RUN_DETAIL_RUN_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {DAG_RUN_DETAIL_RUN_TYPE_VALUES!r}"
    )
