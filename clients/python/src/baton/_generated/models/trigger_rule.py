from typing import Literal

TriggerRule = Literal["all_done", "all_success", "none_failed"]

TRIGGER_RULE_VALUES: set[TriggerRule] = {
    "all_done",
    "all_success",
    "none_failed",
}


def check_trigger_rule(value: str) -> TriggerRule:
    if value in TRIGGER_RULE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TRIGGER_RULE_VALUES!r}"
    )
