"""The task process: ``python -m baton._runner --control-fd N --channel-fd M``, started by a supervisor
(or a child of the fork server, ``baton._zygote``, which runs the same :func:`run_attempt`).

It reads JSON lines from the control pipe: first ``{"type": "start", ...}`` (server URL, the
attempt's execution token, its run context, entry point, bundle folder, secrets file), then any
number of ``{"type": "token", "token": ...}`` with tokens the supervisor refreshed. It writes JSON
lines to the channel pipe: ``{"type": "log", ...}`` for every ``logging`` record, and finally
``{"type": "outcome", "state": ..., "message": ...}``. Its stdout and stderr are read by the
supervisor as they are.

The end of the control pipe means the supervisor is gone: the process then exits at once, so
that a killed worker leaves no task running unsupervised. SIGTERM stops the task (``Stopped``, a SystemExit).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baton._client import Client
    from baton._execute import Outcome

QUIET_LOGGERS = ("httpx", "httpcore")
"""Libraries of the SDK whose per-request info lines would drown the task's own log."""
SUPERVISOR_GONE_EXIT = 75
"""Exit status when the control pipe closes under a running task (its supervisor died)."""
TASK_MODULES = ("baton._bundle", "baton._client", "baton._context", "baton._execute", "baton._logship")
"""The SDK's modules a task attempt uses, imported while the process waits for its start message."""
TASK_MODELS = (
    "baton._generated.models.dag_run_info",
    "baton._generated.models.dag_run_info_conf",
    "baton._generated.models.task_instance_identity",
)
"""The models a start message's run context is read into (``TIRunContext.from_dict`` imports them on
first use): imported ahead too, where this version of the generated client has them."""
UNUSED_MODULES = ("httpx._main",)
"""Modules a task process never imports: httpx's command line (it would pull in rich and click)."""
LEFT_PROCESSES_GRACE = 5.0
"""Seconds the processes a task left running have to stop after SIGTERM, before SIGKILL."""
REPLACE_SURROGATES = "baton.replace_surrogates"
"""The error handler of a task process's stdout and stderr: a lone surrogate is written as U+FFFD."""


def _replace_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    if isinstance(error, UnicodeEncodeError):  # bytes: UTF-8's encoder takes a str replacement only if ASCII
        return "\ufffd".encode() * (error.end - error.start), error.end
    raise error


def _write_any_text() -> None:
    """Let the task print any ``str``: a lone surrogate (``os.listdir`` gives them for names that are not
    UTF-8) is written as U+FFFD, as the log stores it, rather than fail the task with UnicodeEncodeError."""
    codecs.register_error(REPLACE_SURROGATES, _replace_surrogates)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors != "backslashreplace":  # stderr's stays
            stream.reconfigure(errors=REPLACE_SURROGATES)


def _import_task_path() -> None:
    """Import what running a task needs, and only that (``python -X importtime`` shows the rest).

    The SDK's modules are imported here rather than at the top, so that the modules in
    :data:`UNUSED_MODULES` are barred (httpx imports its command line only if it can) before
    httpx is first imported; a task that wants them imports them itself.
    """
    if "httpx" not in sys.modules:
        for name in UNUSED_MODULES:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
        import httpx

        for name in UNUSED_MODULES:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]  # a later `import httpx._main` by the task works as usual
        del httpx
    for module in TASK_MODULES:
        importlib.import_module(module)
    for model in TASK_MODELS:
        with contextlib.suppress(ImportError):
            importlib.import_module(model)


class _Channel:
    """The JSON-lines pipe to the supervisor, shared by every thread of the task."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, default=str)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the supervisor is gone; the control reader ends the process


class _ChannelHandler(logging.Handler):
    """Sends every log record to the supervisor as a structured line."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__(logging.DEBUG)
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        from baton._logship import entry_from_record

        try:
            self._channel.send({"type": "log", **entry_from_record(record, self.formatter).to_json()})
        except Exception:  # a logging handler must never raise into the task
            self.handleError(record)


def _follow_control(control: IO[str], client: Client) -> None:
    for raw in control:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(message, dict)
            and message.get("type") == "token"
            and isinstance(message.get("token"), str)
        ):
            client.use_token(message["token"])
    # The supervisor closed the pipe or died: nobody would report this attempt; stop now.
    os._exit(SUPERVISOR_GONE_EXIT)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    from baton._execute import Stopped

    logging.getLogger("baton.task").warning("the worker stopped the task (signal %d)", signum)
    raise Stopped(128 + signum)


def _setup_logging(channel: _Channel, level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_ChannelHandler(channel))
    root.setLevel(level.upper())
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    warnings.simplefilter("default")


