from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_event_list import AuditEventList
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    dag_id: None | str | Unset = UNSET,
    action: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_dag_id: None | str | Unset
    if isinstance(dag_id, Unset):
        json_dag_id = UNSET
    else:
        json_dag_id = dag_id
    params["dag_id"] = json_dag_id

    json_action: None | str | Unset
    if isinstance(action, Unset):
        json_action = UNSET
    else:
        json_action = action
    params["action"] = json_action

    params["limit"] = limit

    params["offset"] = offset

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/audit-events",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuditEventList | ErrorBody | None:
    if response.status_code == 200:
        response_200 = AuditEventList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

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
) -> Response[AuditEventList | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    dag_id: None | str | Unset = UNSET,
    action: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
) -> Response[AuditEventList | ErrorBody]:
    """List the audit trail of operator controls, newest first

     Who did what, when, on which DAG, run or task instance.

    Args:
        dag_id (None | str | Unset): Only controls on this DAG.
        action (None | str | Unset): Only this control (its operation id).
        limit (int | Unset): Page size. Default: 100.
        offset (int | Unset): Entries to skip. Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditEventList | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        action=action,
        limit=limit,
        offset=offset,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    dag_id: None | str | Unset = UNSET,
    action: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
) -> AuditEventList | ErrorBody | None:
    """List the audit trail of operator controls, newest first

     Who did what, when, on which DAG, run or task instance.

    Args:
        dag_id (None | str | Unset): Only controls on this DAG.
        action (None | str | Unset): Only this control (its operation id).
        limit (int | Unset): Page size. Default: 100.
        offset (int | Unset): Entries to skip. Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditEventList | ErrorBody
    """

    return sync_detailed(
        client=client,
        dag_id=dag_id,
        action=action,
        limit=limit,
        offset=offset,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    dag_id: None | str | Unset = UNSET,
    action: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
) -> Response[AuditEventList | ErrorBody]:
    """List the audit trail of operator controls, newest first

     Who did what, when, on which DAG, run or task instance.

    Args:
        dag_id (None | str | Unset): Only controls on this DAG.
        action (None | str | Unset): Only this control (its operation id).
        limit (int | Unset): Page size. Default: 100.
        offset (int | Unset): Entries to skip. Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditEventList | ErrorBody]
    """

    kwargs = _get_kwargs(
        dag_id=dag_id,
        action=action,
        limit=limit,
        offset=offset,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    dag_id: None | str | Unset = UNSET,
    action: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
) -> AuditEventList | ErrorBody | None:
    """List the audit trail of operator controls, newest first

     Who did what, when, on which DAG, run or task instance.

    Args:
        dag_id (None | str | Unset): Only controls on this DAG.
        action (None | str | Unset): Only this control (its operation id).
        limit (int | Unset): Page size. Default: 100.
        offset (int | Unset): Entries to skip. Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditEventList | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            dag_id=dag_id,
            action=action,
            limit=limit,
            offset=offset,
        )
    ).parsed
