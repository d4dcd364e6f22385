"""Serving from several processes: forked once the app is built, each accepting on the same port.

``baton-server serve`` with ``BATON_PROCESSES`` above one builds the app (every API version's
routes and models, frozen out of the collector's sight) and then forks: the children share those
pages instead of building them again, so a start costs little more than one process's. Each child
binds its own listening socket to the port with ``SO_REUSEPORT``, and the kernel spreads new
connections over them — unlike one shared socket, where the first process to wake could accept a
whole burst of connections and leave the others idle.

The parent only supervises: a child that dies is forked again (logged), ``SIGTERM`` or ``SIGINT``
is passed on to every child, which finishes its requests and stops, and the parent exits once they
all have. A child that could not start (its lifespan failed: the database is gone, say), or that
failed with an error, stops the whole server with an error instead of being forked again and
again. A child stops by itself when the supervisor is killed (``PR_SET_PDEATHSIG``): no server
process outlives it holding the port.

``SO_REUSEPORT`` lets any socket of the same user join the port, a second ``serve`` started by
mistake too: it would share the traffic with the first, silently, maybe with another version or
database. So every ``serve`` first holds its address (:func:`hold_address`, an abstract socket
named after the host and port that the kernel frees with the last process holding it), and a second
one on the same address refuses to start in one line; the processes of one ``serve`` inherit it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger("uvicorn.error")
"""The supervisor's lines go where the server processes' own (uvicorn's) go, in their format."""

SHARED_METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""The folder the processes of one server keep their metrics in (prometheus_client reads it when it
is first imported; ``baton-server serve`` sets it for several processes)."""

_METRICS_PREFIX = "baton-metrics-"


def shared_metrics_folder() -> str:
    """A fresh folder for the metrics of this server's processes, in the temporary directory, named
    after the supervisor's pid; the folders of supervisors no longer alive (killed before they could
    remove theirs) are removed first."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_METRICS_PREFIX}*-*"):
        owner = folder.name.removeprefix(_METRICS_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{_METRICS_PREFIX}{os.getpid()}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's: not ours to remove
    return True


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""What stops the server (the supervisor passes them on to every child)."""

NEVER_STARTED = 3
"""A child's exit status when it stopped before it served (uvicorn's start-up failure)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` that other sockets of this user may bind too (``SO_REUSEPORT``)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


_ADDRESS_LOCK_PREFIX = "baton-server serve "


def _lock_name(host: str, port: int) -> str:
    """The host as an address (``localhost`` and ``127.0.0.1`` are one) and the port."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        host = str(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4][0])
    except OSError:
        pass  # not resolvable: binding the port says so afterwards
    return f"{_ADDRESS_LOCK_PREFIX}{host}:{port}"


def _holder(name: str) -> int | None:
    """The pid of the process that holds the address lock ``name`` (None: not known)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect("\0" + name)
            pid, _, _ = struct.unpack("3i", probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        except OSError:
            return None
    return pid if pid > 0 else None


def hold_address(host: str, port: int) -> socket.socket | None:
    """Hold ``host:port`` for this ``serve`` and the processes it forks, until the last of them exits;
    a ConfigurationError naming BATON_PORT when another ``serve`` holds it (None: not Linux, whose
    kernel refuses a second socket on the port by itself, without ``SO_REUSEPORT``)."""
    from baton_server.errors import ConfigurationError

    if not sys.platform.startswith("linux"):
        return None
    name = _lock_name(host, port)
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind("\0" + name)
        lock.listen(8)  # a refused start learns the holder's pid by connecting (SO_PEERCRED)
    except OSError as exc:
        lock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        pid = _holder(name)
        who = "another baton-server serve" + (f" (pid {pid})" if pid is not None else "")
        raise ConfigurationError(
            f"BATON_PORT: {who} already serves {host}:{port}; stop it first, or choose another port",
            setting="BATON_PORT",
        ) from None
    return lock


def _stop_with(supervisor: int) -> None:
    """Have the kernel send this process SIGTERM when the supervisor dies (Linux), so that a server
    process never outlives it holding the port; stop at once if it has died already."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != supervisor:
        raise SystemExit(0)


def serve_forked(
    count: int,
    serve_child: Callable[[int], bool],
    *,
    address: str = "",
    ended: Callable[[int], None] | None = None,
) -> int:
    """Fork ``count`` children that each run ``serve_child(index)`` and supervise them until told to stop.

    ``serve_child`` returns whether it served (False: it never started); ``address`` is named in the
    start-up line; ``ended(pid)`` is called for each child that has exited. Returns the server's
    exit status: 0 after a stop by signal, 1 when a child could not start.
    """
    if not hasattr(os, "fork") or not hasattr(socket, "SO_REUSEPORT"):
        print(
            "baton-server: error: BATON_PROCESSES above 1 needs fork and SO_REUSEPORT (Linux)",
            file=sys.stderr,
        )
        return 2
    children: dict[int, int] = {}
    stopping = False

    supervisor = os.getpid()

    def fork(index: int) -> None:
        # SIGTERM and SIGINT wait while a child is forked and recorded: a stop that came in between
        # would not reach the new child (it would serve on, and the supervisor wait for it forever),
        # and a child must never run the supervisor's handler (it would stop its siblings).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = -1 if stopping else os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            raise
        if pid != 0:  # the supervisor
            if pid > 0:
                children[pid] = index
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # a stop meanwhile runs now
            return
        # The child: never returns.
        status = NEVER_STARTED
        try:
            for signum in _STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            # A stop sent to the supervisor while it forked this child reached it; one sent to
            # this child meanwhile ends it now.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            _stop_with(supervisor)
            status = 0 if serve_child(index) else NEVER_STARTED
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else NEVER_STARTED
        except BaseException:
            # Whatever escapes is deterministic more often than not (the port, the app): forking
            # again would fail again, so the server stops instead.
            log.exception("server process %d failed", index)
            status = NEVER_STARTED
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
    status = 0
    try:
        for index in range(count):
            fork(index)
        log.info(
            "Serving %s from %d processes (pids %s; supervisor %d)",
            address or "the port",
            count,
            ", ".join(map(str, children)),
            os.getpid(),
        )
        while children:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            if ended is not None:
                ended(pid)
            if stopping:
                continue
            if code == NEVER_STARTED:
                log.error("server process %d could not start; stopping the server", index)
                status = 1
                stop(signal.SIGTERM, None)
                continue
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            log.warning("server process %d (pid %d) %s; starting it again", index, pid, how)
            fork(index)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


__all__ = [
    "NEVER_STARTED",
    "SHARED_METRICS_VARIABLE",
    "hold_address",
    "listening_socket",
    "serve_forked",
    "shared_metrics_folder",
]
