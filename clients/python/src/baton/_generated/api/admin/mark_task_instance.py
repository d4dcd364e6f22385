from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.mark_state_payload import MarkStatePayload
from ...models.task_instance_detail import TaskInstanceDetail
from ...types import Response


def _get_kwargs(
    task_instance_id: UUID,
    *,
    body: MarkStatePayload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/task-instances/{task_instance_id}/mark".format(
            task_instance_id=quote(str(task_instance_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | TaskInstanceDetail | None:
    if response.status_code == 200:
        response_200 = TaskInstanceDetail.from_dict(response.json())

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
) -> Response[ErrorBody | TaskInstanceDetail]:
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
    body: MarkStatePayload,
) -> Response[ErrorBody | TaskInstanceDetail]:
    """Mark a task instance success or failed

     Set the state by hand; a running attempt is told to stop, downstream tasks follow the new state.

    Args:
        task_instance_id (UUID):
        body (MarkStatePayload): The state to set by hand.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TaskInstanceDetail]
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
    body: MarkStatePayload,
) -> ErrorBody | TaskInstanceDetail | None:
    """Mark a task instance success or failed

     Set the state by hand; a running attempt is told to stop, downstream tasks follow the new state.

    Args:
        task_instance_id (UUID):
        body (MarkStatePayload): The state to set by hand.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TaskInstanceDetail
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
    body: MarkStatePayload,
) -> Response[ErrorBody | TaskInstanceDetail]:
    """Mark a task instance success or failed

     Set the state by hand; a running attempt is told to stop, downstream tasks follow the new state.

    Args:
        task_instance_id (UUID):
        body (MarkStatePayload): The state to set by hand.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TaskInstanceDetail]
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
    body: MarkStatePayload,
) -> ErrorBody | TaskInstanceDetail | None:
    """Mark a task instance success or failed

     Set the state by hand; a running attempt is told to stop, downstream tasks follow the new state.

    Args:
        task_instance_id (UUID):
        body (MarkStatePayload): The state to set by hand.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TaskInstanceDetail
    """

    return (
        await asyncio_detailed(
            task_instance_id=task_instance_id,
            client=client,
            body=body,
        )
    ).parsed
