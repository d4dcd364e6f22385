from typing import Literal

TIStatePayloadState = Literal["failed", "skipped", "success", "up_for_retry"]

TI_STATE_PAYLOAD_STATE_VALUES: set[TIStatePayloadState] = {
    "failed",
    "skipped",
    "success",
    "up_for_retry",
}


def check_ti_state_payload_state(value: str) -> TIStatePayloadState:
    if value in TI_STATE_PAYLOAD_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TI_STATE_PAYLOAD_STATE_VALUES!r}"
    )
