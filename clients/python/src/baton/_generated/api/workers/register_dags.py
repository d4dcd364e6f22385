from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.register_dags_payload import RegisterDagsPayload
from ...models.registered_dags import RegisteredDags
from ...types import Response


def _get_kwargs(
    *,
    body: RegisterDagsPayload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/workers/dags",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | RegisteredDags | None:
    if response.status_code == 200:
        response_200 = RegisteredDags.from_dict(response.json())

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
) -> Response[ErrorBody | RegisteredDags]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: RegisterDagsPayload,
) -> Response[ErrorBody | RegisteredDags]:
    """Register the DAGs of a bundle; a changed description becomes a new DAG version

     Store each DAG's description, making a new version when it changed.

    Args:
        body (RegisterDagsPayload): The DAGs of one bundle, registered by a worker that loaded it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RegisteredDags]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: RegisterDagsPayload,
) -> ErrorBody | RegisteredDags | None:
    """Register the DAGs of a bundle; a changed description becomes a new DAG version

     Store each DAG's description, making a new version when it changed.

    Args:
        body (RegisterDagsPayload): The DAGs of one bundle, registered by a worker that loaded it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RegisteredDags
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: RegisterDagsPayload,
) -> Response[ErrorBody | RegisteredDags]:
    """Register the DAGs of a bundle; a changed description becomes a new DAG version

     Store each DAG's description, making a new version when it changed.

    Args:
        body (RegisterDagsPayload): The DAGs of one bundle, registered by a worker that loaded it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RegisteredDags]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: RegisterDagsPayload,
) -> ErrorBody | RegisteredDags | None:
    """Register the DAGs of a bundle; a changed description becomes a new DAG version

     Store each DAG's description, making a new version when it changed.

    Args:
        body (RegisterDagsPayload): The DAGs of one bundle, registered by a worker that loaded it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RegisteredDags
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
