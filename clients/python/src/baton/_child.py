"""A task attempt in its own process (``python -m baton._runner``): start it, feed it, read it, stop it.

The process gets a scrubbed environment (no ``BATON_*`` setting but the worker-side secrets), a
control pipe (its start message, then refreshed tokens) and a channel pipe (its log records and
its outcome); its stdout and stderr become log lines as they are written. It runs in a session
of its own, so a Ctrl-C meant for the worker does not reach it: the worker decides when it stops.

It starts (:class:`TaskStarter`) either forked by the worker's fork server (``baton._zygote``,
already past the SDK's imports) or as a new interpreter; everything else is the same either way.
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
from typing import Any, Literal, Protocol

from baton._execute import Outcome
from baton._forkserver import STATUS_UNKNOWN, ForkServer, ForkServerError, fork_unsupported
from baton._logship import LogEntry, worker_entry
from baton._secrets import CONNECTION_PREFIX, SECRETS_FILE_ENV, VARIABLE_PREFIX

log = logging.getLogger("baton.worker")

STREAM_LIMIT = 1 << 20
"""Longest line read from the task in one piece; longer ones arrive split."""
DRAIN_AFTER_EXIT = 5.0
"""Seconds the pipes are still read after the task process exits."""
OUTCOME_STATES = ("success", "skipped", "failed")
PASSED_BATON_PREFIXES = (VARIABLE_PREFIX, CONNECTION_PREFIX)
TaskStart = Literal["fork", "spawn"]
TASK_STARTS: tuple[TaskStart, ...] = ("fork", "spawn")


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
    if code == STATUS_UNKNOWN:
        return "ended (its exit status was lost with the fork server)"
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


class ProcessHandle(Protocol):
    """A started task process: ``asyncio.subprocess.Process`` or a child of the fork server."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class TaskStarter:
    """How this worker starts task processes: forked by its fork server, or each a new interpreter.

    ``fork`` falls back to a new interpreter, with a line in the log saying why, whenever the fork
    server cannot serve (this platform has none, it could not start, it died); a fork server that
    died is started again when the next task process is needed.
    """

    def __init__(self, mode: TaskStart = "fork", *, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._forks: ForkServer | None = None
        if mode == "fork":
            unsupported = fork_unsupported()
            if unsupported is None:
                self._forks = ForkServer(task_environment(self._base()))
            else:
                log.info("%s: task processes start in a new interpreter", unsupported)

    def _base(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    @property
    def fork_server(self) -> ForkServer | None:
        """The fork server, in ``fork`` mode where the platform has one."""
        return self._forks

    async def start(self, stdout: int, stderr: int, control: int, channel: int) -> ProcessHandle:
        """A task process with these pipe ends (its stdout, stderr, control and channel)."""
        env = task_environment(self._base())
        if self._forks is not None:
            with contextlib.suppress(ForkServerError):  # the fork server said why in the log
                return await self._forks.fork((stdout, stderr, control, channel), env=env, cwd=os.getcwd())
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "baton._runner",
            "--control-fd",
            str(control),
            "--channel-fd",
            str(channel),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(control, channel),
            env=env,
            start_new_session=True,
        )

    async def close(self) -> None:
        """End the fork server, if there is one."""
        if self._forks is not None:
            await self._forks.close()


class TaskProcess:
    """One running task process and its pipes."""

    def __init__(
        self,
        process: ProcessHandle,
        control: int,
        outputs: tuple[asyncio.StreamReader, asyncio.StreamReader, asyncio.StreamReader],
        on_entry: Callable[[LogEntry], None],
    ) -> None:
        self._process = process
        self._control = control
        self._on_entry = on_entry
        self._early: list[LogEntry] | None = None
        self.outcome: Outcome | None = None
        stdout, stderr, channel = outputs
        self._readers = [
            asyncio.create_task(self._read_stream(stdout, "stdout", "info")),
            asyncio.create_task(self._read_stream(stderr, "stderr", "error")),
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
    async def spawn_idle(cls, *, starter: TaskStarter | None = None) -> TaskProcess:
        """Start a task process for an attempt not known yet; :meth:`attach` gives it its log sink."""
        early: list[LogEntry] = []
        process = await cls.spawn(early.append, starter=starter)
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
        cls, on_entry: Callable[[LogEntry], None], *, starter: TaskStarter | None = None
    ) -> TaskProcess:
        """Start a task process that waits for its start message (a new interpreter without ``starter``)."""
        ours: list[int] = []  # the read ends, and the control pipe's write end
        theirs: list[int] = []  # the ends the task process gets: stdout, stderr, control, channel
        try:
            for child_writes in (True, True, False, True):
                read, write = os.pipe()
                ours.append(read if child_writes else write)
                theirs.append(write if child_writes else read)
            process = await (starter or TaskStarter("spawn")).start(*theirs)
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        stdout, stderr, control, channel = ours
        loop = asyncio.get_running_loop()

        async def reader(fd: int) -> asyncio.StreamReader:
            stream = asyncio.StreamReader(limit=STREAM_LIMIT)
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream), os.fdopen(fd, "rb", buffering=0)
            )
            return stream

        outputs = (await reader(stdout), await reader(stderr), await reader(channel))
        return cls(process, control, outputs, on_entry)

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

    def __init__(self, size: int, *, starter: TaskStarter | None = None) -> None:
        self.size = size
        self._starter = starter
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
            process = await TaskProcess.spawn_idle(starter=self._starter)
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
            return await TaskProcess.spawn(on_entry, starter=self._starter)
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


__all__ = [
    "TASK_STARTS",
    "ProcessHandle",
    "TaskProcess",
    "TaskStart",
    "TaskStarter",
    "WarmPool",
    "describe_exit",
    "task_environment",
]
