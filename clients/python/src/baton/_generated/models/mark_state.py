from typing import Literal

MarkState = Literal["failed", "success"]

MARK_STATE_VALUES: set[MarkState] = {
    "failed",
    "success",
}


def check_mark_state(value: str) -> MarkState:
    if value in MARK_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {MARK_STATE_VALUES!r}"
    )
