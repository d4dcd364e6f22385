"""What every ``baton`` command shares: the server and token options, output helpers, one-line errors."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from baton._client import Client, _expect, check_base_url
from baton._generated.types import UNSET, Unset

T = TypeVar("T")
_Entry = TypeVar("_Entry")
SERVER_ENV = "BATON_SERVER_URL"
ADMIN_TOKEN_ENV = "BATON_ADMIN_TOKEN"  # noqa: S105 - the name of a variable, not a secret
DEFAULT_SERVER = "http://127.0.0.1:8080"


class CLIError(Exception):
    """A problem to report in one line, with the process's exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_server_options(parser: argparse.ArgumentParser, token_env: str, token_help: str) -> None:
    """``--server`` and ``--token``, read from the environment when not given."""
    parser.add_argument(
        "--server",
        metavar="URL",
        help=f"the Baton server (default: ${SERVER_ENV}, else {DEFAULT_SERVER})",
    )
    parser.add_argument("--token", metavar="TOKEN", help=f"{token_help} (default: ${token_env})")


def server_url(args: argparse.Namespace) -> str:
    """The server URL from ``--server``, the environment, or the local default."""
    url: str = args.server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER
    try:
        return check_base_url(url).rstrip("/")
    except ValueError as exc:
        raise CLIError(str(exc), 2) from None


def token(args: argparse.Namespace, env: str, what: str) -> str:
    """The token from ``--token`` or the environment; a CLIError naming both when neither is set.

    Without the white space around it (a token read from a file ends with a newline): no token has
    any, and an HTTP header cannot carry a newline. One with other characters no token has (spaces
    inside, control characters, non-ASCII) is refused without being shown."""
    value: str = (args.token or os.environ.get(env) or "").strip()
    if not value:
        raise CLIError(f"no {what}: pass --token or set {env}", 2)
    if not all("!" <= char <= "~" for char in value):
        raise CLIError(
            f"the {what} from --token or {env} has a character no token has (a space, a control "
            "character or one outside ASCII)",
            2,
        )
    return value


def admin_client(args: argparse.Namespace) -> Client:
    """A client of the admin API with the operator's token."""
    return Client(server_url(args), token(args, ADMIN_TOKEN_ENV, "admin token"), timeout=30.0)


def expect(value: object, kind: type[T]) -> T:
    """The parsed answer as ``kind`` (error statuses were raised already)."""
    return _expect(value, kind)


def every_page(
    fetch: Callable[[int], tuple[list[_Entry], int]], key: Callable[[_Entry], object]
) -> list[_Entry]:
    """Every entry of a paged admin listing, each once; ``fetch(offset)`` answers one page and the total.

    An entry created while it pages, ahead of the next page's offset, moves the entries at the end of a
    page to the start of the next: they are kept once (by ``key``)."""
    entries: list[_Entry] = []
    seen: set[object] = set()
    offset = 0
    while True:
        page, total = fetch(offset)
        offset += len(page)
        for entry in page:
            if key(entry) not in seen:
                seen.add(key(entry))
                entries.append(entry)
        if offset >= total or not page:
            return entries


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (for scripts: ``--json``)."""
    print(json.dumps(data, indent=2, default=str))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Characters a terminal takes as commands (escape sequences, carriage return, bell): every C0 and C1
control character but tab and newline."""


def shown(text: str) -> str:
    """``text`` safe to print on a terminal: each control character but tab and newline as ``\\xNN``,
    so that what a task stored (a log line, a value) cannot move the cursor, rewrite what was printed,
    retitle the window or set the clipboard of the operator who reads it."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with left-aligned columns (each cell :func:`shown`)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else shown(str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines)


def when(moment: datetime | Unset | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC, or ``-``."""
    if moment is None or moment is UNSET or not isinstance(moment, datetime):
        return "-"
    # isoformat, not strftime: C's %Y gives year 1 (a logical date may be 0001-01-01) as "1".
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def duration(seconds: float | Unset | None) -> str:
    """``0.4s``, ``12.3s``, ``4m05s``, ``2h03m``, or ``-``."""
    if seconds is None or isinstance(seconds, Unset):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def tries(try_number: int, max_tries: int) -> str:
    """``2/3`` (the current attempt of those allowed), or ``-`` before the first attempt."""
    return f"{try_number}/{max_tries}" if try_number else "-"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large for a JSON number")
    return number


def loads_json(text: str) -> Any:
    """``text`` as JSON, strictly: NaN, Infinity and numbers past a float's range are ValueErrors (Python's
    json takes them, and they then cannot be sent)."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite)


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object given on the command line; CLIError otherwise."""
    try:
        value = loads_json(text)
    except ValueError as exc:
        raise CLIError(f"{what} is not JSON: {exc}", 2) from None
    if not isinstance(value, dict):
        raise CLIError(f"{what} must be a JSON object", 2)
    return value


def name(text: str) -> str:
    """An argument that names something (a key, an id): not blank, and not ``.`` or ``..``, which no id
    is and which a URL's path takes for a step (``/api/dags/d/dag-runs/..`` is ``/api/dags/d``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be blank")
    if text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not an id")
    return text


def whole_number(most: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``most`` (what the API takes), else bad usage."""

    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= most:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {most}")
        return int(text)

    return parse


def seconds(text: str) -> float:
    """An argparse type: a number of seconds from 0, finite (``nan`` would never pass, so never time out)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0")
    return value


def stderr(message: str) -> None:
    """Print a note for the operator on stderr."""
    print(message, file=sys.stderr, flush=True)


__all__ = [
    "ADMIN_TOKEN_ENV",
    "CLIError",
    "add_server_options",
    "admin_client",
    "duration",
    "every_page",
    "expect",
    "loads_json",
    "name",
    "parse_json_object",
    "print_json",
    "seconds",
    "server_url",
    "stderr",
    "table",
    "token",
    "tries",
    "when",
    "whole_number",
]
