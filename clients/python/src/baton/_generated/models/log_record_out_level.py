from typing import Literal

LogRecordOutLevel = Literal["critical", "debug", "error", "info", "warning"]

LOG_RECORD_OUT_LEVEL_VALUES: set[LogRecordOutLevel] = {
    "critical",
    "debug",
    "error",
    "info",
    "warning",
}


def check_log_record_out_level(value: str) -> LogRecordOutLevel:
    if value in LOG_RECORD_OUT_LEVEL_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LOG_RECORD_OUT_LEVEL_VALUES!r}"
    )
