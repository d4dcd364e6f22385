"""The input contract at the edge: what every request body, path and query must be before routing.

Every JSON body is parsed once here, strictly, before any route sees it, so that nothing reaches
the database that the server cannot read back and serve:

- the body is UTF-8 without a byte-order mark, and JSON as RFC 8259 defines it: ``NaN``,
  ``Infinity`` and numbers that overflow a double (``1e400``) are refused, and so are lone
  surrogate escapes (``"\\ud800"``), which are no text — all ``422 invalid_json``;
- integers fit in a signed 64-bit integer (what every client language and database holds);
- objects and arrays nest at most :data:`MAX_JSON_DEPTH` deep;
- no string and no object key holds U+0000 (PostgreSQL cannot store it in text): ``422
  invalid_json`` naming the field; in the path or a query parameter, ``422 validation_error``.

Date-times that overflow when converted to UTC are refused by the models
(:data:`baton_server.api.schemas.common.StrictAwareDatetime`); sizes by the body limit and the
per-kind caps (XComs, variables, one attempt's logs).
"""

from __future__ import annotations

import email.message
import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from baton_server.api.reasons import INVALID_JSON, VALIDATION_ERROR
from baton_server.api.schemas.common import MAX_DB_INT

MAX_JSON_DEPTH = 64
"""How deep objects and arrays may nest in a request body (the document's top level is depth 1)."""

MIN_DB_INT = -MAX_DB_INT - 1
_MAX_INT_DIGITS = len(str(MAX_DB_INT)) + 1  # a sign and 19 digits


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the request breaks the contract: the 422 reason code and a sentence naming the spot."""

    reason: str
    message: str


class _RefusedError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refuse_constant(name: str) -> Any:
    raise _RefusedError(f"{name} is not a number JSON allows")


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _RefusedError(f"the number {text[:40]} is too large for a double")
    return value


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise _RefusedError(f"the integer {text[:24]}… does not fit in 64 bits")
    value = int(text)
    if not MIN_DB_INT <= value <= MAX_DB_INT:
        raise _RefusedError(f"the integer {text} does not fit in 64 bits")
    return value


def _field(path: list[str | int]) -> str:
    """A JSON path for messages: ``body.conf.items[2]``."""
    out = "body"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "nul"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "surrogate"
    return None


def _walk(document: Any) -> Refusal | None:
    """Depth, U+0000 and lone surrogates, checked over the parsed document without recursion."""
    stack: list[tuple[Any, list[str | int], int]] = [(document, [], 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
        elif isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                return _too_deep(path)
            problem = None
            for key, item in value.items():
                key_problem = _text_problem(key)
                if key_problem is not None:
                    return _text_refusal(key_problem, [*path, _printable(key)], "a key of")
                if isinstance(item, str | dict | list):
                    stack.append((item, [*path, key], depth + 1))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                return _too_deep(path)
            problem = None
            for index, item in enumerate(value):
                if isinstance(item, str | dict | list):
                    stack.append((item, [*path, index], depth + 1))
        else:
            problem = None
        if problem is not None:
            return _text_refusal(problem, path, "")
    return None


def _printable(key: str) -> str:
    return key.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("ascii", "replace")


def _too_deep(path: list[str | int]) -> Refusal:
    return Refusal(
        INVALID_JSON.code,
        f"{_field(path)} nests deeper than {MAX_JSON_DEPTH} levels of objects and arrays",
    )


def _text_refusal(problem: str, path: list[str | int], what: str) -> Refusal:
    where = f"{what} {_field(path)}".strip()
    if problem == "nul":
        return Refusal(INVALID_JSON.code, f"{where}: U+0000 (NUL) is not allowed in text")
    return Refusal(INVALID_JSON.code, f"{where}: a lone surrogate escape is not text")


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A JSON request body that keeps the contract, parsed: what ``json.loads`` makes of it (the checks
    only refuse; the numbers they look at are parsed as ``json.loads`` parses them)."""

    document: Any


def parse_json_body(body: bytes) -> Refusal | ParsedBody | None:
    """A request body parsed if it keeps the contract, the refusal if it does not; None for an empty
    body (the route's to refuse or not)."""
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refusal(INVALID_JSON.code, f"the request body is not UTF-8 (byte {exc.start})")
    if text.startswith("\ufeff"):
        return Refusal(INVALID_JSON.code, "the request body starts with a byte-order mark; send plain UTF-8")
    try:
        document = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_parse_float, parse_int=_parse_int
        )
    except _RefusedError as exc:
        return Refusal(INVALID_JSON.code, f"the request body is not valid JSON: {exc.message}")
    except RecursionError:
        return Refusal(
            INVALID_JSON.code,
            f"the request body nests deeper than {MAX_JSON_DEPTH} levels of objects and arrays",
        )
    except ValueError as exc:
        return Refusal(INVALID_JSON.code, f"the request body is not valid JSON: {exc}")
    refusal = _walk(document)
    return ParsedBody(document) if refusal is None else refusal


def check_path_and_query(path: str, query_string: bytes) -> Refusal | None:
    """U+0000 in the (decoded) path or in a query parameter: refused, naming it."""
    if "\x00" in path:
        return Refusal(VALIDATION_ERROR.code, "path: U+0000 (NUL) is not allowed in text")
    if b"%00" in query_string or b"\x00" in query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                printable = _printable(name)
                return Refusal(
                    VALIDATION_ERROR.code,
                    f"query parameter {printable!r}: U+0000 (NUL) is not allowed in text",
                )
    return None


def is_json_content(content_type: bytes | None) -> bool:
    """Whether the routes read a body sent with this ``Content-Type`` value (the request's first, the one
    Starlette's ``headers.get`` gives) as JSON: FastAPI's own rule, to the letter, so that no body a route
    parses escapes the contract's check. FastAPI reads the header as :mod:`email.message` does (whose
    ``strip`` also takes away Unicode spaces such as U+00A0 at either end) and, its content type being
    strict, reads a body without one, or with an empty one, as bytes, which no body model takes."""
    if content_type == b"application/json":
        return True
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


__all__ = [
    "MAX_JSON_DEPTH",
    "ParsedBody",
    "Refusal",
    "check_path_and_query",
    "is_json_content",
    "parse_json_body",
]
