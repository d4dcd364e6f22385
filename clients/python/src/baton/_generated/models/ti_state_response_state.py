from typing import Literal

TIStateResponseState = Literal[
    "failed",
    "queued",
    "running",
    "scheduled",
    "skipped",
    "success",
    "up_for_retry",
    "upstream_failed",
]

TI_STATE_RESPONSE_STATE_VALUES: set[TIStateResponseState] = {
    "failed",
    "queued",
    "running",
    "scheduled",
    "skipped",
    "success",
    "up_for_retry",
    "upstream_failed",
}


def check_ti_state_response_state(value: str) -> TIStateResponseState:
    if value in TI_STATE_RESPONSE_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TI_STATE_RESPONSE_STATE_VALUES!r}"
    )
