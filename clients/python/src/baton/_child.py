"""A task attempt in its own process (``python -m baton._runner``): start it, feed it, read it, stop it.

The process gets a scrubbed environment (no ``BATON_*`` setting but the worker-side secrets), a
control pipe (its start message, then refreshed tokens) and a channel pipe (its log records and
its outcome); its stdout and stderr become log lines as they are written. It runs in a session
of its own, so a Ctrl-C meant for the worker does not reach it: the worker decides when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from baton._execute import Outcome
from baton._logship import LogEntry, worker_entry
from baton._secrets import CONNECTION_PREFIX, SECRETS_FILE_ENV, VARIABLE_PREFIX

log = logging.getLogger("baton.worker")

STREAM_LIMIT = 1 << 20
"""Longest line read from the task in one piece; longer ones arrive split."""
DRAIN_AFTER_EXIT = 5.0
"""Seconds the pipes are still read after the task process exits."""
OUTCOME_STATES = ("success", "skipped", "failed")
PASSED_BATON_PREFIXES = (VARIABLE_PREFIX, CONNECTION_PREFIX)


def task_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The task process's environment: ``base`` without Baton's settings and credentials.

    Only the worker-side secrets meant for tasks (``BATON_VAR_*``, ``BATON_CONN_*``, the secrets
    file) pass; the worker token, the admin token, the server URL, database URLs and keys do not.
    """
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith("BATON_") or key.startswith(PASSED_BATON_PREFIXES) or key == SECRETS_FILE_ENV
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def describe_exit(code: int) -> str:
    """``exited with status 3`` or ``was killed by SIGKILL``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


async def _lines(reader: asyncio.StreamReader) -> AsyncIterator[str]:
    while True:
        try:
            raw = await reader.readline()
        except asyncio.LimitOverrunError as exc:
            raw = await reader.readexactly(exc.consumed)
        except ValueError:  # a line over the limit: take what is buffered as one piece
            raw = await reader.read(STREAM_LIMIT)
        if not raw:
            return
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


class TaskProcess:
    """One running task process and its pipes."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        control: int,
        channel: asyncio.StreamReader,
        on_entry: Callable[[LogEntry], None],
    ) -> None:
        self._process = process
        self._control = control
        self._on_entry = on_entry
        self._early: list[LogEntry] | None = None
        self.outcome: Outcome | None = None
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read_stream(process.stdout, "stdout", "info")),
            asyncio.create_task(self._read_stream(process.stderr, "stderr", "error")),
            asyncio.create_task(self._read_channel(channel)),
        ]

    @property
    def pid(self) -> int:
        """The task process's pid."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Whether the process has not exited (as far as this loop has seen)."""
        return self._process.returncode is None

    @classmethod
    async def spawn_idle(cls, *, environ: Mapping[str, str] | None = None) -> TaskProcess:
        """Start a task process for an attempt not known yet; :meth:`attach` gives it its log sink."""
        early: list[LogEntry] = []
        process = await cls.spawn(early.append, environ=environ)
        process._early = early
        return process

    def attach(self, on_entry: Callable[[LogEntry], None]) -> None:
        """Send this process's lines to ``on_entry`` from now on (with any it wrote while idle)."""
        early, self._early = self._early or [], None
        self._on_entry = on_entry
        for entry in early:
            on_entry(entry)

    @classmethod
    async def spawn(
        cls, on_entry: Callable[[LogEntry], None], *, environ: Mapping[str, str] | None = None
    ) -> TaskProcess:
        """Start a task process that waits for its start message."""
        control_read, control_write = os.pipe()
        channel_read, channel_write = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "baton._runner",
                "--control-fd",
                str(control_read),
                "--channel-fd",
                str(channel_write),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(control_read, channel_write),
                env=task_environment(os.environ if environ is None else environ),
                start_new_session=True,
                limit=STREAM_LIMIT,
            )
        except BaseException:
            for fd in (control_read, control_write, channel_read, channel_write):
                os.close(fd)
            raise
        os.close(control_read)
        os.close(channel_write)
        loop = asyncio.get_running_loop()
        channel = asyncio.StreamReader(limit=STREAM_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(channel), os.fdopen(channel_read, "rb", buffering=0)
        )
        return cls(process, control_write, channel, on_entry)

    def send(self, message: dict[str, Any]) -> bool:
        """Write a control message; False when the process no longer listens."""
        if self._control < 0:
            return False
        data = (json.dumps(message) + "\n").encode()
        try:
            while data:
                written = os.write(self._control, data)
                data = data[written:]
        except (BrokenPipeError, OSError):
            return False
        return True

    async def _read_stream(self, reader: asyncio.StreamReader, stream: str, level: str) -> None:
        async for line in _lines(reader):
            self._emit(LogEntry(datetime.now(UTC), level, line, {"stream": stream}))

    def _emit(self, entry: LogEntry) -> None:
        # Looked up per line: attach() may have replaced the sink since the reader started.
        self._on_entry(entry)

    async def _read_channel(self, reader: asyncio.StreamReader) -> None:
        async for line in _lines(reader):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("type") == "log":
                self._emit(LogEntry.from_json(message))
            elif message.get("type") == "outcome" and message.get("state") in OUTCOME_STATES:
                note = message.get("message")
                self.outcome = Outcome(message["state"], note if isinstance(note, str) else None)

    async def wait(self) -> int:
        """Wait until the process has exited and everything it wrote has been read; its exit status."""
        code = await self._process.wait()
        # A process the task started (and left running) may hold its pipes open: read what is there,
        # then stop listening.
        _, lingering = await asyncio.wait(self._readers, timeout=DRAIN_AFTER_EXIT)
        for reader in lingering:
            reader.cancel()
        self._close_control()
        return code

    def _signal(self, signum: int) -> None:
        if self._process.returncode is None:
            # The task may have started processes of its own: stop its whole session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signum)

    async def stop(self, grace: float) -> int:
        """SIGTERM the task (its process group), SIGKILL after ``grace`` seconds; its exit status."""
        self._signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(asyncio.shield(self.wait()), timeout=grace)
        except TimeoutError:
            self._emit(worker_entry(f"the task did not stop within {grace:g} s of SIGTERM: killing it"))
            self._signal(signal.SIGKILL)
            return await self.wait()

    async def dismiss(self) -> None:
        """End a process that was never given an attempt: it exits when its control pipe closes."""
        self._close_control()
        try:
            await asyncio.wait_for(asyncio.shield(self.wait()), timeout=DRAIN_AFTER_EXIT)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await self.wait()

    def _close_control(self) -> None:
        if self._control >= 0:
            try:
                os.close(self._control)
            finally:
                self._control = -1


