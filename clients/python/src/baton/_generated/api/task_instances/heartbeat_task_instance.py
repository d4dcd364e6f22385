from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.ti_heartbeat_payload import TIHeartbeatPayload
from ...types import Response


def _get_kwargs(
    task_instance_id: UUID,
    *,
    body: TIHeartbeatPayload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/execution/task-instances/{task_instance_id}/heartbeat".format(
            task_instance_id=quote(str(task_instance_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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
) -> Response[Any | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TIHeartbeatPayload,
) -> Response[Any | ErrorBody]:
    """Say the running attempt is alive

     409 when the host and pid do not match the running attempt, or the attempt is over: stop the task.

    Args:
        task_instance_id (UUID):
        body (TIHeartbeatPayload): A running attempt says it is alive.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TIHeartbeatPayload,
) -> Any | ErrorBody | None:
    """Say the running attempt is alive

     409 when the host and pid do not match the running attempt, or the attempt is over: stop the task.

    Args:
        task_instance_id (UUID):
        body (TIHeartbeatPayload): A running attempt says it is alive.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        task_instance_id=task_instance_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TIHeartbeatPayload,
) -> Response[Any | ErrorBody]:
    """Say the running attempt is alive

     409 when the host and pid do not match the running attempt, or the attempt is over: stop the task.

    Args:
        task_instance_id (UUID):
        body (TIHeartbeatPayload): A running attempt says it is alive.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TIHeartbeatPayload,
) -> Any | ErrorBody | None:
    """Say the running attempt is alive

     409 when the host and pid do not match the running attempt, or the attempt is over: stop the task.

    Args:
        task_instance_id (UUID):
        body (TIHeartbeatPayload): A running attempt says it is alive.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            task_instance_id=task_instance_id,
            client=client,
            body=body,
        )
    ).parsed
