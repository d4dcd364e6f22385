from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.audit_event_details import AuditEventDetails


T = TypeVar("T", bound="AuditEvent")


@_attrs_define
class AuditEvent:
    """One operator control: who (which admin credential), when, what, on which target.

    Attributes:
        id (int):
        created_at (datetime.datetime):
        credential_id (None | UUID): The admin credential that acted.
        credential_name (str):
        action (str): The control: `clear_task_instance`, `mark_task_instance`, `mark_dag_run`, `cancel_dag_run` or
            `delete_dag` (more may come).
        dag_id (None | str):
        run_id (None | str):
        task_instance_id (None | UUID):
        details (AuditEventDetails): The control's arguments and what it changed.
    """

    id: int
    created_at: datetime.datetime
    credential_id: None | UUID
    credential_name: str
    action: str
    dag_id: None | str
    run_id: None | str
    task_instance_id: None | UUID
    details: AuditEventDetails
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        created_at = self.created_at.isoformat()

        credential_id: None | str
        if isinstance(self.credential_id, UUID):
            credential_id = str(self.credential_id)
        else:
            credential_id = self.credential_id

        credential_name = self.credential_name

        action = self.action

        dag_id: None | str
        dag_id = self.dag_id

        run_id: None | str
        run_id = self.run_id

        task_instance_id: None | str
        if isinstance(self.task_instance_id, UUID):
            task_instance_id = str(self.task_instance_id)
        else:
            task_instance_id = self.task_instance_id

        details = self.details.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "created_at": created_at,
                "credential_id": credential_id,
                "credential_name": credential_name,
                "action": action,
                "dag_id": dag_id,
                "run_id": run_id,
                "task_instance_id": task_instance_id,
                "details": details,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_event_details import AuditEventDetails

        d = dict(src_dict)
        id = d.pop("id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_credential_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                credential_id_type_0 = UUID(data)

                return credential_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        credential_id = _parse_credential_id(d.pop("credential_id"))

        credential_name = d.pop("credential_name")

        action = d.pop("action")

        def _parse_dag_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        dag_id = _parse_dag_id(d.pop("dag_id"))

        def _parse_run_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        run_id = _parse_run_id(d.pop("run_id"))

        def _parse_task_instance_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                task_instance_id_type_0 = UUID(data)

                return task_instance_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        task_instance_id = _parse_task_instance_id(d.pop("task_instance_id"))

        details = AuditEventDetails.from_dict(d.pop("details"))

        audit_event = cls(
            id=id,
            created_at=created_at,
            credential_id=credential_id,
            credential_name=credential_name,
            action=action,
            dag_id=dag_id,
            run_id=run_id,
            task_instance_id=task_instance_id,
            details=details,
        )

        audit_event.additional_properties = d
        return audit_event

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
