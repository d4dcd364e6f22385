from typing import Literal

TaskRuntime = Literal["go", "java", "python"]

TASK_RUNTIME_VALUES: set[TaskRuntime] = {
    "go",
    "java",
    "python",
}


def check_task_runtime(value: str) -> TaskRuntime:
    if value in TASK_RUNTIME_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TASK_RUNTIME_VALUES!r}"
    )
