from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.connection_put_body_extra_type_0 import ConnectionPutBodyExtraType0


T = TypeVar("T", bound="ConnectionPutBody")


@_attrs_define
class ConnectionPutBody:
    """A connection to create or replace; ``allowed_dag_ids`` null grants it to every DAG.

    Attributes:
        conn_type (str):
        allowed_dag_ids (list[str] | None):
        host (None | str | Unset):
        port (int | None | Unset):
        login (None | str | Unset):
        password (None | str | Unset):
        schema (None | str | Unset):
        extra (ConnectionPutBodyExtraType0 | None | Unset):
        description (None | str | Unset):
    """

    conn_type: str
    allowed_dag_ids: list[str] | None
    host: None | str | Unset = UNSET
    port: int | None | Unset = UNSET
    login: None | str | Unset = UNSET
    password: None | str | Unset = UNSET
    schema: None | str | Unset = UNSET
    extra: ConnectionPutBodyExtraType0 | None | Unset = UNSET
    description: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.connection_put_body_extra_type_0 import (
            ConnectionPutBodyExtraType0,
        )

        conn_type = self.conn_type

        allowed_dag_ids: list[str] | None
        if isinstance(self.allowed_dag_ids, list):
            allowed_dag_ids = self.allowed_dag_ids

        else:
            allowed_dag_ids = self.allowed_dag_ids

        host: None | str | Unset
        if isinstance(self.host, Unset):
            host = UNSET
        else:
            host = self.host

        port: int | None | Unset
        if isinstance(self.port, Unset):
            port = UNSET
        else:
            port = self.port

        login: None | str | Unset
        if isinstance(self.login, Unset):
            login = UNSET
        else:
            login = self.login

        password: None | str | Unset
        if isinstance(self.password, Unset):
            password = UNSET
        else:
            password = self.password

        schema: None | str | Unset
        if isinstance(self.schema, Unset):
            schema = UNSET
        else:
            schema = self.schema

        extra: dict[str, Any] | None | Unset
        if isinstance(self.extra, Unset):
            extra = UNSET
        elif isinstance(self.extra, ConnectionPutBodyExtraType0):
            extra = self.extra.to_dict()
        else:
            extra = self.extra

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "conn_type": conn_type,
                "allowed_dag_ids": allowed_dag_ids,
            }
        )
        if host is not UNSET:
            field_dict["host"] = host
        if port is not UNSET:
            field_dict["port"] = port
        if login is not UNSET:
            field_dict["login"] = login
        if password is not UNSET:
            field_dict["password"] = password
        if schema is not UNSET:
            field_dict["schema"] = schema
        if extra is not UNSET:
            field_dict["extra"] = extra
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.connection_put_body_extra_type_0 import (
            ConnectionPutBodyExtraType0,
        )

        d = dict(src_dict)
        conn_type = d.pop("conn_type")

        def _parse_allowed_dag_ids(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                allowed_dag_ids_type_0 = cast(list[str], data)

                return allowed_dag_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        allowed_dag_ids = _parse_allowed_dag_ids(d.pop("allowed_dag_ids"))

        def _parse_host(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        host = _parse_host(d.pop("host", UNSET))

        def _parse_port(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        port = _parse_port(d.pop("port", UNSET))

        def _parse_login(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        login = _parse_login(d.pop("login", UNSET))

        def _parse_password(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        password = _parse_password(d.pop("password", UNSET))

        def _parse_schema(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        schema = _parse_schema(d.pop("schema", UNSET))

        def _parse_extra(data: object) -> ConnectionPutBodyExtraType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                extra_type_0 = ConnectionPutBodyExtraType0.from_dict(data)

                return extra_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConnectionPutBodyExtraType0 | None | Unset, data)

        extra = _parse_extra(d.pop("extra", UNSET))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        connection_put_body = cls(
            conn_type=conn_type,
            allowed_dag_ids=allowed_dag_ids,
            host=host,
            port=port,
            login=login,
            password=password,
            schema=schema,
            extra=extra,
            description=description,
        )

        return connection_put_body
