"""Worker route for DAG registration: a worker describes the DAGs of the bundles it loaded."""

from __future__ import annotations

from fastapi import APIRouter

from baton_server.api.deps import SessionDep, WorkerCredentialDep
from baton_server.api.routes._orchestration import dag_spec
from baton_server.api.schemas.orchestration import RegisterDagsPayload, RegisteredDag, RegisteredDags
from baton_server.services import dags

router = APIRouter(tags=["workers"])


@router.post(
    "/dags",
    response_model=RegisteredDags,
    summary="Register the DAGs of a bundle; a changed description becomes a new DAG version",
)
async def register_dags(
    payload: RegisterDagsPayload, session: SessionDep, credential: WorkerCredentialDep
) -> RegisteredDags:
    """Store each DAG's description, making a new version when it changed."""
    results = await dags.register_dags(
        session, [dag_spec(d) for d in payload.dags], bundle_name=payload.bundle_name, owner=credential
    )
    return RegisteredDags(
        dags=[
            RegisteredDag(
                dag_id=r.dag_id,
                dag_version_id=r.dag_version_id,
                version_number=r.version_number,
                created_version=r.created_version,
            )
            for r in results
        ]
    )
