"""The schemathesis hooks keep generated input away from the worker, DAG, connection and pool they rely on."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from baton_conformance._st_hooks import _spare_the_suites_own

SETTINGS = {"worker_name": "schemathesis_x", "dag_id": "st_x", "connection_id": "st_x"}


def _case(operation_id: str, path: dict[str, Any] | None = None, body: Any = None) -> Any:
    operation = SimpleNamespace(definition=SimpleNamespace(raw={"operationId": operation_id}))
    return SimpleNamespace(operation=operation, path_parameters=path, body=body)


def _state() -> Any:
    return SimpleNamespace(settings=SETTINGS)


def test__register_worker__suites_name__is_registered_under_another_name() -> None:
    # A re-registration under the suite's name would change the queues its worker serves.
    case = _case("register_worker", body={"name": "schemathesis_x", "queues": ["k"], "capacity": 1})
    _spare_the_suites_own(case, _state())
    assert case.body["name"] != "schemathesis_x"
    assert case.body["queues"] == ["k"]


def test__register_dags__suites_dag__is_registered_under_another_id() -> None:
    dags = [{"dag_id": "st_x", "tasks": []}, {"dag_id": "other", "tasks": []}]
    case = _case("register_dags", body={"dags": dags})
    _spare_the_suites_own(case, _state())
    assert [dag["dag_id"] for dag in case.body["dags"]][1] == "other"
    assert case.body["dags"][0]["dag_id"] not in {"st_x", "other"}


@pytest.mark.parametrize(
    ("operation_id", "parameter"),
    [
        ("delete_dag", "dag_id"),
        ("update_dag", "dag_id"),
        ("admin_set_connection", "connection_id"),
        ("admin_delete_connection", "connection_id"),
    ],
)
def test__changes_to_the_suites_dag_or_connection__go_elsewhere(operation_id: str, parameter: str) -> None:
    case = _case(operation_id, path={parameter: "st_x"})
    _spare_the_suites_own(case, _state())
    assert case.path_parameters[parameter] != "st_x"


@pytest.mark.parametrize("operation_id", ["admin_set_pool", "admin_delete_pool"])
def test__changes_to_the_default_pool__go_elsewhere(operation_id: str) -> None:
    # At 0 slots it stopped every later claim: the suite's live attempts and the client matrix's.
    case = _case(operation_id, path={"name": "default_pool"})
    _spare_the_suites_own(case, _state())
    assert case.path_parameters["name"] != "default_pool"
    case = _case(operation_id, path={"name": "reports"})
    _spare_the_suites_own(case, _state())
    assert case.path_parameters == {"name": "reports"}


def test__other_names__are_left_as_generated() -> None:
    case = _case("register_worker", body={"name": "someone", "queues": ["k"]})
    _spare_the_suites_own(case, _state())
    assert case.body == {"name": "someone", "queues": ["k"]}
    case = _case("delete_dag", path={"dag_id": "else"})
    _spare_the_suites_own(case, _state())
    assert case.path_parameters == {"dag_id": "else"}
