"""The demo behind ``scripts/nox -s demo``: a server, workers in three languages, one DAG run, its logs.

1. starts ``baton-server serve`` on the embedded SQLite default, in a fresh ``.baton/demo`` folder,
   on a free port of 127.0.0.1;
2. issues an admin token and a worker credential (``baton-server create-...``);
3. starts ``baton worker`` with the example bundle (``examples/python``), giving it a variable and
   a connection through its environment (worker-side secrets);
4. builds the Go worker and the example's Go bundle (``examples/go/etl``) with ``go build`` and
   starts ``baton-go-worker``: the DAG's first task runs in Go and feeds the Python tasks;
5. builds the Java worker and the demo's Java bundle with Maven and starts the Java worker for the
   DAG's Java task (``summarize``);
6. triggers ``example_etl`` with ``baton runs trigger --wait`` (live progress), then prints
   ``baton runs show`` and every task's ``baton logs``;
7. stops the workers and the server, whatever happened. Exits 0 when the run succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".baton" / "demo"
BUNDLE = ROOT / "examples" / "python"
GO_EXAMPLES = ROOT / "examples" / "go"
GO_CLIENT = ROOT / "clients" / "go"
DAG_ID = "example_etl"
BIN = Path(sys.executable).parent


def say(text: str) -> None:
    """A step of the demo, in bold where the terminal allows."""
    bold = sys.stdout.isatty()
    print(f"\n\033[1m== {text}\033[0m" if bold else f"\n== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run(
    *args: str, env: dict[str, str], check: bool = True, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it and its output (``quiet``: for scripting or secrets, show neither)."""
    if not quiet:
        print(f"$ {' '.join(Path(args[0]).name if i == 0 else a for i, a in enumerate(args))}", flush=True)
    stderr = subprocess.PIPE if quiet else None
    result = subprocess.run(
        args, env=env, text=True, stdout=subprocess.PIPE, stderr=stderr, timeout=300, check=False
    )
    if not quiet:
        print(result.stdout, end="", flush=True)
    if check and result.returncode != 0:
        raise SystemExit(f"demo: {Path(args[0]).name} {args[1]} failed with status {result.returncode}")
    return result


@contextmanager
def background(
    name: str, args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process that runs until the block ends (SIGTERM, then SIGKILL after 30 s)."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    print(f"started {name} (pid {process.pid}; output in {log.relative_to(ROOT)})", flush=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"stopped {name}", flush=True)


def wait_until(
    what: str, check: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes], log: Path
) -> None:
    """Poll ``check`` until it holds; exit with the process's output if it dies or the time runs out."""
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            raise SystemExit(f"demo: {what} failed; its output:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} took longer than {timeout:g} s; output:\n{log.read_text()}")
        time.sleep(0.2)


def worker_env(url: str, token: str, base: dict[str, str]) -> dict[str, str]:
    """A worker's environment: the server, the credential, and the worker-side secrets of the example."""
    return {
        **base,
        "BATON_SERVER_URL": url,
        "BATON_WORKER_TOKEN": token,
        "BATON_VAR_EXCHANGE_RATE": "1.08",
        "BATON_CONN_WAREHOUSE": "postgres://etl:demo-password@warehouse.internal:5432/analytics",
    }


