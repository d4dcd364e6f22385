from typing import Literal

TokenRefusal = Literal["not_held", "not_running", "unknown"]

TOKEN_REFUSAL_VALUES: set[TokenRefusal] = {
    "not_held",
    "not_running",
    "unknown",
}


def check_token_refusal(value: str) -> TokenRefusal:
    if value in TOKEN_REFUSAL_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TOKEN_REFUSAL_VALUES!r}"
    )
