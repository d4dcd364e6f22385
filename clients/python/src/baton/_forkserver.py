"""The worker's side of the fork server (``baton._zygote``): start it, ask it for task processes, see it end.

The fork server is started on the first request, with the environment task processes get. A request
passes the child's pipes, environment and working directory; the answer is the child's pid, and
later its exit status. Whenever the fork server cannot answer (it could not start, it died, it took
too long) :meth:`ForkServer.fork` raises :class:`ForkServerError` and the caller starts a new
interpreter instead; the next request starts a new fork server, unless the last one never forked a
child (then the worker spawns from now on). Why is logged once each time.

Children of a fork server that died are still running, and their exit status is lost with it: the
worker learns that they ended from a pidfd, and reports :data:`STATUS_UNKNOWN`.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Mapping, Sequence

log = logging.getLogger("baton.worker")

FORK_TIMEOUT = 60.0
"""Seconds a fork request may wait for its answer (the first waits for the fork server's imports)."""
CLOSE_TIMEOUT = 10.0
"""Seconds the fork server gets to exit once its socket is closed, before SIGKILL."""
STATUS_UNKNOWN = 256
"""The exit status of a child whose fork server ended first (no real status is 256)."""


_Answer = tuple[dict[str, object], "asyncio.Future[int] | None"]


class ForkServerError(Exception):
    """The fork server could not start a task process: start a new interpreter instead."""


def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One message and the descriptors it carries, without blocking (``socket.recv_fds`` blocks)."""
    fds = array.array("i")
    data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize), socket.MSG_DONTWAIT)
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    for fd in fds:  # a pidfd stays in the worker: not inherited by what it starts
        os.set_inheritable(fd, False)
    return data, list(fds)


def fork_unsupported() -> str | None:
    """Why this platform has no fork server (None: it has one)."""
    if sys.platform != "linux":
        return f"the fork server runs on Linux only, not {sys.platform}"
    if not hasattr(socket, "send_fds") or not hasattr(socket, "SOCK_SEQPACKET"):
        return "this Python cannot pass descriptors over a socket"
    return None


class ForkedProcess:
    """A task process forked by the fork server: its pid, and its exit status once reported."""

    def __init__(self, pid: int, ended: asyncio.Future[int]) -> None:
        self.pid = pid
        self._ended = ended

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: the signal that killed it); None while it runs."""
        return self._ended.result() if self._ended.done() else None

    async def wait(self) -> int:
        """Wait until it has exited; its exit status."""
        return await asyncio.shield(self._ended)


class ForkServer:
    """One fork server at a time, started when first needed."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._answers: deque[asyncio.Future[_Answer]] = deque()
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._pidfds: dict[int, int] = {}
        self._forked = False
        self._starting = asyncio.Lock()
        self._ending: set[asyncio.Task[None]] = set()
        self.disabled: str | None = None
        """Why this worker no longer uses a fork server (None while it does)."""

    @property
    def pid(self) -> int | None:
        """The running fork server's pid."""
        return self._process.pid if self._process is not None and self._sock is not None else None

    async def fork(self, fds: Sequence[int], *, env: Mapping[str, str], cwd: str) -> ForkedProcess:
        """A new task process with ``fds`` as its stdout, stderr, control and channel pipe ends."""
        if self.disabled is not None:
            raise ForkServerError(self.disabled)
        async with self._starting:
            if self._sock is None:
                await self._start()
        sock = self._sock
        assert sock is not None
        answer: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        try:
            socket.send_fds(sock, [json.dumps({"cwd": cwd, "env": dict(env)}).encode()], fds)
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:  # an environment too large for one message: the server is fine
                raise ForkServerError(f"the fork request is too large: {exc}") from None
            self._lost(f"could not be reached ({exc})")
            raise ForkServerError(str(exc)) from None
        self._answers.append(answer)
        try:
            message, ended = await asyncio.wait_for(asyncio.shield(answer), FORK_TIMEOUT)
        except TimeoutError:
            self._kill(f"did not answer a fork request within {FORK_TIMEOUT:g} s")
            raise ForkServerError("the fork server did not answer") from None
        pid = message.get("pid")
        if not isinstance(pid, int) or ended is None:
            raise ForkServerError(f"the fork server could not fork: {message.get('error')}")
        self._forked = True
        return ForkedProcess(pid, ended)

    async def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "baton._zygote",
                "--socket-fd",
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=self._environ,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            self.disabled = f"the fork server could not start ({exc})"
            log.warning("%s: task processes start in a new interpreter", self.disabled)
            raise ForkServerError(self.disabled) from None
        finally:
            theirs.close()
        self._sock = ours
        self._forked = False
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                data, fds = _receive(sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                self._lost("exited")
                return
            message = json.loads(data)
            if "exited" in message:
                self._ended(message["exited"], message["status"])
                continue
            ended: asyncio.Future[int] | None = None
            if "pid" in message:  # set up at once: the child's exit may be the next message
                ended = self._exits[message["pid"]] = asyncio.get_running_loop().create_future()
                if fds:
                    self._pidfds[message["pid"]] = fds.pop()
            for fd in fds:
                os.close(fd)
            answer = self._answers.popleft()
            if not answer.done():
                answer.set_result((message, ended))

    def _ended(self, pid: int, status: int) -> None:
        pidfd = self._pidfds.pop(pid, None)
        if pidfd is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(pidfd)
            os.close(pidfd)
        ended = self._exits.pop(pid, None)
        if ended is not None and not ended.done():
            ended.set_result(status)

    def _orphaned(self, pid: int, ended: asyncio.Future[int]) -> None:
        """A child outlived its fork server: it ended when its pidfd reads (status unknown)."""
        pidfd = self._pidfds.get(pid)
        if pidfd is None:
            self._ended(pid, STATUS_UNKNOWN)
            return
        asyncio.get_running_loop().add_reader(pidfd, self._ended, pid, STATUS_UNKNOWN)

    def _lost(self, how: str) -> None:
        """The fork server ended (or is being ended): fail its pending requests, watch its children."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        answers, self._answers = self._answers, deque()
        for answer in answers:
            if not answer.done():
                answer.set_exception(ForkServerError(f"the fork server {how}"))
        for pid, ended in list(self._exits.items()):
            if not ended.done():
                self._orphaned(pid, ended)
        if how != "closed":
            if not self._forked:
                self.disabled = f"the fork server {how} before it forked a task process"
                log.warning("%s: task processes start in a new interpreter from now on", self.disabled)
            else:
                log.warning("the fork server %s: the next task process starts a new one", how)
        process, self._process = self._process, None
        if process is not None:
            reaping = asyncio.get_running_loop().create_task(self._reap(process))
            self._ending.add(reaping)
            reaping.add_done_callback(self._ending.discard)

    def _kill(self, why: str) -> None:
        process = self._process
        self._lost(why)
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)

    @staticmethod
    async def _reap(process: asyncio.subprocess.Process) -> None:
        try:
            status = await asyncio.wait_for(process.wait(), CLOSE_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            status = await process.wait()
        if status not in (0, -signal.SIGKILL):
            log.debug("the fork server exited with status %d", status)

    async def close(self) -> None:
        """End the fork server (it kills the children it still has) and wait until it has exited."""
        self.disabled = "the worker is stopping"
        self._lost("closed")
        for reaping in list(self._ending):
            await asyncio.gather(reaping, return_exceptions=True)
        for pid in list(self._exits):
            self._ended(pid, STATUS_UNKNOWN)


__all__ = ["STATUS_UNKNOWN", "ForkServer", "ForkServerError", "ForkedProcess", "fork_unsupported"]
