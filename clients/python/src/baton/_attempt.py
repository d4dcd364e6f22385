"""The supervisor of one claimed attempt: start it, heartbeat it, ship its logs, report how it ended.

1. start the task code (a process, or a thread) and call ``run`` with the workload token and the
   task's pid; the server answers with the run context and the execution token;
2. while the task runs: heartbeat every few seconds, passing refreshed tokens on to the task;
   stop the task when a heartbeat answers 409 or 404 (the server ended the attempt: nothing is
   reported), when its execution timeout passes, or when the worker hands it back;
3. ship the last log lines, then report the final state: ``success``; ``skipped``; on a failure
   (an exception, a crash, the timeout) ``up_for_retry`` while ``try_number < max_tries``, else
   ``failed``; a handed-back attempt is ``up_for_retry`` (the server stores ``failed`` if it was
   the last try). One handed back while its start was on its way is started, then reported so
   without its task being begun.

When the execution token has expired (``401 token_expired``: no server answered in its last minutes,
as during a downtime), a heartbeat, a log upload or the final state asks the worker for a fresh one
(``reissue``: the worker's own credential, ``POST /workers/{id}/task-tokens``) and goes on with it; the
task gets it too. Without one the attempt goes on as before: the heartbeat stops the task, the lines and
the final state are not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from baton._client import AsyncClient
from baton._errors import (
    APIError,
    BatonError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from baton._execute import Outcome
from baton._executions import Execution, StartInfo
from baton._generated.models import (
    ExecuteTaskWorkload,
    TIHeartbeatPayload,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
)
from baton._generated.models.ti_state_payload_state import check_ti_state_payload_state
from baton._logship import LogEntry, LogShipper, cut_short, worker_entry
from baton._transport import RetryPolicy, SharedConnections

log = logging.getLogger("baton.worker")

MakeExecution = Callable[[Callable[[LogEntry], None]], Awaitable[Execution]]
Reissue = Callable[[uuid.UUID, int], Awaitable[str | None]]
"""Asks the server, with the worker's credential, for a fresh execution token for the running attempt
(task instance, try number); None when it gives none."""


@dataclass(frozen=True, slots=True)
class AttemptOptions:
    """How attempts are supervised."""

    server_url: str
    hostname: str
    unix_user: str
    heartbeat_interval: float = 5.0
    stop_grace: float = 10.0
    """Seconds between SIGTERM and SIGKILL when a task is stopped."""
    report_patience: float = 300.0
    """How long the start, the last log lines and the final state are retried while the server cannot
    be reached."""
    retry: RetryPolicy | None = None


def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task, if there is one (again: a no-op)."""
    if task is not None:
        task.cancel()


def final_state(outcome: Outcome, try_number: int, max_tries: int) -> str:
    """The state to report for an outcome: failures retry while attempts remain."""
    if outcome.state in ("success", "skipped"):
        return outcome.state
    return "up_for_retry" if try_number < max_tries else "failed"


