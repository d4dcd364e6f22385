"""The UI's forms: login and logout, and the operator controls through the admin API's own services.

Every control calls the same service function as its admin API route, with the logged-in admin
credential as the actor, so it is audited exactly as through the API. Each answers 303 to the
page to show next; a refusal (unknown target, a finished run cancelled) renders the error page.
"""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from baton_server.errors import InvalidInputError, UnauthorizedError
from baton_server.services import audit, controls, dag_runs, dags
from baton_server.services.controls import MarkState
from baton_server.services.credentials import authenticate
from baton_server.ui.auth import SESSION_COOKIE, CsrfRefusedError, end_session
from baton_server.ui.deps import (
    FormDep,
    OperatorDep,
    RuntimeDep,
    SessionDep,
    read_form,
    redirect,
    render,
    root,
    segment,
    signer,
)
from baton_server.ui.views import load_task_instance

router = APIRouter()


def _safe_next(request: Request, target: str | None) -> str:
    """Where to go after logging in: a path inside the UI, never another site. A path with a ``.`` or
    ``..`` segment (``%2e`` spelled too, as browsers read it) is refused: ``/ui/../api`` leaves the UI."""
    base = root(request)
    if (
        target
        and target.startswith(base + "/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(part in (".", "..") for part in unquote(target.partition("?")[0]).split("/"))
    ):
        return target
    return base + "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """The login form: paste an admin token."""
    return render(
        request, "login.html", next=_safe_next(request, request.query_params.get("next")), error=None
    )


def _sent_from_another_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site's page (``Sec-Fetch-Site``, set
    by the browser itself, so a proxy that rewrites ``Host`` does not confuse it). Clients that do not
    send it (curl, scripts, browsers older than 2023) are let through."""
    site = request.headers.get("sec-fetch-site")
    return site is not None and site not in ("same-origin", "none")


@router.post("/login", response_model=None)
async def login(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Check the admin token and start a session (an HttpOnly, SameSite=Strict, signed cookie)."""
    if _sent_from_another_site(request):
        # Login CSRF: another site's page could log the operator's browser in as the attacker's
        # admin, so that what the operator then does happens under the attacker's name.
        raise CsrfRefusedError(
            "This login form was sent from another site's page: "
            "open this server's login page and log in there."
        )
    form = await read_form(request)
    target = _safe_next(request, form.get("next"))
    try:
        credential = await authenticate(session, form.get("token", "").strip(), "admin")
    except UnauthorizedError:
        return render(
            request,
            "login.html",
            status_code=401,
            next=target,
            error="That is not a valid admin token (or it has been revoked).",
        )
    ttl = runtime.settings.ui_session_ttl
    value, _ = signer(runtime).issue(credential.id, ttl)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=ttl,
        path=root(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(
    request: Request, operator: OperatorDep, session: SessionDep, _form: FormDep
) -> RedirectResponse:
    """End the session: its cookie is refused from now on, and dropped from the browser."""
    if operator.session is not None:
        await end_session(session, operator.session)
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=root(request) or "/", httponly=True, samesite="strict")
    return response


def _mark_state(form: dict[str, str]) -> MarkState:
    try:
        return MarkState(form.get("state", ""))
    except ValueError:
        raise InvalidInputError(
            "mark a task instance or run success or failed", reason="validation_error"
        ) from None


@router.post("/dags/{dag_id}/trigger")
async def trigger(
    request: Request, dag_id: str, session: SessionDep, runtime: RuntimeDep, _form: FormDep
) -> RedirectResponse:
    """Trigger a manual run of the DAG's latest version, as ``trigger_dag_run`` does."""
    await dag_runs.trigger_dag_run(session, dag_id, conf={})
    runtime.wakeups.scheduler.notify()
    return redirect(request, f"/dags/{segment(dag_id)}", "triggered")


@router.post("/dags/{dag_id}/pause")
async def pause(request: Request, dag_id: str, session: SessionDep, form: FormDep) -> RedirectResponse:
    """Pause or unpause a DAG, as ``update_dag`` does."""
    paused = form.get("paused") == "true"
    await dags.set_paused(session, dag_id, paused=paused)
    return redirect(request, f"/dags/{segment(dag_id)}", "paused" if paused else "unpaused")


@router.post("/dags/{dag_id}/delete", response_model=None)
async def delete(
    request: Request, dag_id: str, session: SessionDep, operator: OperatorDep, form: FormDep
) -> Response:
    """Delete the DAG once its id was typed again, as ``delete_dag`` does."""
    try:
        await controls.delete_dag(
            session, audit.Actor.of(operator.credential), dag_id, confirm=form.get("confirm", "")
        )
    except InvalidInputError as exc:
        summary = await dags.get_dag(session, dag_id)
        return render(request, "delete.html", operator, status_code=422, dag=summary.dag, error=exc.message)
    return redirect(request, "/", "deleted")


@router.post("/dags/{dag_id}/runs/{run_id}/mark")
async def mark_run(
    request: Request, dag_id: str, run_id: str, session: SessionDep, operator: OperatorDep, form: FormDep
) -> RedirectResponse:
    """Mark the run success or failed, as ``mark_dag_run`` does."""
    await controls.mark_dag_run(
        session, audit.Actor.of(operator.credential), dag_id, run_id, _mark_state(form)
    )
    return redirect(request, f"/dags/{segment(dag_id)}/runs/{segment(run_id)}", "marked")


@router.post("/dags/{dag_id}/runs/{run_id}/cancel")
async def cancel_run(
    request: Request, dag_id: str, run_id: str, session: SessionDep, operator: OperatorDep, _form: FormDep
) -> RedirectResponse:
    """Cancel a queued or running run, as ``cancel_dag_run`` does."""
    await controls.cancel_dag_run(session, audit.Actor.of(operator.credential), dag_id, run_id)
    return redirect(request, f"/dags/{segment(dag_id)}/runs/{segment(run_id)}", "cancelled")


@router.post("/task-instances/{task_instance_id}/clear")
async def clear_task_instance(
    request: Request, task_instance_id: str, session: SessionDep, operator: OperatorDep, form: FormDep
) -> RedirectResponse:
    """Clear the task instance, optionally with its downstream, as ``clear_task_instance`` does."""
    ti = await load_task_instance(session, task_instance_id)
    await controls.clear_task_instance(
        session,
        audit.Actor.of(operator.credential),
        ti.id,
        include_downstream=form.get("downstream") == "true",
    )
    return redirect(request, f"/task-instances/{ti.id}", "cleared")


@router.post("/task-instances/{task_instance_id}/mark")
async def mark_task_instance(
    request: Request, task_instance_id: str, session: SessionDep, operator: OperatorDep, form: FormDep
) -> RedirectResponse:
    """Mark the task instance success or failed, as ``mark_task_instance`` does."""
    ti = await load_task_instance(session, task_instance_id)
    await controls.mark_task_instance(session, audit.Actor.of(operator.credential), ti.id, _mark_state(form))
    return redirect(request, f"/task-instances/{ti.id}", "marked")
