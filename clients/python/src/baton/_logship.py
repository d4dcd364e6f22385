"""Task log lines: turned into structured entries, batched, and shipped through the Task Execution API.

Lines come from the task's stdout and stderr (``fields.stream``), from ``logging`` in the task
(``fields.logger``, plus any JSON-able ``extra=`` values) and from the supervisor itself
(``fields.source = "worker"``). :class:`LogShipper` uploads them in batches, in order, every
second or so and once more before the attempt's final state is reported.

Each batch carries a ``batch_id`` and is sent again, unchanged and with the same id, until the
server has it: an upload whose answer was lost is stored once, never twice and never lost. While
the server cannot be reached, lines wait (up to :data:`MAX_BUFFERED` of them and
:data:`MAX_BUFFERED_BYTES`, the oldest dropped beyond either and a line saying how many); the
last upload is retried for up to ``patience`` seconds before the attempt's final state is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from baton._client import AsyncClient, with_batch_id
from baton._errors import (
    APIError,
    BatonError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)
from baton._generated.api.logs import upload_task_logs
from baton._generated.models import LogBatch, LogLine, LogLineFieldsType0
from baton._generated.models.log_line_level import check_log_line_level

MAX_MESSAGE = 100_000
"""Longest message the server stores; longer ones are cut."""
MAX_FIELDS = 100_000
"""Most bytes of a line's fields (as JSON) shipped; fields past it are left out, by name."""
MAX_FIELD_NAME = 1_000
"""Longest field name shipped, in bytes; longer ones are cut (one huge name, kept or listed in
``fields_left_out``, made a line past the server's request limit, refusing its whole batch)."""
MAX_FIELD_DEPTH = 32
"""Deepest nesting of a field's value shipped (the server refuses a body nested past 64 levels)."""
MAX_BATCH_LINES = 1000
MAX_BATCH_BYTES = 2_000_000
"""Most bytes of a batch's lines (as JSON): well under the server's request limit (4 MiB by default)."""
MAX_BUFFERED = 20_000
"""Lines kept while the server cannot be reached; older ones are dropped beyond this."""
MAX_BUFFERED_BYTES = 64 << 20
"""Most bytes (as JSON) of the lines kept while the server cannot be reached; older ones are dropped
beyond this: 20,000 lines of up to 200 KB each (a message and its fields at their limits) would
hold 4 GB of the worker's memory."""
LEVELS = {"debug", "info", "warning", "error", "critical"}
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
"""What a JSON string may hold and the server's text may not: NUL, and surrogates (not UTF-8)."""

LAST_TRY = 5.0
"""Seconds a call to the server still has once the worker hurries (a second SIGTERM or Ctrl-C)."""

log = logging.getLogger("baton.worker")

T = TypeVar("T")


