from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.log_page import LogPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    task_instance_id: UUID,
    *,
    try_number: int | None | Unset = UNSET,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_try_number: int | None | Unset
    if isinstance(try_number, Unset):
        json_try_number = UNSET
    else:
        json_try_number = try_number
    params["try_number"] = json_try_number

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/task-instances/{task_instance_id}/logs".format(
            task_instance_id=quote(str(task_instance_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | LogPage | None:
    if response.status_code == 200:
        response_200 = LogPage.from_dict(response.json())

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
) -> Response[ErrorBody | LogPage]:
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
    try_number: int | None | Unset = UNSET,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Response[ErrorBody | LogPage]:
    """Read a page of one attempt's log lines, in order

     One attempt's log lines in the order they were emitted; page with `after` = `next_after`.

    Args:
        task_instance_id (UUID):
        try_number (int | None | Unset): The attempt; default: the latest.
        after (int | Unset): Only lines after this line id. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | LogPage]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
        try_number=try_number,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    try_number: int | None | Unset = UNSET,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> ErrorBody | LogPage | None:
    """Read a page of one attempt's log lines, in order

     One attempt's log lines in the order they were emitted; page with `after` = `next_after`.

    Args:
        task_instance_id (UUID):
        try_number (int | None | Unset): The attempt; default: the latest.
        after (int | Unset): Only lines after this line id. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | LogPage
    """

    return sync_detailed(
        task_instance_id=task_instance_id,
        client=client,
        try_number=try_number,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    try_number: int | None | Unset = UNSET,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> Response[ErrorBody | LogPage]:
    """Read a page of one attempt's log lines, in order

     One attempt's log lines in the order they were emitted; page with `after` = `next_after`.

    Args:
        task_instance_id (UUID):
        try_number (int | None | Unset): The attempt; default: the latest.
        after (int | Unset): Only lines after this line id. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | LogPage]
    """

    kwargs = _get_kwargs(
        task_instance_id=task_instance_id,
        try_number=try_number,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    task_instance_id: UUID,
    *,
    client: AuthenticatedClient,
    try_number: int | None | Unset = UNSET,
    after: int | Unset = 0,
    limit: int | Unset = 500,
) -> ErrorBody | LogPage | None:
    """Read a page of one attempt's log lines, in order

     One attempt's log lines in the order they were emitted; page with `after` = `next_after`.

    Args:
        task_instance_id (UUID):
        try_number (int | None | Unset): The attempt; default: the latest.
        after (int | Unset): Only lines after this line id. Default: 0.
        limit (int | Unset):  Default: 500.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | LogPage
    """

    return (
        await asyncio_detailed(
            task_instance_id=task_instance_id,
            client=client,
            try_number=try_number,
            after=after,
            limit=limit,
        )
    ).parsed
