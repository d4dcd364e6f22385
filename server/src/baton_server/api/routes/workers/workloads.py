"""Worker routes: register a worker, heartbeat it, claim workloads from its queues, and get fresh
execution tokens for the attempts it runs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from baton_server.api import answers, links
from baton_server.api.deps import RuntimeDep, SessionDep, WorkerCredentialDep
from baton_server.api.routes._orchestration import (
    ClientRuntimes,
    require_runtime_known_to_client,
    worker_model,
)
from baton_server.api.schemas.orchestration import (
    ClaimedWorkloads,
    ClaimWorkloadsPayload,
    RefusedTaskToken,
    RegisterWorkerPayload,
    TaskToken,
    TaskTokens,
    TaskTokensPayload,
    Worker,
)
from baton_server.services import workers, workloads

router = APIRouter(tags=["workers"])


@router.post(
    "/registrations",
    response_model=Worker,
    summary="Register (or re-register) a worker with its queues and capacity",
    responses=links.REGISTER_WORKER,
)
async def register_worker(
    payload: RegisterWorkerPayload, session: SessionDep, credential: WorkerCredentialDep
) -> Worker:
    """Create or refresh a worker under the caller's credential."""
    record = await workers.register_worker(
        session,
        credential,
        workers.WorkerRegistration(
            name=payload.name,
            queues=payload.queues,
            capacity=payload.capacity,
            runtime=payload.runtime,
            hostname=payload.hostname,
        ),
    )
    return worker_model(record)


@router.put(
    "/{worker_id}/heartbeat",
    response_model=Worker,
    summary="Tell the server the worker is alive",
)
async def heartbeat_worker(
    worker_id: uuid.UUID,
    session: SessionDep,
    credential: WorkerCredentialDep,
    client_runtimes: ClientRuntimes = None,
) -> Worker:
    """Record a worker heartbeat."""
    await require_runtime_known_to_client(session, credential, worker_id, client_runtimes)
    return worker_model(await workers.heartbeat_worker(session, credential, worker_id))


@router.post(
    "/{worker_id}/claims",
    response_model=ClaimedWorkloads,
    summary="Claim up to max_workloads workloads from the worker's queues, long-polling when none is ready",
    responses=links.CLAIM_WORKLOADS,
)
async def claim_workloads(
    worker_id: uuid.UUID,
    payload: ClaimWorkloadsPayload,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    credential: WorkerCredentialDep,
    client_runtimes: ClientRuntimes = None,
) -> ClaimedWorkloads:
    """Hand the worker workloads, each to this worker only."""
    claimed = await workloads.claim_workloads(
        session,
        runtime.tokens,
        credential,
        workloads.ClaimRequest(
            worker_id=worker_id,
            max_workloads=payload.max_workloads,
            wait_seconds=payload.wait_seconds,
            queues=payload.queues,
            held=payload.held_task_instance_ids,
            client_runtimes=client_runtimes,
        ),
        max_wait=runtime.settings.claim_max_wait,
        client_gone=request.is_disconnected,
        watch=runtime.claim_watch,
    )
    runtime.metrics.claimed([w.task_instance.queue for w in claimed])
    return answers.claimed_workloads(claimed)


@router.post(
    "/{worker_id}/task-tokens",
    response_model=TaskTokens,
    summary="Get fresh execution tokens for running attempts the worker holds (after their tokens expired)",
)
async def reissue_task_tokens(
    worker_id: uuid.UUID,
    payload: TaskTokensPayload,
    session: SessionDep,
    runtime: RuntimeDep,
    credential: WorkerCredentialDep,
) -> TaskTokens:
    """A fresh execution token for each listed attempt this worker holds and runs; why none for the others."""
    reissued = await workers.reissue_task_tokens(
        session, runtime.tokens, credential, worker_id, payload.task_instance_ids
    )
    return TaskTokens(
        tokens=[
            TaskToken(task_instance_id=t.task_instance_id, try_number=t.try_number, token=t.token)
            for t in reissued.tokens
        ],
        refused=[RefusedTaskToken(task_instance_id=ti, reason=why) for ti, why in reissued.refused],
    )