@contextmanager
def python_worker(url: str, token: str, base: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``baton worker`` serving the example bundle on the queue 'python', with worker-side secrets."""
    say(f"a Python worker serving the example bundle ({BUNDLE.relative_to(ROOT)}) on the queue 'python'")
    env = worker_env(url, token, base)
    log = DATA / "worker.log"
    args = [str(BIN / "baton"), "worker", "--bundle", str(BUNDLE), "--queue", "python"]
    args += ["--heartbeat-interval", "2"]
    with background("baton worker", args, env, log) as worker:
        wait_until("the worker start", lambda: "registered worker" in log.read_text(), 60, worker, log)
        yield worker


def go_tool() -> str:
    """The Go toolchain (1.26+): on the PATH, else where its installer puts it."""
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise SystemExit("demo: Go 1.26+ is needed to build the Go worker and bundle (https://go.dev/dl)")
    return found


@contextmanager
def go_worker(url: str, token: str, base: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Build the Go worker and the example's Go bundle, and serve it on the queue 'go'."""
    say(f"a Go worker serving the Go bundle ({(GO_EXAMPLES / 'etl').relative_to(ROOT)}) on the queue 'go'")
    go, bundles = go_tool(), DATA / "go-bundles"
    bundles.mkdir(parents=True, exist_ok=True)
    worker_binary = DATA / "baton-go-worker"
    build_env = {**base, "GOFLAGS": "-mod=mod"}
    for folder, package, out in (
        (GO_EXAMPLES, "./etl", bundles / "etl"),
        (GO_CLIENT, "./cmd/baton-go-worker", worker_binary),
    ):
        print(
            f"$ go build -o {out.relative_to(ROOT)} {package}    # in {folder.relative_to(ROOT)}", flush=True
        )
        subprocess.run([go, "build", "-o", str(out), package], cwd=folder, env=build_env, check=True)
    env = worker_env(url, token, base)
    log = DATA / "go-worker.log"
    args = [str(worker_binary), "--bundles", str(bundles), "--queue", "go", "--heartbeat-interval", "2s"]
    with background("baton-go-worker", args, env, log) as worker:
        wait_until("the Go worker start", lambda: "registered worker" in log.read_text(), 60, worker, log)
        yield worker


JAVA_CLIENTS = ROOT / "clients" / "java"
JAVA_EXAMPLES = ROOT / "examples" / "java"


def build_java_worker(env: dict[str, str]) -> list[str]:
    """Build the Java worker and the demo's Java bundle (Maven); the command that starts the worker."""
    mvn = shutil.which("mvn")
    java = shutil.which("java")
    if mvn is None or java is None:
        raise SystemExit("demo: the DAG has a Java task: install Java 17 and Maven (mvn) to run the demo")
    # The SDK goes into the local Maven repository, where the bundle's build finds it.
    run(mvn, "-B", "-q", "-f", str(JAVA_CLIENTS), "install", "-DskipTests", env=env)
    run(mvn, "-B", "-q", "-f", str(JAVA_EXAMPLES), "-pl", "demo-bundle", "package", env=env)
    bundles = DATA / "java-bundles"
    bundles.mkdir()
    shutil.copy(JAVA_EXAMPLES / "demo-bundle" / "target" / "demo-bundle.jar", bundles)
    jar = JAVA_CLIENTS / "worker" / "target" / "baton-worker.jar"
    return [java, "-jar", str(jar), "--bundles", str(bundles), "--queue", "java", "--heartbeat-interval", "2"]


@contextmanager
def java_worker(url: str, token: str, base: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Build the Java worker and the demo's Java bundle, and serve it on the queue 'java'."""
    say("the Java worker, serving the DAG's Java task on the queue 'java'")
    args = build_java_worker(base)
    log = DATA / "java-worker.log"
    with background("Java worker", args, worker_env(url, token, base), log) as worker:
        wait_until("the Java worker start", lambda: "registered worker" in log.read_text(), 120, worker, log)
        yield worker


def main() -> int:
    """Run the demo; 0 when the DAG run succeeded."""
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    server_env = {**base, "BATON_DATA_DIR": str(DATA), "BATON_PORT": str(port), "BATON_LOG_LEVEL": "warning"}

    say(f"Baton server on {url} (SQLite in {DATA.relative_to(ROOT)})")
    server_log = DATA / "server.log"
    with background("baton-server", [str(BIN / "baton-server"), "serve"], server_env, server_log) as server:

        def healthy() -> bool:
            try:
                return http.get(f"{url}/api/health").status_code == 200
            except httpx.TransportError:
                return False

        # One client for every probe: a client per probe builds an SSL context each time (tens of ms
        # of CPU), taken from the start it waits for.
        with httpx.Client(timeout=1) as http:
            wait_until("the server start", healthy, 120, server, server_log)
        say("credentials: an admin token for the CLI, a worker credential for the worker")
        server_cli = str(BIN / "baton-server")
        admin = run(server_cli, "create-admin-token", "demo", env=server_env, quiet=True).stdout.strip()
        worker_token = run(server_cli, "create-worker-credential", "demo", env=server_env, quiet=True)
        print("$ baton-server create-admin-token demo        # the token goes to BATON_ADMIN_TOKEN")
        print("$ baton-server create-worker-credential demo  # the token goes to BATON_WORKER_TOKEN")
        cli_env = {**base, "BATON_SERVER_URL": url, "BATON_ADMIN_TOKEN": admin}
        token = worker_token.stdout.strip()
        baton = str(BIN / "baton")

        with ExitStack() as workers:
            # One worker per language; each serves its bundle's tasks of the one DAG.
            workers.enter_context(python_worker(url, token, base))
            workers.enter_context(go_worker(url, token, base))
            workers.enter_context(java_worker(url, token, base))
            run(baton, "dags", "list", env=cli_env)

            say(f"trigger {DAG_ID} and follow it")
            triggered = run(
                baton, "runs", "trigger", DAG_ID, "--wait", "--timeout", "180", env=cli_env, check=False
            )
            runs = json.loads(
                run(baton, "runs", "list", "--dag", DAG_ID, "--json", env=cli_env, quiet=True).stdout or "[]"
            )
            if not runs:
                raise SystemExit("demo: the run was not created")
            run_id = runs[0]["run_id"]

            say("the run's task instances")
            run(baton, "runs", "show", run_id, env=cli_env)
            detail = json.loads(run(baton, "runs", "show", run_id, "--json", env=cli_env, quiet=True).stdout)
            for ti in sorted(detail["task_instances"], key=lambda t: t["start_date"] or "~"):
                for attempt in range(1, ti["try_number"] + 1):
                    say(f"logs of {ti['task_id']}, try {attempt}")
                    run(baton, "logs", str(ti["id"]), "--try", str(attempt), env=cli_env)
    say(f"done: the run {'succeeded' if triggered.returncode == 0 else 'FAILED'}")
    return triggered.returncode


if __name__ == "__main__":
    sys.exit(main())
