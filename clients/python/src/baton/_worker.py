"""The worker: registers itself and its DAGs, claims workloads while it has free slots, supervises them.

Run it from the command line (``baton worker --bundle PATH``), or embed it in an application
("tasks as RPC"): ``Worker(...).start()`` serves in a background thread until ``stop()``.

Shutting down drains: no new claims; running tasks get ``grace_period`` seconds to finish, then
are stopped and handed back (reported ``up_for_retry``). A second SIGTERM/SIGINT hands them back
at once, and cuts every wait for the server short: a start, the last log lines or a final state the
server has not taken gets one last try, then is given up.
Transport errors never stop a worker: it retries with backoff until the server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import math
import os
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal, TypeVar

from baton._attempt import AttemptOptions, AttemptSupervisor
from baton._bundle import Bundle, index_tasks, load_bundle
from baton._child import TASK_STARTS, TaskStart, TaskStarter, WarmPool
from baton._client import AsyncClient, _expect, check_base_url
from baton._dag import DAG
from baton._describe import PYTHON_RUNTIME, describe_dag
from baton._errors import (
    BatonError,
    BundleError,
    ForbiddenError,
    NotFoundError,
    ServerError,
    TransportError,
    UnauthorizedError,
    WorkerError,
)
from baton._execute import TASK_LOGGER
from baton._executions import Execution, ProcessExecution, RoutingLogHandler, ThreadExecution, WarmThreads
from baton._generated.api.workers import (
    claim_workloads,
    heartbeat_worker,
    register_dags,
    register_worker,
    reissue_task_tokens,
)
from baton._generated.models import (
    ClaimedWorkloads,
    ClaimWorkloadsPayload,
    DagDescription,
    ExecuteTaskWorkload,
    RegisterDagsPayload,
    RegisterWorkerPayload,
    TaskTokens,
    TaskTokensPayload,
)
from baton._generated.models import (
    Worker as WorkerModel,
)
from baton._logship import LAST_TRY, LogEntry
from baton._secrets import LocalSecrets
from baton._task import TaskRef
from baton._transport import RetryPolicy, SharedConnections

log = logging.getLogger("baton.worker")
T = TypeVar("T")
Isolation = Literal["process", "thread"]
MAX_DAGS_PER_REGISTRATION = 1000


def default_worker_name() -> str:
    """``<hostname>-<pid>``, as an id: unique per process, recognisable in ``baton workers list``."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", f"{socket.gethostname()}-{os.getpid()}").lstrip(".-")[:250]


def _unix_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (some containers)
        return str(os.getuid())