async def cut_short(call: Awaitable[T], hurry: asyncio.Event) -> T:
    """``call``'s result; once ``hurry`` is set, it has :data:`LAST_TRY` seconds more (TimeoutError after)."""
    if hurry.is_set():
        return await asyncio.wait_for(call, LAST_TRY)
    job = asyncio.ensure_future(call)
    hurried = asyncio.create_task(hurry.wait())
    try:
        await asyncio.wait({job, hurried}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()
    if job.done():
        return job.result()
    return await asyncio.wait_for(job, LAST_TRY)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One structured log line of a task attempt."""

    timestamp: datetime
    level: str
    message: str
    fields: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form used between the task process and its supervisor."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "level": self.level,
            "message": self.message,
            "fields": self.fields,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogEntry:
        """Read the JSON form, tolerating what a misbehaving task process might send."""
        level = str(data.get("level", "info")).lower()
        try:
            timestamp = datetime.fromisoformat(str(data["timestamp"]))
        except (KeyError, ValueError):
            timestamp = datetime.now(UTC)
        fields = data.get("fields")
        return cls(
            timestamp=timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC),
            level=level if level in LEVELS else "info",
            message=str(data.get("message", "")),
            fields=fields if isinstance(fields, dict) else None,
        )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)  # NaN and infinities are not JSON: the upload could not send them
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _text(value: str) -> str:
    """``value`` as text the server stores: NUL and surrogates become U+FFFD."""
    return _NOT_TEXT.sub("\ufffd", value)


_TRUNCATED = " … (truncated)"


def _cut(text: str, limit: int) -> str:
    """``text`` (no surrogates) cut to ``limit`` bytes of UTF-8 at most, never inside a character."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    end = limit - len(_TRUNCATED.encode())
    return encoded[:end].decode("utf-8", "ignore") + _TRUNCATED


def _field_value(value: Any, depth: int = 0) -> Any:
    """A field's value as the server takes it (strings made text); ValueError if it does not."""
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError("an integer past 64 bits")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a JSON number")
        return value
    if depth >= MAX_FIELD_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, list | tuple):
        return [_field_value(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_text(str(key)): _field_value(item, depth + 1) for key, item in value.items()}
    raise ValueError(f"not JSON: {type(value).__name__}")


def shippable(entry: LogEntry) -> tuple[LogEntry, int]:
    """The entry as the server takes it, and its size as JSON (bytes, at most).

    Whatever a task wrote or logged: the message is cut to :data:`MAX_MESSAGE`, NUL and surrogates
    become U+FFFD (the server refuses a whole batch for one of them), and a field that is not JSON,
    nested too deeply, or past :data:`MAX_FIELDS` is left out (``fields_left_out`` names it, up to
    :data:`MAX_FIELDS` bytes of names, then says how many more). A field name is cut to
    :data:`MAX_FIELD_NAME`.
    """
    message = entry.message
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 20] + _TRUNCATED
    message = _text(message)
    size = len(json.dumps(message)) + 100  # ensure_ascii: never fewer bytes than the UTF-8 sent
    fields: dict[str, Any] | None = None
    if entry.fields:
        fields = {}
        left_out: list[str] = []
        listed = unlisted = 0  # the bytes of the names in left_out; the names left out past them
        budget = MAX_FIELDS
        for key, value in entry.fields.items():
            name = _cut(_text(str(key)), MAX_FIELD_NAME)
            try:
                item = _field_value(value)
                cost = len(json.dumps({name: item})) + 1
            except (ValueError, TypeError, RecursionError):
                cost = budget + 1
            if cost > budget:
                name_bytes = len(name.encode())
                if listed + name_bytes > MAX_FIELDS:
                    unlisted += 1
                else:
                    left_out.append(name)
                    listed += name_bytes
                continue
            fields[name] = item
            budget -= cost
        if unlisted:
            left_out.append(f"… and {unlisted} more")
        if left_out:
            fields["fields_left_out"] = left_out
        size += len(json.dumps(fields))
    return LogEntry(entry.timestamp, entry.level, message, fields), size


def entry_from_record(record: logging.LogRecord, formatter: logging.Formatter | None = None) -> LogEntry:
    """A log entry for a ``logging`` record: its level, message (with traceback) and extras."""
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + (formatter or logging.Formatter()).formatException(record.exc_info)
    if record.stack_info:
        message += "\n" + record.stack_info
    fields: dict[str, Any] = {"logger": record.name}
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and _jsonable(value):
            fields[key] = value
    level = record.levelname.lower()
    return LogEntry(
        timestamp=datetime.fromtimestamp(record.created, UTC),
        level=level if level in LEVELS else ("error" if record.levelno >= logging.ERROR else "info"),
        message=message,
        fields=fields,
    )


def worker_entry(message: str, level: str = "info", **fields: Any) -> LogEntry:
    """A line the supervisor itself writes into the task's log."""
    return LogEntry(datetime.now(UTC), level, message, {"source": "worker", **fields})


def _line(entry: LogEntry) -> LogLine:
    """The wire form of an entry made :func:`shippable`."""
    fields = LogLineFieldsType0.from_dict(entry.fields) if entry.fields else None
    return LogLine(
        timestamp=entry.timestamp,
        level=check_log_line_level(entry.level),
        message=entry.message,
        fields=fields,
    )


