"""The fork server: ``python -m baton._zygote --socket-fd N``, started by a worker (``baton._forkserver``).

It starts like a task process (the environment the worker gives task processes, a session of its
own, one thread), imports the SDK's task path once (:func:`baton._runner._import_task_path`; never
a DAG bundle: each attempt imports its bundle itself, as in a new interpreter), and then forks a
task process whenever the worker asks. A child runs :func:`baton._runner.run_attempt`, exactly what
``python -m baton._runner`` runs, in a session of its own, with only its own pipes open.

The worker and the fork server talk over a ``SOCK_SEQPACKET`` socket pair, one JSON object a message:

- worker to fork server: ``{"cwd": ..., "env": {...}}`` with four descriptors (``SCM_RIGHTS``): the
  child's stdout and stderr (write ends), its control pipe (read end), its channel pipe (write end);
- fork server to worker, in the order of the requests: ``{"pid": N}`` (with a pidfd of the child
  where the platform has them) or ``{"error": "..."}``; and whenever a child ends
  ``{"exited": N, "status": S}`` (``S`` negative: killed by that signal, as ``Popen.returncode``).

The end of the socket (the worker closed it, or died) ends the fork server: it SIGKILLs the children
still running (nobody supervises them any more; their control pipes are closed already), reaps them
and exits, so that it never leaves a child behind.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import io
import json
import os
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import IO, Any, NoReturn

from baton import _runner

CHILD_FDS = 4
"""Descriptors a fork request carries: stdout, stderr, control (read end), channel (write end)."""
MAX_REQUEST = 1 << 20
"""Largest fork request read (it holds the task's environment)."""


def _send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for high in [*sorted(keep), max(os.sysconf("SC_OPEN_MAX"), *keep) + 1]:
        if low < high:  # closerange(n, n) would close everything from n on
            os.closerange(low, high)
        low = high + 1


def _exit_status(exc: SystemExit) -> int:
    """The status the interpreter would exit with for an uncaught ``SystemExit`` (an int's low byte)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


_FORK_SERVER_STREAMS: list[IO[str]] = []
"""The fork server's own stdout and stderr, kept in a child: freed, they would close its fds 1 and 2."""


def _stream_on(fd: int, like: IO[str]) -> IO[str]:
    """A text stream on ``fd`` as an interpreter opens it at start: on the child's pipe, not on what the
    fork server's stream was opened on (``/dev/null``, which is seekable: a pipe's stream then fails)."""
    if not isinstance(like, io.TextIOWrapper):
        return like
    return io.TextIOWrapper(
        open(fd, "wb", closefd=False),
        encoding=like.encoding,
        errors=like.errors,
        line_buffering=like.line_buffering,
        write_through=like.write_through,
    )


def _child(request: dict[str, Any], fds: list[int], ready: int, server: _ForkServer) -> NoReturn:
    """The forked task process: become what ``python -m baton._runner`` would be, run the attempt, exit."""
    status = 1
    try:
        os.setsid()
        os.close(ready)  # the fork server answers once this session exists: signals to it then reach it
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        server.selector.close()  # this process's copies only: the fork server's stay open
        server.sock.close()
        os.close(server.wakeup_read)
        os.close(server.wakeup_write)
        stdout, stderr, control, channel = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        _FORK_SERVER_STREAMS.extend((sys.stdout, sys.stderr))
        sys.stdout = _stream_on(1, sys.stdout)
        sys.stderr = _stream_on(2, sys.stderr)
        _close_all_but({0, 1, 2, control, channel})
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [_runner.__file__, "--control-fd", str(control), "--channel-fd", str(channel)]
        status = _runner.run_attempt(control, channel)
    except SystemExit as exc:
        status = _exit_status(exc)
    except KeyboardInterrupt:
        traceback.print_exc()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
        status = 1
    # What the interpreter does on its way out: wait for the task's non-daemon threads, run the exit
    # functions, flush. Then leave without unwinding into the fork server's loop: there, an exception
    # would end in the loop's cleanup, which kills every task process the fork server had forked.
    try:
        getattr(threading, "_shutdown", lambda: None)()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        try:
            os._exit(status)
        finally:
            os._exit(1)


def _pidfd(pid: int) -> int:
    """A pidfd of the child, so the worker can tell when it ends should the fork server end first."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


class _ForkServer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: set[int] = set()
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(self.wakeup_write, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ)

    def serve(self) -> None:
        """Fork on request, report exits, until the worker's end of the socket closes."""
        # SIGCHLD wakes the selector (a Python handler, so that the signal is written to the pipe).
        signal.set_wakeup_fd(self.wakeup_write)
        signal.signal(signal.SIGCHLD, _on_sigchld)
        try:
            while True:
                for key, _ in self.selector.select():
                    if key.fd == self.wakeup_read:
                        with contextlib.suppress(BlockingIOError):
                            while os.read(self.wakeup_read, 4096):
                                pass
                        self._reap()
                    elif not self._request():
                        return
        except OSError:  # the worker is gone (its end closed while we wrote)
            return
        finally:
            self._end()

    def _request(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_REQUEST, CHILD_FDS)
        except ConnectionResetError:
            data, fds = b"", []
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        try:
            request = json.loads(data)
            if len(fds) != CHILD_FDS:
                raise ValueError(f"a fork request carries {CHILD_FDS} descriptors, not {len(fds)}")
            wait_ready, ready = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(wait_ready)
                os.close(ready)
                raise
        except (OSError, ValueError) as exc:
            for fd in fds:
                os.close(fd)
            _send(self.sock, {"error": f"{type(exc).__name__}: {exc}"})
            return True
        if pid == 0:
            os.close(wait_ready)
            _child(request, fds, ready, self)
        os.close(ready)
        os.read(wait_ready, 1)  # end of file once the child has its session (or has died)
        os.close(wait_ready)
        for fd in fds:
            os.close(fd)
        self.children.add(pid)
        pidfd = _pidfd(pid)
        try:
            _send(self.sock, {"pid": pid}, [pidfd] if pidfd >= 0 else [])
        finally:
            if pidfd >= 0:
                os.close(pidfd)
        return True

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            _send(self.sock, {"exited": pid, "status": os.waitstatus_to_exitcode(status)})

    def _end(self) -> None:
        """Kill the children nobody supervises now (their whole sessions), and reap them."""
        for pid in self.children:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        for pid in self.children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


def _on_sigchld(signum: int, frame: FrameType | None) -> None:
    """Nothing: the signal's byte on the wake-up pipe is what counts."""


def main(argv: Sequence[str] | None = None) -> int:
    """Import the task path, then fork task processes on request until the worker goes."""
    parser = argparse.ArgumentParser(prog="python -m baton._zygote")
    parser.add_argument("--socket-fd", type=int, required=True)
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.socket_fd)
    _runner._import_task_path()
    if threading.active_count() != 1:
        print("baton fork server: a thread started while importing; not forking", file=sys.stderr)
        return 1
    # What the imports made stays shared with every child: kept out of the collector's way, its pages
    # are not copied into a child by the first collection there.
    gc.collect()
    gc.freeze()
    _ForkServer(sock).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
