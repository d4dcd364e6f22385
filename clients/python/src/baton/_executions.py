"""How an attempt's task code runs: in a task process of its own, or in a thread of this process.

Both give the supervisor the same handle (:class:`Execution`): the pid to report, a way to hand
over the run context and token, to pass on refreshed tokens, to wait for the outcome, and to stop.
A thread cannot be stopped: a stopped thread attempt is abandoned (its later API calls are refused,
since the attempt is over), which is why process isolation is the worker's default.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from baton._child import TaskProcess, TaskStarter, WarmPool, describe_exit
from baton._client import Client
from baton._context import TaskContext, TaskRuntime
from baton._execute import Outcome, describe_exception, execute
from baton._generated.models import TIRunContext
from baton._logship import LogEntry, entry_from_record
from baton._secrets import LocalSecrets
from baton._task import TaskRef
from baton._transport import TASK_RETRY_POLICY


@dataclass(frozen=True, slots=True)
class StartInfo:
    """What the task code needs to run one attempt."""

    server_url: str
    token: str
    context: TIRunContext
    entry_point: str


class Execution(Protocol):
    """The running task code of one attempt, as its supervisor sees it."""

    @property
    def pid(self) -> int:
        """The pid reported to the server for this attempt."""
        ...

    def begin(self, start: StartInfo) -> None:
        """Start the task code."""
        ...

    def update_token(self, token: str) -> None:
        """Pass on a token the supervisor's client was refreshed to."""
        ...

    async def wait(self) -> Outcome:
        """Wait for the task code to end; its outcome."""
        ...

    async def stop(self, grace: float) -> None:
        """Stop the task code early (SIGTERM, then SIGKILL after ``grace``; threads are abandoned)."""
        ...


class ProcessExecution:
    """The task runs in a task process of its own (``baton._runner``: forked, or a new interpreter)."""

    def __init__(
        self, process: TaskProcess, bundle_root: Path, secrets_file: Path | None, log_level: str
    ) -> None:
        self._process = process
        self._bundle_root = bundle_root
        self._secrets_file = secrets_file
        self._log_level = log_level

    @classmethod
    async def create(
        cls,
        on_entry: Callable[[LogEntry], None],
        *,
        bundle_root: Path,
        secrets_file: Path | None,
        log_level: str = "info",
        pool: WarmPool | None = None,
        starter: TaskStarter | None = None,
    ) -> ProcessExecution:
        """Take a warm task process from ``pool``, or start one (either waits for :meth:`begin`)."""
        if pool is not None:
            process = await pool.take(on_entry)
        else:
            process = await TaskProcess.spawn(on_entry, starter=starter)
        return cls(process, bundle_root, secrets_file, log_level)

    @property
    def pid(self) -> int:
        """The task process's pid."""
        return self._process.pid

    def begin(self, start: StartInfo) -> None:
        """Send the start message."""
        self._process.send(
            {
                "type": "start",
                "server_url": start.server_url,
                "token": start.token,
                "context": start.context.to_dict(),
                "entry_point": start.entry_point,
                "bundle_root": str(self._bundle_root),
                "secrets_file": str(self._secrets_file) if self._secrets_file else None,
                "log_level": self._log_level,
            }
        )

    def update_token(self, token: str) -> None:
        """Send the refreshed token down the control pipe."""
        self._process.send({"type": "token", "token": token})

    async def wait(self) -> Outcome:
        """The outcome the task reported, or a failure naming how the process ended without one."""
        code = await self._process.wait()
        if self._process.outcome is not None:
            return self._process.outcome
        return Outcome("failed", f"the task process {describe_exit(code)} before reporting an outcome")

    async def stop(self, grace: float) -> None:
        """SIGTERM the task process, SIGKILL it after ``grace`` seconds."""
        await self._process.stop(grace)


_sink: ContextVar[Callable[[LogEntry], None] | None] = ContextVar("baton_log_sink", default=None)


