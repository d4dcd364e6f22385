"""How task processes start (process isolation): forked from the fork server, or each a new interpreter.

Both ways must give a task the same process: its output, log and outcome read alike, the same exit
statuses, a session of its own, the scrubbed environment, nothing left by an earlier task. Real
processes throughout (a live server, a worker serving a bundle, its task processes); every wait is a
condition polled against a generous deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from baton import Client, Worker, WorkerError
from baton._child import TaskProcess, TaskStart, TaskStarter, describe_exit
from baton._forkserver import fork_unsupported
from baton._generated.api.admin import get_dag_run, get_task_instance_logs, trigger_dag_run
from baton._generated.models import DagRun, DagRunDetail, LogPage, TriggerDagRunPayload
from baton._runner import SUPERVISOR_GONE_EXIT
from e2e import alive, wait_for
from live_server import LiveServer

MODES: list[TaskStart] = ["fork", "spawn"]
QUEUE = "task-start"
needs_fork = pytest.mark.skipif(fork_unsupported() is not None, reason=str(fork_unsupported()))

BUNDLE = '''
"""DAGs that report what a task process sees."""

import logging
import os
import random
import secrets
import signal
import sys
import types
import uuid
from pathlib import Path

from baton import dag, task


def _identity() -> str:
    return f"random={random.random()} token={secrets.token_hex(8)} uuid={uuid.uuid4()}"


@dag(queue="task-start")
def probe_process() -> None:
    """Output of every kind; the process's session, parent and environment; fresh modules."""

    @task
    def report() -> int:
        print("report: on stdout", flush=True)
        print("report: on stderr", file=sys.stderr, flush=True)
        logging.getLogger("probe").warning("report: a log record")
        print(f"report: session leader {os.getsid(0) == os.getpid()}", flush=True)
        print(f"report: group leader {os.getpgid(0) == os.getpid()}", flush=True)
        print(f"report: parent {os.getppid()}", flush=True)
        leaked = sorted(k for k in os.environ if k.startswith("BATON_") and not k.startswith("BATON_VAR_"))
        print(f"report: baton settings {leaked}", flush=True)
        print(f"report: variable {os.environ.get('BATON_VAR_TASK_START_PROBE')}", flush=True)
        print(f"report: identity {_identity()}", flush=True)
        print(f"report: open fds {sorted(int(fd) for fd in os.listdir('/proc/self/fd'))}", flush=True)
        import colorsys  # noqa: F401  (a module the task path never imports)

        sys.modules["task_start_marker"] = types.ModuleType("task_start_marker")
        return os.getpid()

    @task
    def fresh(report_pid: int) -> None:
        assert os.getpid() != report_pid, "two attempts in one process"
        left = [m for m in ("colorsys", "task_start_marker") if m in sys.modules]
        print(f"fresh: modules left by the earlier task {left}", flush=True)
        print(f"fresh: identity {_identity()}", flush=True)

    fresh(report())


probe_process()


@dag(queue="task-start")
def probe_exit() -> None:
    """A task process that exits with status 3 before reporting an outcome."""

    @task
    def leave() -> None:
        os._exit(3)

    leave()


probe_exit()


@dag(queue="task-start")
def probe_text() -> None:
    """Text that is not UTF-8: lone surrogates, as os.listdir gives for a name that is not UTF-8."""

    @task
    def surrogates() -> None:
        print("printed \\udcff and \\ud800 end")
        logging.getLogger("probe").warning("logged \\ud800 end")

    surrogates()


probe_text()

class Custom(BaseException):
    """A BaseException subclass of the task's own."""


@dag(queue="task-start")
def probe_base_exceptions() -> None:
    """Tasks that raise what is not an Exception."""

    @task
    def interrupted() -> None:
        raise KeyboardInterrupt("interrupted by the task")

    @task
    def exit_zero() -> None:
        sys.exit(0)

    @task
    def exit_text() -> None:
        sys.exit("leaving with a message")

    @task
    def generator_exit() -> None:
        raise GeneratorExit()

    @task
    def custom() -> None:
        raise Custom("a base exception of its own")

    interrupted()
    exit_zero()
    exit_text()
    generator_exit()
    custom()