class AttemptSupervisor:
    """Supervises one claimed workload from ``run`` to its final state."""

    def __init__(
        self,
        workload: ExecuteTaskWorkload,
        options: AttemptOptions,
        make_execution: MakeExecution,
        connections: SharedConnections | None = None,
        reissue: Reissue | None = None,
    ):
        self.workload = workload
        self._reissue = reissue
        self._renewing = asyncio.Lock()
        self._execution: Execution | None = None
        self._options = options
        self._make_execution = make_execution
        self._connections = connections
        """The worker's pool of open connections to the server, borrowed by this attempt's client."""
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()
        self._shipper: LogShipper | None = None
        self._stop_reason = ""
        self._stop_note = ""
        ti = workload.task_instance
        self.label = f"{ti.dag_id}/{ti.run_id}/{ti.task_id} try {ti.try_number}/{workload.max_tries}"

    def hand_back(self) -> None:
        """Stop the task and report it ``up_for_retry`` (the worker is shutting down)."""
        self._request_stop("hand_back", "the worker is shutting down: the attempt is handed back")

    def hurry(self) -> None:
        """Hand the attempt back, and cut its waits for the server short (a second SIGTERM or Ctrl-C):
        its start, last log lines and final state get one last try of a few seconds, then
        are given up (the server's heartbeat or claim timeout then frees the attempt)."""
        self.hand_back()
        self._hurry.set()
        if self._shipper is not None:
            self._shipper.hurry()

    def _request_stop(self, reason: str, note: str) -> None:
        if not self._stop.is_set():
            self._stop_reason, self._stop_note = reason, note
            self._stop.set()

    async def _patiently(self, what: str, call: Callable[[], Awaitable[object]]) -> object:
        """``call()``, retried on transport errors and 5xx answers for up to ``report_patience`` seconds."""
        deadline = time.monotonic() + self._options.report_patience
        delay = 0.5
        while True:
            last = self._hurry.is_set()
            try:
                return await cut_short(call(), self._hurry)
            except TimeoutError:
                raise TransportError(f"{what} cut short: the worker is stopping") from None
            except (TransportError, ServerError) as exc:
                if last or time.monotonic() + delay > deadline:
                    raise
                log.warning("%s: %s failed, retrying in %.1f s: %s", self.label, what, delay, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), timeout=delay)
                delay = min(delay * 2, 15.0)

    async def _renewed(self, client: AsyncClient, stale: str | None, exc: BatonError) -> bool:
        """Whether the attempt's token, ``stale`` when ``exc`` answered, was expired and is now replaced
        by a fresh one from the worker's credential (or already was, by another of the attempt's calls)."""
        if (
            not (isinstance(exc, UnauthorizedError) and exc.reason == "token_expired")
            or self._reissue is None
        ):
            return False
        reissue, ti = self._reissue, self.workload.task_instance
        async with self._renewing:
            if client.token != stale:
                return True
            try:
                fresh = await self._patiently(
                    "renewing the expired token", lambda: reissue(ti.id, ti.try_number)
                )
            except BatonError as error:
                log.warning("%s: no fresh token for the expired one: %s", self.label, error)
                return False
            if not isinstance(fresh, str):
                log.warning("%s: the server gives the attempt no fresh token", self.label)
                return False
            log.info("%s: the expired execution token was renewed with the worker's credential", self.label)
            client.use_token(fresh)
            if self._execution is not None:
                self._execution.update_token(fresh)
            return True

    async def run(self) -> str | None:
        """Run the attempt to its end; the state reported, or None when nothing was (or could be)."""
        ti = self.workload.task_instance
        async with AsyncClient(
            self._options.server_url,
            self.workload.token,
            retry=self._options.retry,
            transport=self._connections.lend() if self._connections is not None else None,
        ) as client:
            shipper = LogShipper(
                client,
                ti.id,
                patience=self._options.report_patience,
                renew=lambda stale, exc: self._renewed(client, stale, exc),
            )
            self._shipper = shipper
            if self._hurry.is_set():
                shipper.hurry()
            try:
                execution = await self._make_execution(shipper.add)
            except Exception as exc:
                # Left claimed and unstarted, the workload goes back to the queue after the claim timeout.
                log.error(
                    "%s: the task could not be started here: %s: %s", self.label, type(exc).__name__, exc
                )
                return None
            began = time.monotonic()
            payload = TIRunPayload(
                hostname=self._options.hostname,
                pid=execution.pid,
                unix_user=self._options.unix_user,
                start_date=datetime.now(UTC),
            )
            try:
                started = await self._patiently("start", lambda: client.start(ti.id, payload))
            except BatonError as exc:
                log.warning("%s: not started: %s", self.label, exc)
                await execution.stop(0)
                return None
            assert isinstance(started, TIRunContext)
            pump = asyncio.create_task(shipper.run())
            try:
                return await self._supervise(client, shipper, execution, started, began)
            finally:
                pump.cancel()

    async def _supervise(
        self,
        client: AsyncClient,
        shipper: LogShipper,
        execution: Execution,
        context: TIRunContext,
        began: float,
    ) -> str | None:
        ti = self.workload.task_instance
        shipper.add(
            worker_entry(
                f"attempt {ti.try_number} of {context.max_tries} started on {self._options.hostname} "
                f"(pid {execution.pid})"
            )
        )
        log.info("%s: started (pid %d)", self.label, execution.pid)
        # Heartbeats go on until the final state is reported: the task's last log lines may take long to
        # ship (many held, or the server briefly away), and a silent attempt is failed by the server.
        beat: asyncio.Task[None] | None = None
        try:
            if self._stop.is_set():
                # Handed back while the start was on its way, seen through (the server may have started
                # the attempt already): the task is not begun, and the attempt is reported up_for_retry.
                shipper.add(worker_entry(self._stop_note, "warning"))
                await execution.stop(0)
                outcome = Outcome("failed", "stopped before it began")
                reason: str | None = self._stop_reason
            else:
                token = client.token or ""
                self._execution = execution
                start = StartInfo(self._options.server_url, token, context, self.workload.entry_point)
                execution.begin(start)
                beat = asyncio.create_task(self._heartbeat(client, execution, token))
                limit = context.execution_timeout_seconds
                outcome, reason = await self._wait(execution, limit, began, shipper)
            took = f"{time.monotonic() - began:.1f} s"
            if reason == "server":
                _cancel(beat)
                log.warning("%s: stopped after %s: %s", self.label, took, self._stop_note)
                await shipper.close()
                return None
            if reason == "hand_back":
                state = "up_for_retry"
            else:
                state = final_state(outcome, ti.try_number, context.max_tries)
            why = f": {outcome.message}" if outcome.message and state != "success" else ""
            shipper.add(worker_entry(f"attempt {ti.try_number} ended after {took}: {state}{why}"))
            if not await shipper.close():
                log.warning("%s: some log lines could not be shipped", self.label)
            _cancel(beat)
            reported = await self._finish(client, state)
        finally:
            _cancel(beat)
        log.info("%s: %s after %s%s", self.label, reported or "not reported", took, why)
        return reported

    async def _wait(
        self, execution: Execution, limit: float | None, began: float, shipper: LogShipper
    ) -> tuple[Outcome, str | None]:
        # The limit counts from the start date reported to the server, as the server counts it.
        remaining = None if limit is None else max(0.0, limit - (time.monotonic() - began))
        ended = asyncio.create_task(execution.wait())
        stopped = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait({ended, stopped}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if ended in done:
            stopped.cancel()
            return ended.result(), None
        stopped.cancel()
        if not done:
            self._request_stop("timeout", f"execution timeout of {limit:g} s exceeded: stopping the task")
        shipper.add(worker_entry(self._stop_note, "error" if self._stop_reason != "hand_back" else "warning"))
        await execution.stop(self._options.stop_grace)
        outcome = await ended
        if self._stop_reason == "timeout":
            outcome = Outcome("failed", f"execution timeout of {limit:g} s exceeded")
        return outcome, self._stop_reason

    async def _heartbeat(self, client: AsyncClient, execution: Execution, token: str) -> None:
        ti_id = self.workload.task_instance.id
        body = TIHeartbeatPayload(hostname=self._options.hostname, pid=execution.pid)
        while True:
            await asyncio.sleep(self._options.heartbeat_interval)
            stale = client.token
            try:
                await client.heartbeat(ti_id, body)
            except UnauthorizedError as exc:
                if await self._renewed(client, stale, exc):
                    token = client.token or ""
                    continue
                self._request_stop(
                    "server", f"the server answered {exc.status} ({exc.reason}) to a heartbeat: {exc.message}"
                )
                return
            except (ConflictError, NotFoundError, ForbiddenError) as exc:
                self._request_stop(
                    "server", f"the server answered {exc.status} ({exc.reason}) to a heartbeat: {exc.message}"
                )
                return
            except BatonError as exc:
                log.warning("%s: heartbeat failed: %s", self.label, exc)
                continue
            if client.token and client.token != token:
                token = client.token
                execution.update_token(token)

    async def _finish(self, client: AsyncClient, state: str) -> str | None:
        ti_id = self.workload.task_instance.id
        body = TIStatePayload(state=check_ti_state_payload_state(state), end_date=datetime.now(UTC))

        async def finish() -> object:
            stale = client.token
            try:
                return await client.finish(ti_id, body)
            except UnauthorizedError as exc:
                if not await self._renewed(client, stale, exc):
                    raise
                return await client.finish(ti_id, body)

        try:
            response = await self._patiently("reporting the final state", finish)
        except APIError as exc:
            log.warning("%s: the server refused the final state %s: %s", self.label, state, exc)
            return None
        except BatonError as exc:
            log.error("%s: the final state %s could not be reported: %s", self.label, state, exc)
            return None
        reported: str = getattr(response, "state", state)
        return reported


__all__ = ["AttemptOptions", "AttemptSupervisor", "final_state"]
