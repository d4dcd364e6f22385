from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.backfill import Backfill
from ...models.backfill_create import BackfillCreate
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    dag_id: str,
    *,
    body: BackfillCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/dags/{dag_id}/backfills".format(
            dag_id=quote(str(dag_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Backfill | ErrorBody | None:
    if response.status_code == 201:
        response_201 = Backfill.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Backfill | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    dag_id: str,
    *,
    client: AuthenticatedClient,
    body: BackfillCreate,
) -> Response[Backfill | ErrorBody]:
    """Backfill a scheduled DAG over a date range

     Start a backfill: the scheduler makes its runs, at most `max_active_runs` queued or running at once.

    Args:
        dag_id (str):
        body (BackfillCreate): A backfill of a scheduled DAG: one run per tick of its schedule
            from `from_date` to `to_date`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Backfill | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    dag_id: str,
    *,
    client: AuthenticatedClient,
    body: BackfillCreate,
) -> Backfill | ErrorBody | None:
    """Backfill a scheduled DAG over a date range

     Start a backfill: the scheduler makes its runs, at most `max_active_runs` queued or running at once.

    Args:
        dag_id (str):
        body (BackfillCreate): A backfill of a scheduled DAG: one run per tick of its schedule
            from `from_date` to `to_date`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Backfill | ErrorBody
    """

    return sync_detailed(
        dag_id=dag_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    dag_id: str,
    *,
    client: AuthenticatedClient,
    body: BackfillCreate,
) -> Response[Backfill | ErrorBody]:
    """Backfill a scheduled DAG over a date range

     Start a backfill: the scheduler makes its runs, at most `max_active_runs` queued or running at once.

    Args:
        dag_id (str):
        body (BackfillCreate): A backfill of a scheduled DAG: one run per tick of its schedule
            from `from_date` to `to_date`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Backfill | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    dag_id: str,
    *,
    client: AuthenticatedClient,
    body: BackfillCreate,
) -> Backfill | ErrorBody | None:
    """Backfill a scheduled DAG over a date range

     Start a backfill: the scheduler makes its runs, at most `max_active_runs` queued or running at once.

    Args:
        dag_id (str):
        body (BackfillCreate): A backfill of a scheduled DAG: one run per tick of its schedule
            from `from_date` to `to_date`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Backfill | ErrorBody
    """

    return (
        await asyncio_detailed(
            dag_id=dag_id,
            client=client,
            body=body,
        )
    ).parsed