probe_base_exceptions()

@dag(queue="task-start")
def probe_kill() -> None:
    """A task process killed by a signal before reporting an outcome."""

    @task
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    die()


probe_kill()


@dag(queue="task-start")
def probe_leftovers() -> None:
    """A task that leaves processes running: one stops on SIGTERM, one ignores it, one left its session."""

    @task
    def leave_behind() -> None:
        import subprocess

        stubborn = (
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(600)"
        )
        kept = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE)
        assert kept.stdout is not None and kept.stdout.readline() == b"ready\\n"
        plain = subprocess.Popen(["sleep", "600"])
        away = subprocess.Popen(["sleep", "600"], start_new_session=True)
        print(f"leftovers: {plain.pid} {kept.pid} {away.pid}", flush=True)

    leave_behind()


probe_leftovers()


@dag(queue="task-start")
def probe_orphan() -> None:
    """A task whose child started a process and exited: that process is of the task's group, no child."""

    @task
    def orphan() -> None:
        import subprocess

        started = subprocess.run(
            ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"], capture_output=True, check=True, text=True
        )
        print(f"orphan: {started.stdout.strip()}", flush=True)

    orphan()


probe_orphan()


@dag(queue="task-start")
def probe_siblings() -> None:
    """A task process that exits with a status past a C int while another task runs on.

    Its first try waits for the bystander to run, then fails: its second try's process is forked
    after the bystander's (by the fork server, which knew the bystander's process then).
    """

    @task(retries=1, retry_delay=0)
    def huge_exit() -> None:
        import time

        from baton import get_context

        ctx = get_context()
        here = Path(__file__).parent
        if ctx.try_number == 1:
            deadline = time.monotonic() + 240
            while not (here / f"bystander-{ctx.run_id}").exists():
                assert time.monotonic() < deadline, "the bystander never ran"
                time.sleep(0.05)
            raise RuntimeError("the first try fails once the bystander runs")
        (here / f"huge-exit-{ctx.run_id}").write_text(str(os.getpid()))
        sys.exit(2**40)

    @task
    def bystander() -> str:
        import time

        from baton import get_context

        here = Path(__file__).parent
        run_id = get_context().run_id
        (here / f"bystander-{run_id}").write_text("running")
        marker = here / f"huge-exit-{run_id}"
        deadline = time.monotonic() + 240
        while not marker.exists() or marker.read_text() == "":
            assert time.monotonic() < deadline, "huge_exit's second try never ran"
            time.sleep(0.05)
        stat = Path(f"/proc/{marker.read_text()}/stat")

        def ended() -> bool:  # gone, or a zombie not reaped yet
            try:
                return ") Z " in stat.read_text()
            except OSError:
                return True

        while not ended():
            assert time.monotonic() < deadline, "huge_exit's process never ended"
            time.sleep(0.05)
        return "outlived its sibling"

    huge_exit()
    bystander()


