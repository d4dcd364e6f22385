"""The benchmark's anchor: Apache Airflow 3.3.2's execution API, installed and prepared for a run.

``start_airflow`` installs apache-airflow 3.3.2 into its own virtualenv once (cached under
``.baton/``; with Airflow's constraints file when it can be fetched, else what pip resolves, and
the resolved set recorded in ``build/airflow-3.3.2-freeze.txt``), migrates its own database on the
benchmark's PostgreSQL (``airflow db migrate``), creates through Airflow's own models a DAG run
whose task instances are running and queued attempts for the run/state scenario, and mints their
tokens with Airflow's own signer (``airflow_prepare.py``, run inside that virtualenv), then starts
``airflow api-server --apps execution`` (one process, 127.0.0.1, a free port).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

AIRFLOW_VERSION = "3.3.2"
CONSTRAINTS = (
    "https://raw.githubusercontent.com/apache/airflow/constraints-{version}/constraints-{python}.txt"
)


@dataclass
class Airflow:
    """A started Airflow execution API and the running attempts it knows."""

    process: subprocess.Popen[bytes]
    base: str
    attempts: list[tuple[str, str, str]]  # (task instance id, token, task id)
    fresh: list[tuple[str, str]]  # queued attempts not handed out yet: (task instance id, workload token)

    def take_fresh(self, count: int, tag: str) -> list[tuple[str, str]]:
        """The next ``count`` queued attempts (``tag`` names a run; Airflow's were all made up front)."""
        taken, self.fresh = self.fresh[:count], self.fresh[count:]
        if len(taken) < count:
            raise SystemExit(f"bench: Airflow's queued attempts ran out for {tag}")
        return taken


def _install(env_dir: Path) -> Path:
    """The virtualenv's python, installing Airflow into it when it is not there yet."""
    python = env_dir / "bin" / "python"
    marker = env_dir / f"airflow-{AIRFLOW_VERSION}.installed"
    if marker.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env_dir)], check=True, timeout=600)
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    constraints: list[str] = []
    url = CONSTRAINTS.format(version=AIRFLOW_VERSION, python=py)
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:  # noqa: S310 (a fixed https URL)
            path = env_dir / "constraints.txt"
            path.write_bytes(answer.read())
            constraints = ["-c", str(path)]
    except OSError as exc:
        print(f"bench: no constraints file ({exc}); installing what pip resolves", file=sys.stderr)
    # uv (scripts/nox puts it on PATH) resolves Airflow's ~140 packages in seconds; pip takes minutes.
    uv = shutil.which("uv")
    pip = [uv, "pip"] if uv else [str(python), "-m", "pip"]
    installer = [*pip, "install", "--python", str(python)] if uv else [*pip, "install"]
    spec = f"apache-airflow[postgres]=={AIRFLOW_VERSION}"
    subprocess.run([*installer, "-q", spec, *constraints], check=True, timeout=3600)
    freezer = [*pip, "freeze", "--python", str(python)] if uv else [*pip, "freeze"]
    freeze = subprocess.run(freezer, check=True, capture_output=True, text=True).stdout
    Path("build").mkdir(exist_ok=True)
    Path(f"build/airflow-{AIRFLOW_VERSION}-freeze.txt").write_text(freeze)
    marker.write_text("constraints\n" if constraints else "resolved by pip\n")
    return python


def prepared_airflow(env_dir: Path, admin_url: str, database: str, home: Path) -> tuple[Path, dict[str, str]]:
    """Install Airflow (once) and migrate its database ``database``: its python and environment
    (LocalExecutor, DAGs in ``home/dags``, one JWT secret for every Airflow process started with it)."""
    python = _install(env_dir)
    (home / "dags").mkdir(parents=True, exist_ok=True)
    sql = make_url(admin_url).set(drivername="postgresql+psycopg2", database=database)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "BATON_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sql.render_as_string(hide_password=False),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__CORE__FERNET_KEY="",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        # wrk replays the execution tokens `run` handed out (10 minutes by default), as Baton's: both
        # must outlive a run of several rounds.
        AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME="86400",
    )
    airflow = str(env_dir / "bin" / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, timeout=900, stdout=subprocess.DEVNULL)
    return python, env


def start_airflow(
    env_dir: Path, admin_url: str, database: str, count: int, fresh: int, folder: Path, port: int
) -> Airflow:
    """Install (once), migrate, seed ``count`` task instances to run and ``fresh`` queued ones (in DAG
    runs of ten), start the execution API."""
    python, env = prepared_airflow(env_dir, admin_url, database, folder / "airflow")
    # A workload token lives as long as a task may stay queued (10 minutes by default): the run/state
    # scenario's, minted up front, must outlive a run of several rounds.
    env["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"] = "86400"
    airflow = str(env_dir / "bin" / "airflow")
    prepare = Path(__file__).with_name("airflow_prepare.py")
    out = subprocess.run(
        [str(python), str(prepare), str(count), str(fresh)],
        env=env,
        check=True,
        timeout=900,
        capture_output=True,
        text=True,
    ).stdout
    prepared = json.loads(out.strip().splitlines()[-1])
    attempts = [(a[0], a[1], a[2]) for a in prepared["attempts"]]
    queued = [(a[0], a[1]) for a in prepared["fresh"]]
    process = subprocess.Popen(
        [
            airflow,
            "api-server",
            "--apps",
            "execution",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=(folder / "airflow-api-server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Airflow(process, f"http://127.0.0.1:{port}", attempts, queued)