class WarmPool:
    """Task processes started ahead of their attempts, each already past its imports.

    An attempt takes one (:meth:`take`) and the pool starts a replacement at once, in the
    background. Each process still runs exactly one attempt and exits, with the environment the
    worker gives task processes (``task_environment``) and the worker's working directory, exactly
    like a process started for the attempt: only the start is earlier. A warm process that died while
    idle is passed over.
    """

    def __init__(self, size: int, *, environ: Mapping[str, str] | None = None) -> None:
        self.size = size
        self._environ = environ
        self._idle: list[TaskProcess] = []
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    def fill(self) -> None:
        """Start processes until ``size`` are idle or starting."""
        while not self._closed and len(self._idle) + len(self._starting) < self.size:
            starting = asyncio.create_task(self._start_one(), name="baton-warm-task-process")
            self._starting.add(starting)
            starting.add_done_callback(self._starting.discard)

    async def _start_one(self) -> None:
        try:
            process = await TaskProcess.spawn_idle(environ=self._environ)
        except OSError as exc:  # out of processes or memory: attempts start their own, as without a pool
            log.warning("could not start a warm task process: %s", exc)
            return
        if self._closed:
            await process.dismiss()
        else:
            self._idle.append(process)

    async def take(self, on_entry: Callable[[LogEntry], None]) -> TaskProcess:
        """A warm process for an attempt (a new one if none is ready); the pool refills behind it."""
        process: TaskProcess | None = None
        while self._idle and process is None:
            candidate = self._idle.pop(0)
            if candidate.alive:
                process = candidate
            else:
                await candidate.wait()
        self.fill()
        if process is None:
            return await TaskProcess.spawn(on_entry, environ=self._environ)
        process.attach(on_entry)
        return process

    async def close(self) -> None:
        """Stop filling; end the idle processes (closing their control pipe ends them before any task)."""
        self._closed = True
        for starting in list(self._starting):
            await asyncio.gather(starting, return_exceptions=True)
        idle, self._idle = self._idle, []
        for process in idle:
            await process.dismiss()


__all__ = ["TaskProcess", "WarmPool", "describe_exit", "task_environment"]