probe_siblings()
'''


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("task-start") / "task_start_probes.py"
    path.write_text(textwrap.dedent(BUNDLE))
    return path


@pytest.fixture(scope="module")
def worker_token(live_server: LiveServer) -> str:
    return live_server.cli("create-worker-credential", "task-start-tests").strip()


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[Client]:
    token = live_server.cli("create-admin-token", "task-start-tests").strip()
    with Client(live_server.base_url, token) as client:
        yield client


@pytest.fixture
def serve(live_server: LiveServer, worker_token: str, bundle: Path) -> Iterator[Callable[..., Worker]]:
    """Start an embedded worker on the probes' bundle (process isolation); stopped when the test ends."""
    started: list[Worker] = []

    def start(task_start: TaskStart, **options: Any) -> Worker:
        worker = Worker(
            live_server.base_url,
            worker_token,
            bundle=bundle,
            queues=[QUEUE],
            # Not <hostname>-<pid>: that name may still belong to another test's embedded worker.
            name=f"task-start-{uuid.uuid4().hex[:8]}",
            task_start=task_start,
            heartbeat_interval=0.5,
            **options,
        )
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=300)


def _run(admin: Client, dag_id: str) -> DagRunDetail:
    run = trigger_dag_run.sync(dag_id, client=admin.generated, body=TriggerDagRunPayload())
    assert isinstance(run, DagRun)

    def ended() -> DagRunDetail | None:
        detail = get_dag_run.sync(dag_id, run.run_id, client=admin.generated)
        assert isinstance(detail, DagRunDetail)
        return detail if detail.state in ("success", "failed") else None

    return wait_for(f"the run of {dag_id} to end", ended)


def _log(admin: Client, detail: DagRunDetail, task_id: str) -> dict[str, str]:
    """The task's log lines, message to stream (``log`` for records, ``worker`` for the worker's)."""
    ti = next(t for t in detail.task_instances if t.task_id == task_id)
    page = get_task_instance_logs.sync(ti.id, client=admin.generated)
    assert isinstance(page, LogPage)
    lines: dict[str, str] = {}
    for line in page.lines:
        fields = line.fields.to_dict() if line.fields else {}
        lines[line.message] = str(fields.get("stream", "log"))
    return lines


def _value(lines: dict[str, str], prefix: str) -> str:
    return next(message for message in lines if message.startswith(prefix))[len(prefix) :]


def _parent(mode: TaskStart, worker: Worker) -> int:
    if mode == "spawn" or fork_unsupported() is not None:
        return os.getpid()
    assert worker._starter is not None
    forks = worker._starter.fork_server
    assert forks is not None
    assert forks.pid is not None
    return forks.pid


@pytest.mark.parametrize("mode", MODES)
def test__task_process__output_log_outcome_session_environment_and_fresh_modules(
    mode: TaskStart,
    serve: Callable[..., Worker],
    admin: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Baton's own settings and credentials in the worker's environment; a worker-side secret too.
    monkeypatch.setenv("BATON_ADMIN_TOKEN", "baton_admin_never_in_a_task")
    monkeypatch.setenv("BATON_DATABASE_URL", "postgresql://nobody:never@127.0.0.1:1/none")
    monkeypatch.setenv("BATON_VAR_TASK_START_PROBE", '"for tasks"')
    worker = serve(mode)
    detail = _run(admin, "probe_process")
    report = _log(admin, detail, "report")
    states = {t.task_id: t.state for t in detail.task_instances}
    assert states == {"report": "success", "fresh": "success"}, "\n".join(report)
    assert report["report: on stdout"] == "stdout"
    assert report["report: on stderr"] == "stderr"
    assert report["report: a log record"] == "log"
    assert "report: session leader True" in report  # stop and kill reach its whole session
    assert "report: group leader True" in report
    assert int(_value(report, "report: parent ")) == _parent(mode, worker)
    assert "report: baton settings []" in report
    assert 'report: variable "for tasks"' in report
    # Only stdin, stdout, stderr, the control and channel pipes (and the listing's own descriptor).
    assert len(_value(report, "report: open fds ").strip("[]").split(",")) == 6
    fresh = _log(admin, detail, "fresh")
    assert "fresh: modules left by the earlier task []" in fresh
    # Two processes from one fork server do not share random state.
    identities = [_value(report, "report: identity "), _value(fresh, "fresh: identity ")]
    for field in ("random=", "token=", "uuid="):
        values = [part for identity in identities for part in identity.split() if part.startswith(field)]
        assert len(set(values)) == 2, identities
    if mode == "fork" and fork_unsupported() is None:
        # The fork server itself holds nothing a task may not see.
        zygote = _parent(mode, worker)
        environ = Path(f"/proc/{zygote}/environ").read_bytes().split(b"\0")
        assert [v for v in environ if v.startswith(b"BATON_") and not v.startswith(b"BATON_VAR_")] == []


@pytest.mark.parametrize("mode", MODES)
def test__task_process__exit_statuses_as_reported(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    serve(mode)
    exited = _run(admin, "probe_exit")
    assert exited.state == "failed"
    assert "the task process exited with status 3 before reporting an outcome" in "\n".join(
        _log(admin, exited, "leave")
    )
    killed = _run(admin, "probe_kill")
    assert killed.state == "failed"
    assert "the task process was killed by SIGKILL before reporting an outcome" in "\n".join(
        _log(admin, killed, "die")
    )


@pytest.mark.parametrize("mode", MODES)
def test__task_process__prints_lone_surrogates__stored_as_replacement_characters(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    # print() raised UnicodeEncodeError (stdout's errors were strict), failing the task.
    serve(mode)
    detail = _run(admin, "probe_text")
    lines = _log(admin, detail, "surrogates")
    assert detail.state == "success", "\n".join(lines)
    assert lines["printed \ufffd and \ufffd end"] == "stdout"
    assert "logged \ufffd end" in lines


@pytest.mark.parametrize("mode", MODES)
def test__task_process__base_exceptions__fail_the_attempt_with_the_tasks_traceback(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    # They escaped the task runner: no outcome was reported, so the attempt failed as 'exited with
    # status 0 (or killed by SIGINT) before reporting an outcome', under a traceback of the SDK's frames.
    serve(mode)
    detail = _run(admin, "probe_base_exceptions")
    expected = {
        "interrupted": "KeyboardInterrupt: interrupted by the task",
        "exit_zero": "SystemExit: 0",
        "exit_text": "SystemExit: leaving with a message",
        "generator_exit": "GeneratorExit: ",
        "custom": "Custom: a base exception of its own",
    }
    for task_id, reason in expected.items():
        lines = _log(admin, detail, task_id)
        text = "\n".join(lines)
        assert any(line.startswith(f"task {task_id} failed: {reason}\n") for line in lines), text
        assert any(line.endswith(f"failed: {reason}") and "ended after" in line for line in lines), text
        assert "before reporting an outcome" not in text
        assert "baton/_zygote.py" not in text
        assert "baton/_runner.py" not in text
    assert {t.task_id: t.state for t in detail.task_instances} == dict.fromkeys(expected, "failed")


@pytest.mark.parametrize("mode", MODES)
def test__task_process__exit_status_past_a_c_int__fails_its_attempt_alone(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    # sys.exit(2**40) made a forked task process's os._exit raise, unwinding into the fork server's
    # loop in the child, whose cleanup SIGKILLed every task process the fork server had forked.
    serve(mode, concurrency=2, warm_processes=0)
    detail = _run(admin, "probe_siblings")
    states = {t.task_id: t.state for t in detail.task_instances}
    bystander = _log(admin, detail, "bystander")
    assert states == {"huge_exit": "failed", "bystander": "success"}, "\n".join(bystander)


@pytest.mark.parametrize("mode", MODES)
def test__task_process__processes_it_left_in_its_group_are_stopped_when_it_ends(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    serve(mode)
    detail = _run(admin, "probe_leftovers")
    lines = _log(admin, detail, "leave_behind")
    assert detail.state == "success", "\n".join(lines)
    plain, stubborn, away = (int(pid) for pid in _value(lines, "leftovers: ").split())
    try:
        # One stopped by SIGTERM, one that ignores it by SIGKILL after the grace: both before the
        # attempt ended (they ran on after a successful task before).
        assert not alive(plain)
        assert not alive(stubborn)
        assert any("the task left 2 process(es) running" in line for line in lines), "\n".join(lines)
        # Started in a session of its own: meant to outlive the task, left alone.
        assert alive(away)
    finally:
        for pid in (plain, stubborn, away):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", MODES)
def test__task_process__a_process_left_by_its_exited_child_is_stopped_when_it_ends(
    mode: TaskStart, serve: Callable[..., Worker], admin: Client
) -> None:
    serve(mode)
    detail = _run(admin, "probe_orphan")
    lines = _log(admin, detail, "orphan")
    assert detail.state == "success", "\n".join(lines)
    orphan = int(_value(lines, "orphan: "))
    try:
        # Not a child of the task process (its parent, the shell, exited), still of its group: stopped
        # before the attempt ended (it ran on for ever before).
        assert not alive(orphan)
        assert any("the task left 1 process(es) running" in line for line in lines), "\n".join(lines)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)


@needs_fork
@pytest.mark.parametrize("warm_processes", [0, 2])
def test__fork_server_killed__the_next_tasks_still_run(
    warm_processes: int,
    serve: Callable[..., Worker],
    admin: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = serve("fork", warm_processes=warm_processes)
    assert _run(admin, "probe_process").state == "success"
    first = _parent("fork", worker)
    caplog.set_level(logging.WARNING, logger="baton.worker")
    os.kill(first, signal.SIGKILL)
    wait_for("the fork server to be gone", lambda: not alive(first))
    # Warm processes forked before the kill still run their attempts; then a new fork server serves.
    for _ in range(3):
        detail = _run(admin, "probe_process")
        assert {t.task_id: t.state for t in detail.task_instances} == {
            "report": "success",
            "fresh": "success",
        }
    wait_for("the worker to see the fork server's end", lambda: "the fork server exited" in caplog.text)
    assert worker._starter is not None
    assert worker._starter.fork_server is not None
    second = worker._starter.fork_server.pid
    assert second is not None
    assert second != first
    assert int(_value(_log(admin, detail, "report"), "report: parent ")) == second


_KILLED_SUPERVISOR = """
import asyncio, sys
from baton._child import TaskProcess, TaskStarter

async def main():
    starter = TaskStarter("fork")
    process = await TaskProcess.spawn(lambda entry: None, starter=starter)
    print(process.pid, starter.fork_server.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@needs_fork
def test__supervisor_killed__leaves_no_task_process_and_no_fork_server() -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SUPERVISOR], stdout=subprocess.PIPE, text=True
    )
    try:
        assert supervisor.stdout is not None
        task_pid, zygote_pid = (int(pid) for pid in supervisor.stdout.readline().split())
        assert alive(task_pid)
        assert alive(zygote_pid)
        supervisor.kill()
        supervisor.wait(timeout=120)
        wait_for("the task process to exit", lambda: not alive(task_pid), timeout=120)
        wait_for("the fork server to exit", lambda: not alive(zygote_pid), timeout=120)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        if supervisor.stdout is not None:
            supervisor.stdout.close()


@pytest.mark.parametrize("mode", MODES)
def test__idle_task_process__stopped_dismissed_and_killed_like_any_other(mode: TaskStart) -> None:
    async def scenario() -> list[int]:
        starter = TaskStarter(mode)
        try:
            stopped = await TaskProcess.spawn_idle(starter=starter)
            assert os.getsid(stopped.pid) == stopped.pid
            dismissed = await TaskProcess.spawn_idle(starter=starter)
            killed = await TaskProcess.spawn(lambda entry: None, starter=starter)
            os.killpg(killed.pid, signal.SIGKILL)
            statuses = [await stopped.stop(60), await killed.wait()]
            await dismissed.dismiss()
            statuses.append(await dismissed.wait())
            assert [stopped.alive, killed.alive, dismissed.alive] == [False, False, False]
            return statuses
        finally:
            await starter.close()

    statuses = asyncio.run(scenario())
    assert statuses == [-signal.SIGTERM, -signal.SIGKILL, SUPERVISOR_GONE_EXIT]
    assert describe_exit(statuses[0]) == "was killed by SIGTERM"


def test__worker__unknown_task_start__refused() -> None:
    with pytest.raises(WorkerError, match="task_start is 'fork' or 'spawn'"):
        Worker("http://127.0.0.1:1", "t", bundle=".", task_start="vfork")  # type: ignore[arg-type]


def test__worker_command__task_start_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from baton._cli import build_parser

    monkeypatch.delenv("BATON_TASK_START", raising=False)
    assert build_parser().parse_args(["worker", "--bundle", "."]).task_start == "fork"
    monkeypatch.setenv("BATON_TASK_START", "spawn")
    assert build_parser().parse_args(["worker", "--bundle", "."]).task_start == "spawn"
    args = build_parser().parse_args(["worker", "--bundle", ".", "--task-start", "fork"])
    assert args.task_start == "fork"