def _run(start: dict[str, Any], channel: _Channel, control: IO[str]) -> Outcome:
    from baton._bundle import load_task
    from baton._client import Client
    from baton._context import TaskContext, TaskRuntime
    from baton._errors import BatonError
    from baton._execute import Outcome, execute
    from baton._generated.models import TIRunContext
    from baton._secrets import LocalSecrets
    from baton._transport import TASK_RETRY_POLICY

    client = Client(start["server_url"], start["token"], retry=TASK_RETRY_POLICY)
    threading.Thread(
        target=_follow_control, args=(control, client), name="baton-control", daemon=True
    ).start()
    context = TIRunContext.from_dict(start["context"])
    secrets_file = start.get("secrets_file")
    secrets = LocalSecrets(environ=os.environ, file=Path(secrets_file) if secrets_file else None)
    try:
        ref = load_task(start["entry_point"], start["bundle_root"])
    except BatonError as exc:
        logging.getLogger("baton.task").error("%s", exc)
        return Outcome("failed", str(exc))
    return execute(ref, TaskRuntime(TaskContext.from_run_context(context), client, secrets))


def _running(pid: int) -> tuple[int, bool] | None:
    """A process's group and whether it still runs (not a zombie); None once it is gone."""
    try:
        handle = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        stat = os.read(handle, 1024)  # "pid (comm) state ppid pgrp ...": the group comes early
    except OSError:
        return None
    finally:
        os.close(handle)
    fields = stat.rsplit(b")", 1)[-1].split()
    if len(fields) < 3:
        return None
    return int(fields[2]), fields[0] != b"Z"


def _group_members() -> list[int]:
    """The other running processes of this process's group (a scan of Linux's ``/proc``; none elsewhere)."""
    group, me = os.getpgrp(), os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    pids = (int(name) for name in names if name.isdigit())
    return [pid for pid in pids if pid != me and _running(pid) == (group, True)]


def _stop_left_processes() -> None:
    """Stop the processes the task started and left running, as Airflow does: SIGTERM to this
    process's group, SIGKILL to whatever still runs :data:`LEFT_PROCESSES_GRACE` seconds later.

    Only a task process that leads its own group does this (a worker's always does, in a session of
    its own); what a task started in a session of its own (``start_new_session=True``) was meant to
    outlive it and is left alone. Every process of the group counts, not only this one's children: a
    child's child whose parent exited (``sh -c 'sleep 1000 &'``) is the child of another process
    now, but still of this group. A scan of ``/proc`` finds them (about a millisecond for a hundred
    processes).
    """
    if os.getpgrp() != os.getpid():
        return
    left = _group_members()
    if not left:
        return
    logging.getLogger("baton.task").warning(
        "the task left %d process(es) running (pid %s): stopping them (SIGTERM, then SIGKILL after %g s)",
        len(left),
        ", ".join(map(str, left)),
        LEFT_PROCESSES_GRACE,
    )
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group's signal must not stop this one
    try:
        os.killpg(0, signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    deadline = time.monotonic() + LEFT_PROCESSES_GRACE
    while (left := _group_members()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        # Through a pidfd, checked to be of the group still: a pid that ended meanwhile and was reused
        # is not signalled.
        with contextlib.suppress(OSError):
            handle = os.pidfd_open(pid)
            try:
                if _running(pid) == (os.getpgrp(), True):
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
            finally:
                os.close(handle)


def run_attempt(control_fd: int, channel_fd: int) -> int:
    """Run one task attempt as told on the control pipe; report on the channel pipe; the exit status.

    Both ways a task process starts end here: ``python -m baton._runner`` (:func:`main`) and a
    child forked by the fork server (``baton._zygote``).
    """
    _import_task_path()  # before the start message: a warm process has done it when the attempt begins
    control = os.fdopen(control_fd, "r", encoding="utf-8")
    channel = _Channel(os.fdopen(channel_fd, "w", encoding="utf-8"))
    first = control.readline()
    if not first:
        return SUPERVISOR_GONE_EXIT
    start = json.loads(first)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    _write_any_text()
    _setup_logging(channel, start.get("log_level", "info"))
    outcome = _run(start, channel, control)
    _stop_left_processes()
    channel.send({"type": "outcome", "state": outcome.state, "message": outcome.message})
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m baton._runner --control-fd N --channel-fd M``: run one attempt (:func:`run_attempt`)."""
    parser = argparse.ArgumentParser(prog="python -m baton._runner")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--channel-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return run_attempt(args.control_fd, args.channel_fd)


if __name__ == "__main__":
    sys.exit(main())
