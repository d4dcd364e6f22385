from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.variable_entry import VariableEntry
from ...models.variable_grants import VariableGrants
from ...types import Response


def _get_kwargs(
    key: str,
    *,
    body: VariableGrants,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/variables/{key}/grants".format(
            key=quote(str(key), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | VariableEntry | None:
    if response.status_code == 200:
        response_200 = VariableEntry.from_dict(response.json())

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
) -> Response[ErrorBody | VariableEntry]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: VariableGrants,
) -> Response[ErrorBody | VariableEntry]:
    """Grant a variable to DAGs for reading and writing

     Which DAGs' tasks may read the variable, and which may write or delete it; null: every DAG.

    A task of another DAG gets `403 variable_not_granted` (reading) or `variable_not_writable`.

    Args:
        key (str):
        body (VariableGrants): Which DAGs' tasks may read and write a variable; null grants it to
            every DAG.

            Both are required: the body replaces both grants, and a grant left out is never taken to
            open the
            variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite
            what
            they read).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | VariableEntry]
    """

    kwargs = _get_kwargs(
        key=key,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    key: str,
    *,
    client: AuthenticatedClient,
    body: VariableGrants,
) -> ErrorBody | VariableEntry | None:
    """Grant a variable to DAGs for reading and writing

     Which DAGs' tasks may read the variable, and which may write or delete it; null: every DAG.

    A task of another DAG gets `403 variable_not_granted` (reading) or `variable_not_writable`.

    Args:
        key (str):
        body (VariableGrants): Which DAGs' tasks may read and write a variable; null grants it to
            every DAG.

            Both are required: the body replaces both grants, and a grant left out is never taken to
            open the
            variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite
            what
            they read).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | VariableEntry
    """

    return sync_detailed(
        key=key,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: VariableGrants,
) -> Response[ErrorBody | VariableEntry]:
    """Grant a variable to DAGs for reading and writing

     Which DAGs' tasks may read the variable, and which may write or delete it; null: every DAG.

    A task of another DAG gets `403 variable_not_granted` (reading) or `variable_not_writable`.

    Args:
        key (str):
        body (VariableGrants): Which DAGs' tasks may read and write a variable; null grants it to
            every DAG.

            Both are required: the body replaces both grants, and a grant left out is never taken to
            open the
            variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite
            what
            they read).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | VariableEntry]
    """

    kwargs = _get_kwargs(
        key=key,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    key: str,
    *,
    client: AuthenticatedClient,
    body: VariableGrants,
) -> ErrorBody | VariableEntry | None:
    """Grant a variable to DAGs for reading and writing

     Which DAGs' tasks may read the variable, and which may write or delete it; null: every DAG.

    A task of another DAG gets `403 variable_not_granted` (reading) or `variable_not_writable`.

    Args:
        key (str):
        body (VariableGrants): Which DAGs' tasks may read and write a variable; null grants it to
            every DAG.

            Both are required: the body replaces both grants, and a grant left out is never taken to
            open the
            variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite
            what
            they read).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | VariableEntry
    """

    return (
        await asyncio_detailed(
            key=key,
            client=client,
            body=body,
        )
    ).parsed