class Worker:
    """A Baton worker serving the DAGs of a bundle (or given DAG objects) on some queues."""

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        bundle: str | Path | None = None,
        dags: Sequence[DAG] | None = None,
        queues: Sequence[str] = ("default",),
        concurrency: int = 4,
        name: str | None = None,
        isolation: Isolation = "process",
        heartbeat_interval: float = 5.0,
        grace_period: float = 60.0,
        stop_grace: float = 10.0,
        claim_wait: float = 10.0,
        secrets_file: str | Path | None = None,
        bundle_name: str | None = None,
        log_level: str = "info",
        retry: RetryPolicy | None = None,
        warm_processes: int | None = None,
        task_start: TaskStart = "fork",
    ) -> None:
        if (bundle is None) == (dags is None):
            raise WorkerError("give the worker either a bundle path or DAG objects (dags=[...])")
        if dags is not None and isolation == "process":
            raise WorkerError(
                "DAG objects run in this process only: use isolation='thread' (or a bundle path)"
            )
        if task_start not in TASK_STARTS:
            raise WorkerError(f"task_start is 'fork' or 'spawn', not {task_start!r}")
        if concurrency < 1 or not queues:
            raise WorkerError("a worker needs a concurrency of at least 1 and at least one queue")
        try:
            check_base_url(server_url)
        except ValueError as exc:
            raise WorkerError(str(exc)) from None
        # A heartbeat every 0 s would hammer the server; nan and inf would never come.
        if not (math.isfinite(heartbeat_interval) and heartbeat_interval > 0):
            raise WorkerError(f"heartbeat_interval is a number of seconds above 0, not {heartbeat_interval}")
        for option, seconds in (
            ("grace_period", grace_period),
            ("stop_grace", stop_grace),
            ("claim_wait", claim_wait),
        ):
            if not (math.isfinite(seconds) and seconds >= 0):
                raise WorkerError(f"{option} is a number of seconds, 0 or more, not {seconds}")
        if warm_processes is not None and warm_processes < 0:
            raise WorkerError(f"warm_processes is 0 or more, not {warm_processes}")
        self.server_url = server_url.rstrip("/")
        self._token = token
        self._bundle_path = Path(bundle) if bundle is not None else None
        self._given_dags = list(dags or [])
        self.queues = list(dict.fromkeys(queues))
        self.concurrency = concurrency
        self.name = name or default_worker_name()
        self.isolation: Isolation = isolation
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.claim_wait = claim_wait
        self._bundle_name = bundle_name
        self._log_level = log_level
        self._retry = retry
        self.warm_processes = min(concurrency + 1, 4) if warm_processes is None else max(0, warm_processes)
        """Task processes kept started ahead of their attempts (process isolation; 0: none)."""
        self.task_start: TaskStart = task_start
        """How task processes start (process isolation): ``fork`` from the fork server, or ``spawn``."""
        self._starter: TaskStarter | None = None
        self._pool: WarmPool | None = None
        self._threads: WarmThreads | None = None
        self._connections: SharedConnections | None = None
        self._client: AsyncClient | None = None
        """The worker's own client (its credential), while it serves."""
        self._secrets = LocalSecrets(file=Path(secrets_file) if secrets_file else None)
        self._options = AttemptOptions(
            server_url=self.server_url,
            hostname=socket.gethostname(),
            unix_user=_unix_user(),
            heartbeat_interval=heartbeat_interval,
            stop_grace=stop_grace,
            retry=retry,
        )
        self.worker_id: str | None = None
        """The server's id of this worker, once registered."""
        self.bundle: Bundle | None = None
        self._tasks: dict[str, TaskRef] = {}
        self._attempts: dict[asyncio.Task[str | None], AttemptSupervisor] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Event | None = None
        self._hand_back_now: asyncio.Event | None = None
        self._slot_freed: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.results: dict[str, int] = {}
        """How many attempts ended in each reported state (and ``not_reported``)."""

    # -- embedding -------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Serve in a background thread; returns once registered (raises what stopped it otherwise)."""
        if self._thread is not None:
            raise WorkerError("this worker was already started")
        self._thread = threading.Thread(
            target=self._thread_main, name=f"baton-worker-{self.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                break
        if self._failure is not None:
            raise self._failure
        if not self._ready.is_set():
            self.stop(timeout=0)
            raise WorkerError(f"the worker did not register with {self.server_url} within {timeout:g} s")

    def stop(self, timeout: float | None = None) -> None:
        """Drain (no new claims, let running tasks finish within the grace period) and wait for the end."""
        self.drain()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self) -> None:
        """Stop claiming; running tasks finish (handed back after the grace period); then serving ends."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._begin_drain)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as exc:
            self._failure = exc

    # -- command line ----------------------------------------------------------------------------

    def run(self) -> None:
        """Serve in the foreground until SIGTERM or SIGINT (a second one hands running tasks back now)."""
        asyncio.run(self._serve_with_signals())

    async def _serve_with_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        await self.serve()

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        assert self._draining is not None
        assert self._hand_back_now is not None
        if not self._draining.is_set():
            log.info(
                "%s: draining; %d task(s) running (again to hand them back now)", name, len(self._attempts)
            )
            self._begin_drain()
        elif not self._hand_back_now.is_set():
            log.warning(
                "%s again: handing running tasks back now; a start, log lines or a final state the server "
                "has not taken get one last try of %g s, then are given up",
                name,
                LAST_TRY,
            )
            self._hand_back_now.set()

    def _begin_drain(self) -> None:
        if self._draining is not None:
            self._draining.set()

    # -- serving ---------------------------------------------------------------------------------

    def _load(self) -> list[DAG]:
        if self._bundle_path is not None:
            self.bundle = load_bundle(self._bundle_path, name=self._bundle_name)
            for warning in self.bundle.warnings:
                log.warning("%s", warning)
            dags = list(self.bundle.dags.values())
        else:
            dags = self._given_dags
        self._tasks = index_tasks(dags)
        bundle_queues = {
            dag.settings_of(ref).queue or "default" for dag in dags for ref in dag.tasks.values()
        }
        others = sorted(bundle_queues - set(self.queues))
        if bundle_queues and not bundle_queues & set(self.queues):
            log.warning(
                "no task of these DAGs is on a queue this worker serves (%s); their queues: %s",
                ", ".join(self.queues),
                ", ".join(sorted(bundle_queues)),
            )
        elif others:
            log.info("tasks on the queue(s) %s are left to other workers", ", ".join(others))
        return dags

    async def serve(self) -> None:
        """Register, then claim and supervise workloads until drained (usable on an application's loop)."""
        self._loop = asyncio.get_running_loop()
        self._draining, self._hand_back_now, self._slot_freed = (
            asyncio.Event(),
            asyncio.Event(),
            asyncio.Event(),
        )
        dags = self._load()
        descriptions = [describe_dag(dag) for dag in dags]
        self._secrets.check()
        handler = RoutingLogHandler() if self.isolation == "thread" else None
        if handler is not None:
            logging.getLogger().addHandler(handler)
            # The application's logging configuration decides what its tasks' loggers let through;
            # the SDK's own lines about each task (its failure, its skip) always reach the task log.
            task_logger = logging.getLogger(TASK_LOGGER)
            if task_logger.level == logging.NOTSET:
                task_logger.setLevel(logging.INFO)
        try:
            async with AsyncClient(self.server_url, self._token, retry=self._retry) as client:
                self._client = client
                if not await self._until_drained(lambda: self._register(client), "registering"):
                    return
                for start in range(0, len(descriptions), MAX_DAGS_PER_REGISTRATION):
                    chunk = descriptions[start : start + MAX_DAGS_PER_REGISTRATION]
                    if not await self._until_drained(
                        self._dags_registration(client, chunk), "registering DAGs"
                    ):
                        return
                log.info(
                    "registered worker %s (%s) serving %s on %s: %d DAG(s), %d slot(s), %s isolation",
                    self.name, self.worker_id, ", ".join(self.queues), self.server_url, len(dags),
                    self.concurrency, self._isolation_label(),
                )  # fmt: skip
                self._ready.set()
                if self.isolation == "process":
                    self._starter = TaskStarter(self.task_start)
                    if self.warm_processes:
                        self._pool = WarmPool(self.warm_processes, starter=self._starter)
                        self._pool.fill()
                if self.isolation == "thread":
                    self._threads = WarmThreads(self.concurrency)
                    self._threads.fill()
                # The attempts' clients (one per attempt, each with its token) share one pool of
                # connections: an attempt's first call does not wait for a connection to open.
                connections = self._connections = SharedConnections(keep_open=self.concurrency)
                beat = asyncio.create_task(self._heartbeat(client))
                try:
                    await self._claim_loop(client)
                except WorkerError as exc:
                    # No more claims, but what runs may still finish: task tokens are not the worker's.
                    log.error("%s; draining", exc)
                    self._begin_drain()
                    await self._drain_running()
                    raise
                else:
                    await self._drain_running()
                finally:
                    beat.cancel()
                    if self._pool is not None:
                        await self._pool.close()
                        self._pool = None
                    if self._starter is not None:
                        await self._starter.close()
                        self._starter = None
                    if self._threads is not None:
                        self._threads.close()
                        self._threads = None
                    self._connections = None
                    self._client = None
                    await connections.aclose()
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
            log.info("worker %s stopped", self.name)

    def _isolation_label(self) -> str:
        if self.isolation == "thread":
            return "thread"
        return "process (tasks forked)" if self.task_start == "fork" else "process (tasks spawned)"

    def _bundle_label(self) -> str | None:
        return self.bundle.name if self.bundle is not None else self._bundle_name

    async def _register(self, client: AsyncClient) -> None:
        payload = RegisterWorkerPayload(
            name=self.name,
            queues=self.queues,
            capacity=self.concurrency,
            runtime=PYTHON_RUNTIME,
            hostname=self._options.hostname,
        )
        registered = _expect(
            await register_worker.asyncio(client=client.generated, body=payload), WorkerModel
        )
        self.worker_id = str(registered.id)

    def _dags_registration(
        self, client: AsyncClient, dags: list[DagDescription]
    ) -> Callable[[], Awaitable[object]]:
        body = RegisterDagsPayload(dags=dags, bundle_name=self._bundle_label())
        return lambda: register_dags.asyncio_detailed(client=client.generated, body=body)

    async def _until_drained(self, call: Callable[[], Awaitable[T]], what: str) -> bool:
        """Retry ``call`` on transport errors with backoff; False if draining began first."""
        assert self._draining is not None
        delay = 0.5
        while not self._draining.is_set():
            try:
                await call()
                return True
            except (UnauthorizedError, ForbiddenError) as exc:
                raise WorkerError(f"the server refused the worker credential while {what}: {exc}") from exc
            except (TransportError, ServerError) as exc:
                log.warning("%s failed, retrying in %.1f s: %s", what, delay, exc)
            await self._sleep_unless_draining(delay)
            delay = min(delay * 2, 15.0)
        return False

    async def _sleep_unless_draining(self, seconds: float) -> None:
        assert self._draining is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._draining.wait(), timeout=seconds)

    async def _heartbeat(self, client: AsyncClient) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await heartbeat_worker.asyncio_detailed(self._worker_uuid(), client=client.generated)
            except NotFoundError:
                log.warning("the server no longer knows this worker: registering again")
                await self._until_drained(lambda: self._register(client), "registering")
            except BatonError as exc:
                log.warning("worker heartbeat failed: %s", exc)

    def _worker_uuid(self) -> uuid.UUID:
        assert self.worker_id is not None
        return uuid.UUID(self.worker_id)

    async def _claim(self, client: AsyncClient, free: int) -> list[ExecuteTaskWorkload]:
        body = ClaimWorkloadsPayload(max_workloads=min(free, 100), wait_seconds=self.claim_wait)
        if hasattr(body, "held_task_instance_ids"):  # from API version 2026-12-02
            # What this worker holds: a workload the server assigned to it whose claim answer was lost
            # is not listed, so it goes back to the queue now instead of after the claim timeout.
            body.held_task_instance_ids = [a.workload.task_instance.id for a in self._attempts.values()]
        claimed = await claim_workloads.asyncio(self._worker_uuid(), client=client.generated, body=body)
        return list(_expect(claimed, ClaimedWorkloads).workloads)

    async def _claim_loop(self, client: AsyncClient) -> None:
        assert self._draining is not None
        assert self._slot_freed is not None
        delay = 0.5
        while not self._draining.is_set():
            free = self.concurrency - len(self._attempts)
            if free <= 0:
                self._slot_freed.clear()
                await self._first_of(self._slot_freed.wait())
                continue
            claim = asyncio.create_task(self._claim(client, free))
            if not await self._first_of(claim):
                break  # draining: the claim was cancelled
            try:
                workloads = claim.result()
            except NotFoundError:
                log.warning("the server no longer knows this worker: registering again")
                await self._until_drained(lambda: self._register(client), "registering")
                continue
            except (UnauthorizedError, ForbiddenError) as exc:
                raise WorkerError(f"the server refused the worker credential: {exc}") from exc
            except BatonError as exc:
                log.warning("claiming failed, retrying in %.1f s: %s", delay, exc)
                await self._sleep_unless_draining(delay)
                delay = min(delay * 2, 15.0)
                continue
            delay = 0.5
            for workload in workloads:
                self._launch(workload)

    async def _first_of(self, waiting: Awaitable[object]) -> bool:
        """Wait for ``waiting`` or the start of draining; True if ``waiting`` finished first."""
        assert self._draining is not None
        job = asyncio.ensure_future(waiting)
        drained = asyncio.create_task(self._draining.wait())
        done, _ = await asyncio.wait({job, drained}, return_when=asyncio.FIRST_COMPLETED)
        if job in done:
            drained.cancel()
            return True
        job.cancel()
        return False

    def _launch(self, workload: ExecuteTaskWorkload) -> None:
        ti = workload.task_instance
        log.info("claimed %s/%s/%s try %d", ti.dag_id, ti.run_id, ti.task_id, ti.try_number)
        attempt = AttemptSupervisor(
            workload, self._options, self._make_execution, self._connections, self._reissue_token
        )
        task = asyncio.create_task(attempt.run(), name=attempt.label)
        self._attempts[task] = attempt
        task.add_done_callback(self._attempt_done)

    async def _reissue_token(self, task_instance_id: uuid.UUID, try_number: int) -> str | None:
        """A fresh execution token for an attempt this worker runs, asked with the worker's own
        credential (after the attempt's token expired); None when the server gives none."""
        client = self._client
        if client is None or self.worker_id is None:
            return None
        body = TaskTokensPayload(task_instance_ids=[task_instance_id])
        answer = await reissue_task_tokens.asyncio(self._worker_uuid(), client=client.generated, body=body)
        for fresh in _expect(answer, TaskTokens).tokens:
            if fresh.task_instance_id == task_instance_id and fresh.try_number == try_number:
                return fresh.token
        return None

    def _attempt_done(self, task: asyncio.Task[str | None]) -> None:
        attempt = self._attempts.pop(task)
        if task.cancelled():
            state = "not_reported"
        elif task.exception() is not None:
            exc = task.exception()
            log.error("%s: supervisor failed: %s: %s", attempt.label, type(exc).__name__, exc)
            state = "not_reported"
        else:
            state = task.result() or "not_reported"
        self.results[state] = self.results.get(state, 0) + 1
        if self._slot_freed is not None:
            self._slot_freed.set()

    async def _make_execution(self, on_entry: Callable[[LogEntry], None]) -> Execution:
        if self.isolation == "thread":
            return ThreadExecution(on_entry, self._resolve, self._secrets, self._threads)
        assert self.bundle is not None
        return await ProcessExecution.create(
            on_entry,
            bundle_root=self.bundle.root,
            secrets_file=self._secrets.file,
            log_level=self._log_level,
            pool=self._pool,
            starter=self._starter,
        )

    def _resolve(self, entry_point: str) -> TaskRef:
        try:
            return self._tasks[entry_point]
        except KeyError:
            raise BundleError(f"this worker has no task with the entry point {entry_point!r}") from None

    @staticmethod
    async def _gather(tasks: Iterable[asyncio.Task[str | None]]) -> object:
        return await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain_running(self) -> None:
        assert self._hand_back_now is not None
        running: Iterable[asyncio.Task[str | None]] = list(self._attempts)
        if not running:
            return
        log.info("waiting up to %g s for %d running task(s)", self.grace_period, len(self._attempts))
        everything: asyncio.Future[object] = asyncio.ensure_future(self._gather(running))
        hurry: asyncio.Future[object] = asyncio.ensure_future(self._hand_back_now.wait())
        await asyncio.wait(
            [everything, hurry], timeout=self.grace_period, return_when=asyncio.FIRST_COMPLETED
        )
        if not everything.done():
            log.warning("handing back %d task(s) still running", len(self._attempts))
            for attempt in list(self._attempts.values()):
                attempt.hand_back()
            # A second signal cuts every wait for the server short, during the grace period or after it.
            await asyncio.wait([everything, hurry], return_when=asyncio.FIRST_COMPLETED)
            if not everything.done():
                for attempt in list(self._attempts.values()):
                    attempt.hurry()
                await everything
        hurry.cancel()


__all__ = ["Isolation", "Worker", "default_worker_name"]
