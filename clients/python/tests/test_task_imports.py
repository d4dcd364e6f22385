"""A task process imports only what a task needs: the import graph of ``baton._runner``, run fresh.

Speed is the benchmark's to measure (``server/benchmarks/bench_python_worker.py``); these tests catch
the regressions that cost it: the admin API, the worker or a CLI library back on the task path, or an
SSL context built for a plain ``http://`` server.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_PREFIXES = (
    "baton._generated.api.admin",  # the admin API
    "baton._worker",
    "baton._attempt",
    "baton._cli",
    "baton.pydantic_models",
    "baton._generated.pydantic_models",
    "rich",  # httpx's command line pulls these in where they are installed
    "click",
    "pygments",
)


def _under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    modules: list[str] = json.loads(out.stdout.splitlines()[-1])
    return modules


def test__task_process__imports_no_admin_api_worker_or_cli() -> None:
    modules = _modules_after("import baton._runner as runner\nrunner._import_task_path()")
    assert "baton._client" in modules  # the probe did import the task path
    assert "baton._context" in modules
    unwanted = [m for m in modules if _under(m, FORBIDDEN_PREFIXES)]
    assert unwanted == []


def test__task_process__loads_only_the_models_it_uses() -> None:
    modules = _modules_after("import baton._runner as runner\nrunner._import_task_path()")
    models = [m for m in modules if m.startswith("baton._generated.models.")]
    # Every model of the spec is more than 80; the task path uses a few dozen at most.
    assert 0 < len(models) < 45, models


def test__importing_baton__loads_names_on_first_use() -> None:
    modules = _modules_after("import baton")
    assert [m for m in modules if _under(m, ("baton._worker", "baton._client", "httpx"))] == []
    modules = _modules_after("from baton import DAG, Task, Worker\nassert Worker.__name__ == 'Worker'")
    assert "baton._worker" in modules


def test__httpx_command_line__still_importable_by_a_task() -> None:
    modules = _modules_after(
        "import baton._runner as runner\nrunner._import_task_path()\n"
        "import importlib.util\nassert importlib.util.find_spec('httpx._main') is not None"
    )
    assert "httpx" in modules


_SSL_PROBE = """
import ssl
loaded = []
original = ssl.SSLContext.load_verify_locations
def spy(self, *args, **kwargs):
    loaded.append(1)
    return original(self, *args, **kwargs)
ssl.SSLContext.load_verify_locations = spy
from baton import Client, RetryPolicy, TransportError
client = Client({url!r}, "token", retry=RetryPolicy(attempts=1), timeout=5)
try:
    client.health()
except TransportError:
    pass
client.close()
print("LOADED" if loaded else "NONE")
"""


def _ca_bundle_loaded(url: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _SSL_PROBE.format(url=url)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out.stdout.strip().splitlines()[-1]


def test__plain_http_client__builds_no_verified_ssl_context() -> None:
    # Port 9 (discard) on loopback: nothing listens, the request fails fast without TLS in any case.
    assert _ca_bundle_loaded("http://127.0.0.1:9") == "NONE"


def test__https_client__still_verifies_certificates() -> None:
    assert _ca_bundle_loaded("https://127.0.0.1:9") == "LOADED"
