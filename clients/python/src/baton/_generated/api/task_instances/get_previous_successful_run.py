from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.previous_successful_run_response import PreviousSuccessfulRunResponse
from ...types import Response


def _get_kwargs(
    task_instance_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/execution/task-instances/{task_instance_id}/previous-successful-run".format(
            task_instance_id=quote(str(task_instance_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | PreviousSuccessfulRunResponse | None:
    if response.status_code == 200:
        response_200 = PreviousSuccessfulRunResponse.from_dict(response.json())

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
) -> Response[ErrorBody | PreviousSuccessfulRunResponse]:
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
) -> Response[ErrorBody | PreviousSuccessfulRunResponse]:
    """The latest earlier DAG run in which this task succeeded

     The latest earlier DAG run of this DAG in which the calling task succeeded, or null.

    Args:
        task_instance_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PreviousSuccessfulRunResponse]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | PreviousSuccessfulRunResponse | None:
    """The latest earlier DAG run in which this task succeeded

     The latest earlier DAG run of this DAG in which the calling task succeeded, or null.

    Args:
        task_instance_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PreviousSuccessfulRunResponse
    """

    return sync_detailed(
        task_instance_id=task_instance_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | PreviousSuccessfulRunResponse]:
    """The latest earlier DAG run in which this task succeeded

     The latest earlier DAG run of this DAG in which the calling task succeeded, or null.

    Args:
        task_instance_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | PreviousSuccessfulRunResponse]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | PreviousSuccessfulRunResponse | None:
    """The latest earlier DAG run in which this task succeeded

     The latest earlier DAG run of this DAG in which the calling task succeeded, or null.

    Args:
        task_instance_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | PreviousSuccessfulRunResponse
    """

    return (
        await asyncio_detailed(
            task_instance_id=task_instance_id,
            client=client,
        )
    ).parsed