class RoutingLogHandler(logging.Handler):
    """Sends the log records of thread-run tasks to their attempt's log (other records pass by)."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink.get()
        if sink is None:
            return
        try:
            sink(entry_from_record(record, self.formatter))
        except Exception:  # a logging handler must never raise into the task
            self.handleError(record)


class _TaskThread:
    """A new thread, started ahead of the one attempt it will run and waiting for it."""

    def __init__(self) -> None:
        self._work: Callable[[], None] | None = None
        self._go = threading.Event()
        context = contextvars.Context()
        self.thread = threading.Thread(target=context.run, args=(self._main,), name="baton-task", daemon=True)

    def _main(self) -> None:
        self._go.wait()
        if self._work is not None:
            self._work()

    def run(self, name: str, work: Callable[[], None]) -> None:
        """Run ``work`` in this thread, renamed ``name``."""
        self.thread.name = name
        self._work = work
        self._go.set()

    def release(self) -> None:
        """End the thread unused."""
        self._go.set()


class WarmThreads:
    """Task threads started ahead of their attempts (thread isolation): each still runs one attempt.

    Starting a thread waits until the new thread runs, and on a busy machine the scheduler makes a
    new thread wait a time slice first (~3 ms here, at load average 3 on 2 cores); a thread already
    started and woken runs at once. An attempt takes a started thread, and its replacement is started
    on the event loop's executor, off the attempt's path.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._ready: deque[_TaskThread] = deque()
        self._closed = False
        self._lock = threading.Lock()

    def _start_one(self) -> None:
        spare = _TaskThread()
        spare.thread.start()
        with self._lock:
            if not self._closed:
                self._ready.append(spare)
                return
        spare.release()

    def fill(self) -> None:
        """Start threads until ``size`` are ready (blocking: at the worker's start)."""
        while len(self._ready) < self._size:
            self._start_one()

    def take(self) -> _TaskThread:
        """A started thread (or one started now if none is ready); a replacement starts in the background."""
        with self._lock:
            taken = self._ready.popleft() if self._ready else None
        if taken is None:
            taken = _TaskThread()
            taken.thread.start()
        if not self._closed:
            asyncio.get_running_loop().run_in_executor(None, self._start_one)
        return taken

    def close(self) -> None:
        """End the threads no attempt took (and those still starting, once started)."""
        with self._lock:
            self._closed = True
            unused = list(self._ready)
            self._ready.clear()
        for spare in unused:
            spare.release()


class ThreadExecution:
    """The task runs in a thread of this process: for tasks that need the application's own state."""

    def __init__(
        self,
        on_entry: Callable[[LogEntry], None],
        resolve: Callable[[str], TaskRef],
        secrets: LocalSecrets,
        threads: WarmThreads | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()

        def from_thread(entry: LogEntry) -> None:
            loop.call_soon_threadsafe(on_entry, entry)

        self._on_entry = from_thread
        self._resolve = resolve
        self._secrets = secrets
        self._future: Future[Outcome] = Future()
        self._settle_lock = threading.Lock()
        self._client: Client | None = None
        self._threads = threads
        self.abandoned = False

    @property
    def pid(self) -> int:
        """This process's pid."""
        return os.getpid()

    def _run(self, start: StartInfo) -> Outcome:
        _sink.set(self._on_entry)
        client = self._client = Client(start.server_url, start.token, retry=TASK_RETRY_POLICY)
        try:
            ref = self._resolve(start.entry_point)
            return execute(
                ref, TaskRuntime(TaskContext.from_run_context(start.context), client, self._secrets)
            )
        finally:
            client.close()

    def begin(self, start: StartInfo) -> None:
        """Start the task in a new thread."""

        def target() -> None:
            try:
                self._settle(self._run(start))
            except BaseException as exc:  # reported as the attempt's failure, not lost in the thread
                self._settle(Outcome("failed", describe_exception(exc)))

        name = f"baton-task-{start.context.task_instance.task_id}"
        if self._threads is not None:
            self._threads.take().run(name, target)
            return
        context = contextvars.Context()
        threading.Thread(target=context.run, args=(target,), name=name, daemon=True).start()

    def _settle(self, outcome: Outcome) -> None:
        with self._settle_lock:
            if not self._future.done():
                self._future.set_result(outcome)

    def update_token(self, token: str) -> None:
        """Swap the token of the task's client."""
        if self._client is not None:
            self._client.use_token(token)

    async def wait(self) -> Outcome:
        """Wait for the thread's outcome."""
        return await asyncio.wrap_future(self._future)

    async def stop(self, grace: float) -> None:
        """Threads cannot be stopped: the attempt is abandoned and its thread left to finish alone."""
        self.abandoned = True
        self._settle(Outcome("failed", "abandoned: a thread cannot be stopped"))


__all__ = [
    "Execution",
    "ProcessExecution",
    "RoutingLogHandler",
    "StartInfo",
    "ThreadExecution",
    "WarmThreads",
]
