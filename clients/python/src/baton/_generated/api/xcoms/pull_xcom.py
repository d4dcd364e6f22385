from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.x_com_response import XComResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    map_index: int | Unset = -1,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["map_index"] = map_index

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/execution/xcoms/{dag_id}/{run_id}/{task_id}/{key}".format(
            dag_id=quote(str(dag_id), safe=""),
            run_id=quote(str(run_id), safe=""),
            task_id=quote(str(task_id), safe=""),
            key=quote(str(key), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | XComResponse | None:
    if response.status_code == 200:
        response_200 = XComResponse.from_dict(response.json())

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
) -> Response[ErrorBody | XComResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    client: AuthenticatedClient,
    map_index: int | Unset = -1,
) -> Response[ErrorBody | XComResponse]:
    """Pull an XCom of the caller's DAG

     Read an XCom of any task instance of the caller's DAG.

    Args:
        dag_id (str):
        run_id (str):
        task_id (str):
        key (str):
        map_index (int | Unset): Map index of the task; -1 when unmapped. Default: -1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | XComResponse]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        key=key,
        map_index=map_index,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    client: AuthenticatedClient,
    map_index: int | Unset = -1,
) -> ErrorBody | XComResponse | None:
    """Pull an XCom of the caller's DAG

     Read an XCom of any task instance of the caller's DAG.

    Args:
        dag_id (str):
        run_id (str):
        task_id (str):
        key (str):
        map_index (int | Unset): Map index of the task; -1 when unmapped. Default: -1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | XComResponse
    """

    return sync_detailed(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        key=key,
        client=client,
        map_index=map_index,
    ).parsed


async def asyncio_detailed(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    client: AuthenticatedClient,
    map_index: int | Unset = -1,
) -> Response[ErrorBody | XComResponse]:
    """Pull an XCom of the caller's DAG

     Read an XCom of any task instance of the caller's DAG.

    Args:
        dag_id (str):
        run_id (str):
        task_id (str):
        key (str):
        map_index (int | Unset): Map index of the task; -1 when unmapped. Default: -1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | XComResponse]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        key=key,
        map_index=map_index,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    dag_id: str,
    run_id: str,
    task_id: str,
    key: str,
    *,
    client: AuthenticatedClient,
    map_index: int | Unset = -1,
) -> ErrorBody | XComResponse | None:
    """Pull an XCom of the caller's DAG

     Read an XCom of any task instance of the caller's DAG.

    Args:
        dag_id (str):
        run_id (str):
        task_id (str):
        key (str):
        map_index (int | Unset): Map index of the task; -1 when unmapped. Default: -1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | XComResponse
    """

    return (
        await asyncio_detailed(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            key=key,
            client=client,
            map_index=map_index,
        )
    ).parsed
