"""Who may use the web UI: login, sessions, CSRF, headers, escaping, and bad input that never 500s."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from baton_server.api.versions import supported_versions
from baton_server.db.tables import CredentialRecord, DagRecord
from baton_server.services import workers as workers_service
from baton_server.services.credentials import revoke_credential
from baton_server.services.dag_specs import DagSpec, TaskSpec
from baton_server.ui.app import CONTENT_SECURITY_POLICY
from baton_server.ui.auth import SESSION_COOKIE, signer_for
from sqlalchemy import select

from tests.conftest import ServerHarness
from tests.factories import make_dag_run
from tests.orchestration import (
    fake_worker,
    new_admin_token,
    new_worker_token,
)
from tests.ui.conftest import Operator, finished_run, log_in, run_of, ship_log, started_attempt, ui_client

UI_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "baton_server" / "ui"


@pytest.mark.parametrize("path", ["/ui/", "/ui/workers", "/ui/dags/etl", "/ui/dags/etl/runs/r1"])
async def test__page__without_a_session__redirects_to_the_login_form(
    ui: httpx.AsyncClient, path: str
) -> None:
    response = await ui.get(path, params={"try": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/login?next={path}%3Ftry%3D1"
    login = await ui.get(response.headers["location"])
    assert login.status_code == 200
    assert f'name="next" value="{path}?try=1"' in login.text


async def test__poll__without_a_session__answers_401_with_a_redirect_for_htmx(ui: httpx.AsyncClient) -> None:
    response = await ui.get("/ui/dags/etl/grid", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/ui/login"


async def test__control__without_a_session__answers_401_and_changes_nothing(
    server: ServerHarness, admin: httpx.AsyncClient, ui: httpx.AsyncClient
) -> None:
    run = await finished_run(server, admin)
    response = await ui.post(f"/ui/task-instances/{run['tasks']['b']['id']}/clear", data={"csrf_token": "x"})
    assert response.status_code == 401
    assert (await run_of(admin, "etl", "r1"))["tasks"]["b"]["state"] == "success"


async def test__login__sets_an_httponly_strict_cookie_scoped_to_the_ui(
    ui: httpx.AsyncClient, admin_token: str
) -> None:
    response = await ui.post("/ui/login", data={"token": admin_token, "next": "/ui/workers"})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/workers"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/ui", "Max-Age=28800"):
        assert attribute in cookie
    assert "Secure" not in cookie  # served over plain http here
    assert admin_token not in cookie
    assert (await ui.get("/ui/workers")).status_code == 200


async def test__login__over_https__marks_the_cookie_secure(server: ServerHarness, admin_token: str) -> None:
    async with ui_client(server, "https://baton.test") as http:
        response = await http.post("/ui/login", data={"token": admin_token})
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("site", "answer"), [("cross-site", 403), ("same-site", 403), ("same-origin", 303), ("none", 303)]
)
async def test__login__sent_from_another_sites_page__is_refused_without_a_session(
    ui: httpx.AsyncClient, admin_token: str, site: str, answer: int
) -> None:
    # Login CSRF: a page elsewhere must not log the operator's browser in as someone else's admin.
    # The login page's own form (same-origin) and a URL typed in (none) log in.
    response = await ui.post("/ui/login", data={"token": admin_token}, headers={"Sec-Fetch-Site": site})
    assert response.status_code == answer
    if answer == 403:
        assert "sent from another site" in response.text
        assert "set-cookie" not in response.headers
    else:
        assert response.headers["set-cookie"].startswith(f"{SESSION_COOKIE}=")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/ui/",
        "/api/dags",
        "/ui\\..\\x",
        "/ui/../api/dags",
        "/ui/%2e%2e/api/dags",
        "/ui/.%2E/.%2e/api/dags?x=1",
        "/ui/./../api/dags",
    ],
)
async def test__login__next_outside_the_ui__goes_to_the_dag_list(
    ui: httpx.AsyncClient, admin_token: str, target: str
) -> None:
    response = await ui.post("/ui/login", data={"token": admin_token, "next": target})
    assert response.headers["location"] == "/ui/"


@pytest.mark.parametrize("token", ["", "baton_admin_nope", "not a token at all"])
async def test__login__wrong_token__answers_401_without_a_session(ui: httpx.AsyncClient, token: str) -> None:
    response = await ui.post("/ui/login", data={"token": token})
    assert response.status_code == 401
    assert "not a valid admin token" in response.text
    assert "set-cookie" not in response.headers


async def test__login__worker_credential__is_refused(server: ServerHarness, ui: httpx.AsyncClient) -> None:
    response = await ui.post("/ui/login", data={"token": await new_worker_token(server)})
    assert response.status_code == 401


async def test__session__ends_when_its_admin_token_is_revoked(
    server: ServerHarness, ui: httpx.AsyncClient
) -> None:
    await log_in(ui, await new_admin_token(server, "carol"))
    async with server.runtime.sessions() as session:
        credential = await session.scalar(select(CredentialRecord).where(CredentialRecord.name == "carol"))
        assert credential is not None
        await revoke_credential(session, credential.id)
    response = await ui.get("/ui/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login")


async def test__session__forged_or_expired_cookie__is_refused(
    server: ServerHarness, operator: Operator
) -> None:
    value = operator.http.cookies[SESSION_COOKIE]
    payload, _, mac = value.partition(".")
    forged = f"{payload}.{'A' * len(mac)}"
    key = server.runtime.settings.encryption_key
    assert key is not None
    signer = signer_for(key.get_secret_value())
    session = signer.read(value)
    assert session is not None
    expired, _ = signer.issue(session.credential_id, ttl=60, now=time.time() - 120)
    for cookie in (forged, expired, "garbage", "e30.e30"):
        operator.http.cookies.set(SESSION_COOKIE, cookie, domain="baton.test", path="/ui")
        response = await operator.http.get("/ui/")
        assert response.status_code == 303, cookie


async def test__logout__ends_the_session(server: ServerHarness, operator: Operator, admin_token: str) -> None:
    # A copy of the cookie taken before (another tab's, a stolen one) is refused too: the session
    # ended on the server, not only in this browser. Another session of the same token goes on.
    copied = operator.http.cookies[SESSION_COOKIE]
    async with ui_client(server) as elsewhere:
        other = await log_in(elsewhere, admin_token)
        response = await operator.post("/ui/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/login"
        assert (await operator.http.get("/ui/")).status_code == 303
        async with ui_client(server) as thief:
            thief.cookies.set(SESSION_COOKIE, copied, domain="baton.test", path="/ui")
            assert (await thief.get("/ui/")).status_code == 303
            assert (
                await thief.post("/ui/dags/etl/trigger", data={"csrf_token": operator.csrf})
            ).status_code == 401
        assert (await other.http.get("/ui/")).status_code == 200


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"])
async def test__control__without_the_sessions_csrf_token__answers_403_and_changes_nothing(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator, csrf: str | None
) -> None:
    run = await finished_run(server, admin)
    data = {} if csrf is None else {"csrf_token": csrf}
    ti = run["tasks"]["b"]["id"]
    for path, fields in [
        (f"/ui/task-instances/{ti}/clear", {}),
        (f"/ui/task-instances/{ti}/mark", {"state": "failed"}),
        ("/ui/dags/etl/runs/r1/mark", {"state": "failed"}),
        ("/ui/dags/etl/delete", {"confirm": "etl"}),
        ("/ui/dags/etl/trigger", {}),
    ]:
        response = await operator.http.post(path, data={**data, **fields})
        assert response.status_code == 403, path
        assert "CSRF" in response.text
    after = await run_of(admin, "etl", "r1")
    assert after["state"] == "success"
    assert {t["state"] for t in after["task_instances"]} == {"success"}
    assert (await admin.get("/api/audit-events")).json()["audit_events"] == []


async def test__control__with_the_admin_bearer_token__needs_no_csrf_token(
    server: ServerHarness, admin: httpx.AsyncClient, ui: httpx.AsyncClient, admin_token: str
) -> None:
    run = await finished_run(server, admin)
    response = await ui.post(
        f"/ui/task-instances/{run['tasks']['c']['id']}/mark",
        data={"state": "failed"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 303
    assert (await run_of(admin, "etl", "r1"))["tasks"]["c"]["state"] == "failed"
    refused = await ui.get("/ui/", headers={"Authorization": "Bearer baton_admin_unknown"})
    assert refused.status_code == 303


async def test__session__behind_a_proxy_asking_for_basic_auth__is_kept_and_still_needs_csrf(
    server: ServerHarness, admin: httpx.AsyncClient, ui: httpx.AsyncClient, operator: Operator
) -> None:
    # A proxy with HTTP Basic auth in front of the UI: the browser sends its Authorization header
    # with every request, the login form's and every page's included.
    basic = {"Authorization": "Basic " + base64.b64encode(b"ops:proxy-password").decode()}
    run = await finished_run(server, admin)
    page = await operator.http.get("/ui/", headers=basic)
    assert page.status_code == 200, page.headers.get("location")
    mark = f"/ui/task-instances/{run['tasks']['c']['id']}/mark"
    forged = await operator.http.post(mark, data={"state": "failed"}, headers=basic)
    assert forged.status_code == 403  # no stand-in for the session's CSRF token
    assert (await run_of(admin, "etl", "r1"))["tasks"]["c"]["state"] == "success"
    sent = await operator.http.post(
        mark, data={"csrf_token": operator.csrf, "state": "failed"}, headers=basic
    )
    assert sent.status_code == 303
    assert (await run_of(admin, "etl", "r1"))["tasks"]["c"]["state"] == "failed"
    alone = await ui.get("/ui/", headers=basic)  # and it logs no one in
    assert alone.status_code == 303
    assert alone.headers["location"].startswith("/ui/login")


async def test__pages__carry_the_security_headers(operator: Operator) -> None:
    page = await operator.http.get("/ui/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    script = re.search(r'<script src="([^"]+)"', page.text)
    assert script is not None
    static = await operator.http.get(script.group(1))
    assert static.status_code == 200
    assert static.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test__unexpected_error__answers_the_error_page_with_the_security_headers(
    operator: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(workers_service, "list_workers", failing)
    page = await operator.http.get("/ui/workers")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "it has been logged" in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


async def test__dag_id_and_log_line_with_html__are_escaped(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    evil = '<img src=x onerror="alert(1)">'
    # The API refuses such ids; a database written by hand (or a future id rule) must not matter.
    spec = DagSpec(dag_id=evil, tasks=(TaskSpec(task_id="<b>t</b>", entry_point="tasks:t"),))
    tis = await make_dag_run(
        server.runtime, dag_id=evil, run_id="r<1>", task_ids=("<b>t</b>",), description=spec.to_document()
    )
    async with server.runtime.sessions() as session:
        record = await session.get(DagRecord, evil)
        assert record is not None
        record.latest_version_id = tis["<b>t</b>"].dag_version_id
        await session.commit()
    async with fake_worker(server) as worker:
        ti_id = (await started_attempt(server, admin, worker, "logs"))["task_instance"]["id"]
        await ship_log(worker, ti_id, f"<script>{evil}")
    quoted = quote(evil, safe="")
    pages = [
        await operator.http.get("/ui/"),
        await operator.http.get(f"/ui/dags/{quoted}"),
        await operator.http.get(f"/ui/dags/{quoted}/runs/{quote('r<1>', safe='')}"),
        await operator.http.get(f"/ui/task-instances/{ti_id}"),
        await operator.http.get(f"/ui/task-instances/{ti_id}/logs", params={"try": "1"}),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<img" not in page.text
        assert "<b>t</b>" not in page.text
        assert "<script>&lt;" not in page.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in pages[0].text
    assert "&lt;b&gt;t&lt;/b&gt;" in pages[1].text
    assert "&lt;script&gt;&lt;img" in pages[3].text
    assert "&lt;script&gt;&lt;img" in pages[4].text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/dags/nope", 404),
        ("/ui/dags/nope/grid", 404),
        ("/ui/dags/nope/delete", 404),
        ("/ui/dags/etl/runs/nope", 404),
        ("/ui/dags/etl/runs/nope/tasks", 404),
        ("/ui/task-instances/not-a-uuid", 404),
        ("/ui/task-instances/00000000-0000-0000-0000-000000000000", 404),
        ("/ui/task-instances/00000000-0000-0000-0000-000000000000/logs?try=1", 404),
        ("/ui/task-instances/TI?try=abc", 422),
        ("/ui/task-instances/TI?try=0", 422),
        ("/ui/task-instances/TI?try=99", 404),
        ("/ui/task-instances/TI/logs", 422),
        ("/ui/task-instances/TI/logs?try=1&after=-1", 422),
        ("/ui/task-instances/TI/logs?try=1&after=99999999999999999999999", 422),
        ("/ui/?page=0", 422),
        ("/ui/no/such/page", 404),
    ],
)
async def test__bad_input__answers_an_error_page_never_500(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator, path: str, status: int
) -> None:
    run = await finished_run(server, admin)
    response = await operator.http.get(path.replace("TI", run["tasks"]["a"]["id"]))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        ("/ui/task-instances/not-a-uuid/clear", {}, 404),
        ("/ui/task-instances/TI/mark", {"state": "running"}, 422),
        ("/ui/task-instances/TI/mark", {}, 422),
        ("/ui/dags/etl/runs/nope/cancel", {}, 404),
        ("/ui/dags/etl/runs/r1/cancel", {}, 409),  # a finished run
        ("/ui/dags/nope/trigger", {}, 404),
        ("/ui/dags/nope/delete", {"confirm": "nope"}, 404),
    ],
)
async def test__bad_control__answers_an_error_page_never_500(
    server: ServerHarness,
    admin: httpx.AsyncClient,
    operator: Operator,
    path: str,
    fields: dict[str, str],
    status: int,
) -> None:
    run = await finished_run(server, admin)
    response = await operator.post(path.replace("TI", run["tasks"]["a"]["id"]), **fields)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")


async def test__ui__is_in_no_api_document(admin: httpx.AsyncClient) -> None:
    for version in supported_versions():
        served = await admin.get("/openapi.json", params={"version": version})
        assert served.status_code == 200, version
        assert '"/ui' not in served.text


def test__vendored_htmx__matches_its_recorded_sha256() -> None:
    notes = (UI_PACKAGE / "VENDORED.md").read_text()
    recorded = re.search(r"`htmx.min.js` sha256 \| `([0-9a-f]{64})`", notes)
    assert recorded is not None
    (script,) = (UI_PACKAGE / "static").glob("htmx-*.min.js")
    assert hashlib.sha256(script.read_bytes()).hexdigest() == recorded.group(1)


async def test__ui_requests__are_counted_under_their_own_operation(
    server: ServerHarness, operator: Operator
) -> None:
    assert (await operator.http.get("/ui/")).status_code == 200
    metrics = await operator.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'baton_http_requests_total{operation="ui",status="200"' in metrics.text
