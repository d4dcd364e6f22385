from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.task_tokens import TaskTokens
from ...models.task_tokens_payload import TaskTokensPayload
from ...types import Response


def _get_kwargs(
    worker_id: UUID,
    *,
    body: TaskTokensPayload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/workers/{worker_id}/task-tokens".format(
            worker_id=quote(str(worker_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | TaskTokens | None:
    if response.status_code == 200:
        response_200 = TaskTokens.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

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
) -> Response[ErrorBody | TaskTokens]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    worker_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TaskTokensPayload,
) -> Response[ErrorBody | TaskTokens]:
    """Get fresh execution tokens for running attempts the worker holds (after their tokens expired)

     A fresh execution token for each listed attempt this worker holds and runs; why none for the others.

    Args:
        worker_id (UUID):
        body (TaskTokensPayload): The task instances whose running attempts the worker wants fresh
            execution tokens for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TaskTokens]
    """

    kwargs = _get_kwargs(
        worker_id=worker_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    worker_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TaskTokensPayload,
) -> ErrorBody | TaskTokens | None:
    """Get fresh execution tokens for running attempts the worker holds (after their tokens expired)

     A fresh execution token for each listed attempt this worker holds and runs; why none for the others.

    Args:
        worker_id (UUID):
        body (TaskTokensPayload): The task instances whose running attempts the worker wants fresh
            execution tokens for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TaskTokens
    """

    return sync_detailed(
        worker_id=worker_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    worker_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TaskTokensPayload,
) -> Response[ErrorBody | TaskTokens]:
    """Get fresh execution tokens for running attempts the worker holds (after their tokens expired)

     A fresh execution token for each listed attempt this worker holds and runs; why none for the others.

    Args:
        worker_id (UUID):
        body (TaskTokensPayload): The task instances whose running attempts the worker wants fresh
            execution tokens for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TaskTokens]
    """

    kwargs = _get_kwargs(
        worker_id=worker_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    worker_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TaskTokensPayload,
) -> ErrorBody | TaskTokens | None:
    """Get fresh execution tokens for running attempts the worker holds (after their tokens expired)

     A fresh execution token for each listed attempt this worker holds and runs; why none for the others.

    Args:
        worker_id (UUID):
        body (TaskTokensPayload): The task instances whose running attempts the worker wants fresh
            execution tokens for.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TaskTokens
    """

    return (
        await asyncio_detailed(
            worker_id=worker_id,
            client=client,
            body=body,
        )
    ).parsed
