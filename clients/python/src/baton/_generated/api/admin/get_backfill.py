from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.backfill import Backfill
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    dag_id: str,
    backfill_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/dags/{dag_id}/backfills/{backfill_id}".format(
            dag_id=quote(str(dag_id), safe=""),
            backfill_id=quote(str(backfill_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Backfill | ErrorBody | None:
    if response.status_code == 200:
        response_200 = Backfill.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

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
    backfill_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[Backfill | ErrorBody]:
    """Show a backfill's progress

     One backfill with its runs counted by state.

    Args:
        dag_id (str):
        backfill_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Backfill | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        backfill_id=backfill_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    dag_id: str,
    backfill_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Backfill | ErrorBody | None:
    """Show a backfill's progress

     One backfill with its runs counted by state.

    Args:
        dag_id (str):
        backfill_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Backfill | ErrorBody
    """

    return sync_detailed(
        dag_id=dag_id,
        backfill_id=backfill_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    dag_id: str,
    backfill_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[Backfill | ErrorBody]:
    """Show a backfill's progress

     One backfill with its runs counted by state.

    Args:
        dag_id (str):
        backfill_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Backfill | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        backfill_id=backfill_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    dag_id: str,
    backfill_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Backfill | ErrorBody | None:
    """Show a backfill's progress

     One backfill with its runs counted by state.

    Args:
        dag_id (str):
        backfill_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Backfill | ErrorBody
    """

    return (
        await asyncio_detailed(
            dag_id=dag_id,
            backfill_id=backfill_id,
            client=client,
        )
    ).parsed