class LogShipper:
    """Buffers one attempt's log lines and uploads them in ordered batches."""

    def __init__(
        self,
        client: AsyncClient,
        task_instance_id: uuid.UUID,
        *,
        interval: float = 1.0,
        patience: float = 300.0,
        renew: Callable[[str | None, BatonError], Awaitable[bool]] | None = None,
    ) -> None:
        self._client = client
        self._renew = renew
        """Whether an expired token was renewed (the refused batch is then sent again)."""
        self._ti = task_instance_id
        self._interval = interval
        self._patience = patience
        self._pending: deque[tuple[LogEntry, int]] = deque()
        """Lines made :func:`shippable`, each with its size."""
        self._held = 0
        """The bytes of the pending lines, as JSON."""
        self._in_flight: tuple[uuid.UUID, list[LogEntry]] | None = None
        """The batch being uploaded, kept with its id until the server has it."""
        self._dropped = 0
        self._closed = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self.shipped = 0

    def hurry(self) -> None:
        """Cut waiting for the server short: the upload on its way, or the next, is the last try."""
        self._hurry.set()

    def add(self, entry: LogEntry) -> None:
        """Queue a line for upload (lines after the attempt ended are only logged locally)."""
        if self._closed:
            return
        line = shippable(entry)
        self._pending.append(line)
        self._held += line[1]
        while len(self._pending) > 1 and (
            len(self._pending) > MAX_BUFFERED or self._held > MAX_BUFFERED_BYTES
        ):
            self._held -= self._pending.popleft()[1]
            self._dropped += 1
        if len(self._pending) >= MAX_BATCH_LINES:
            self._wake.set()

    async def run(self) -> None:
        """Upload every ``interval`` seconds (sooner when a batch fills up) until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            await self.flush()

    def _next_batch(self) -> list[LogEntry]:
        batch: list[LogEntry] = []
        total = 0
        for entry, size in self._pending:
            if batch and (len(batch) >= MAX_BATCH_LINES or total + size > MAX_BATCH_BYTES):
                break
            batch.append(entry)
            total += size
        return batch

    def _batch_to_send(self) -> tuple[uuid.UUID, list[LogEntry]] | None:
        if self._in_flight is None and self._pending:
            batch = self._next_batch()
            for _ in batch:
                self._held -= self._pending.popleft()[1]
            self._in_flight = (uuid.uuid4(), batch)
        return self._in_flight

    async def flush(self) -> bool:
        """Upload everything queued; False if some lines could not be shipped (they stay queued)."""
        async with self._lock:
            if self._dropped:
                note = worker_entry(
                    f"{self._dropped} log lines were dropped while the server was unreachable"
                )
                line = shippable(note)
                self._pending.appendleft(line)
                self._held += line[1]
                self._dropped = 0
            while (in_flight := self._batch_to_send()) is not None:
                batch_id, batch = in_flight
                body = with_batch_id(LogBatch(lines=[_line(e) for e in batch]), batch_id)
                stale = self._client.token
                try:
                    await cut_short(
                        upload_task_logs.asyncio_detailed(self._ti, client=self._client.generated, body=body),
                        self._hurry,
                    )
                except TimeoutError:
                    log.warning("task %s: log upload cut short: the worker is stopping", self._ti)
                    return False
                except (ConflictError, NotFoundError, UnauthorizedError, ForbiddenError) as exc:
                    if (
                        isinstance(exc, UnauthorizedError)
                        and self._renew is not None
                        and await self._renew(stale, exc)
                    ):
                        continue  # the same batch again, with the fresh token
                    # The attempt is over (or not ours): these lines can never be stored.
                    log.warning(
                        "task %s: %d log lines not stored: %s",
                        self._ti,
                        len(self._pending) + len(batch),
                        exc.reason,
                    )
                    self._pending.clear()
                    self._held = 0
                    self._in_flight = None
                    return False
                except PayloadTooLargeError as exc:
                    if exc.reason != "log_limit_exceeded":
                        log.warning("task %s: a log batch was refused and dropped: %s", self._ti, exc)
                        self._in_flight = None
                        continue
                    # The attempt's logs are full on the server: later lines stay in the worker's log only.
                    log.warning(
                        "task %s: the attempt reached the server's log limit; %d lines and later ones "
                        "are not stored: %s",
                        self._ti,
                        len(self._pending) + len(batch),
                        exc,
                    )
                    self._pending.clear()
                    self._held = 0
                    self._in_flight = None
                    self._closed = True
                    return False
                except APIError as exc:
                    if exc.status < 500:
                        log.warning("task %s: a log batch was refused and dropped: %s", self._ti, exc)
                        self._in_flight = None
                        continue
                    log.warning("task %s: log upload failed (will retry): %s", self._ti, exc)
                    return False
                except BatonError as exc:
                    log.warning("task %s: log upload failed (will retry): %s", self._ti, exc)
                    return False
                self._in_flight = None
                self.shipped += len(batch)
            return True

    async def close(self) -> bool:
        """Upload what is left, retrying for up to ``patience`` seconds while the server cannot be
        reached (once :meth:`hurry` is called, one last try); later lines are no longer accepted.
        False if some were not shipped."""
        deadline = time.monotonic() + self._patience
        delay = 0.5
        last = self._hurry.is_set()
        shipped = await self.flush()
        # Lines still held could yet be stored; none held after a failure means they were refused for good.
        # Once hurried, the next upload is the last try.
        while not shipped and not last and (self._in_flight is not None or self._pending):
            if time.monotonic() + delay > deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), timeout=delay)
            last = self._hurry.is_set()
            delay = min(delay * 2, 10.0)
            shipped = await self.flush()
        self._closed = True
        return shipped


__all__ = ["LogEntry", "LogShipper", "entry_from_record", "worker_entry"]
