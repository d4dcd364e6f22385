from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.connection_response_extra_type_0 import ConnectionResponseExtraType0


T = TypeVar("T", bound="ConnectionResponse")


@_attrs_define
class ConnectionResponse:
    """How to reach an external system; secrets are decrypted for the task that asks.

    Attributes:
        conn_id (str):
        conn_type (str):
        host (None | str):
        port (int | None):
        login (None | str):
        password (None | str):
        schema (None | str):
        extra (ConnectionResponseExtraType0 | None):
    """

    conn_id: str
    conn_type: str
    host: None | str
    port: int | None
    login: None | str
    password: None | str
    schema: None | str
    extra: ConnectionResponseExtraType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.connection_response_extra_type_0 import (
            ConnectionResponseExtraType0,
        )

        conn_id = self.conn_id

        conn_type = self.conn_type

        host: None | str
        host = self.host

        port: int | None
        port = self.port

        login: None | str
        login = self.login

        password: None | str
        password = self.password

        schema: None | str
        schema = self.schema

        extra: dict[str, Any] | None
        if isinstance(self.extra, ConnectionResponseExtraType0):
            extra = self.extra.to_dict()
        else:
            extra = self.extra

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "conn_id": conn_id,
                "conn_type": conn_type,
                "host": host,
                "port": port,
                "login": login,
                "password": password,
                "schema": schema,
                "extra": extra,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.connection_response_extra_type_0 import (
            ConnectionResponseExtraType0,
        )

        d = dict(src_dict)
        conn_id = d.pop("conn_id")

        conn_type = d.pop("conn_type")

        def _parse_host(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        host = _parse_host(d.pop("host"))

        def _parse_port(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        port = _parse_port(d.pop("port"))

        def _parse_login(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        login = _parse_login(d.pop("login"))

        def _parse_password(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        password = _parse_password(d.pop("password"))

        def _parse_schema(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        schema = _parse_schema(d.pop("schema"))

        def _parse_extra(data: object) -> ConnectionResponseExtraType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                extra_type_0 = ConnectionResponseExtraType0.from_dict(data)

                return extra_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConnectionResponseExtraType0 | None, data)

        extra = _parse_extra(d.pop("extra"))

        connection_response = cls(
            conn_id=conn_id,
            conn_type=conn_type,
            host=host,
            port=port,
            login=login,
            password=password,
            schema=schema,
            extra=extra,
        )

        connection_response.additional_properties = d
        return connection_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
