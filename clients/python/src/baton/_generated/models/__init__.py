"""Contains all the data models used in inputs/outputs"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audit_event import AuditEvent
    from .audit_event_details import AuditEventDetails
    from .audit_event_list import AuditEventList
    from .backfill import Backfill
    from .backfill_create import BackfillCreate
    from .backfill_list import BackfillList
    from .backfill_state import BackfillState
    from .claim_workloads_payload import ClaimWorkloadsPayload
    from .claimed_workloads import ClaimedWorkloads
    from .clear_task_instance_payload import ClearTaskInstancePayload
    from .cleared_task_instances import ClearedTaskInstances
    from .connection_entry import ConnectionEntry
    from .connection_entry_extra_type_0 import ConnectionEntryExtraType0
    from .connection_page import ConnectionPage
    from .connection_put_body import ConnectionPutBody
    from .connection_put_body_extra_type_0 import ConnectionPutBodyExtraType0
    from .connection_response import ConnectionResponse
    from .connection_response_extra_type_0 import ConnectionResponseExtraType0
    from .dag import Dag
    from .dag_description import DagDescription
    from .dag_list import DagList
    from .dag_run import DagRun
    from .dag_run_conf import DagRunConf
    from .dag_run_detail import DagRunDetail
    from .dag_run_detail_conf import DagRunDetailConf
    from .dag_run_detail_run_type import DagRunDetailRunType
    from .dag_run_info import DagRunInfo
    from .dag_run_info_conf import DagRunInfoConf
    from .dag_run_info_run_type import DagRunInfoRunType
    from .dag_run_list import DagRunList
    from .dag_run_run_type import DagRunRunType
    from .dag_run_state import DagRunState
    from .dag_schedule import DagSchedule
    from .dag_summary import DagSummary
    from .deleted_dag import DeletedDag
    from .error_body import ErrorBody
    from .execute_task_workload import ExecuteTaskWorkload
    from .health_status import HealthStatus
    from .log_batch import LogBatch
    from .log_batch_accepted import LogBatchAccepted
    from .log_line import LogLine
    from .log_line_fields_type_0 import LogLineFieldsType0
    from .log_line_level import LogLineLevel
    from .log_page import LogPage
    from .log_record_out import LogRecordOut
    from .log_record_out_fields_type_0 import LogRecordOutFieldsType0
    from .log_record_out_level import LogRecordOutLevel
    from .mark_state import MarkState
    from .mark_state_payload import MarkStatePayload
    from .pool import Pool
    from .pool_list import PoolList
    from .pool_put_body import PoolPutBody
    from .previous_successful_run import PreviousSuccessfulRun
    from .previous_successful_run_response import PreviousSuccessfulRunResponse
    from .refused_task_token import RefusedTaskToken
    from .register_dags_payload import RegisterDagsPayload
    from .register_worker_payload import RegisterWorkerPayload
    from .registered_dag import RegisteredDag
    from .registered_dags import RegisteredDags
    from .registered_schedule import RegisteredSchedule
    from .registered_task import RegisteredTask
    from .reprocess_behavior import ReprocessBehavior
    from .task_description import TaskDescription
    from .task_instance_detail import TaskInstanceDetail
    from .task_instance_identity import TaskInstanceIdentity
    from .task_instance_state import TaskInstanceState
    from .task_instance_summary import TaskInstanceSummary
    from .task_state_counts import TaskStateCounts
    from .task_state_counts_counts import TaskStateCountsCounts
    from .task_token import TaskToken
    from .task_tokens import TaskTokens
    from .task_tokens_payload import TaskTokensPayload
    from .ti_heartbeat_payload import TIHeartbeatPayload
    from .ti_run_context import TIRunContext
    from .ti_run_payload import TIRunPayload
    from .ti_state_payload import TIStatePayload
    from .ti_state_payload_state import TIStatePayloadState
    from .ti_state_response import TIStateResponse
    from .ti_state_response_state import TIStateResponseState
    from .token_refusal import TokenRefusal
    from .trigger_dag_run_payload import TriggerDagRunPayload
    from .trigger_dag_run_payload_conf import TriggerDagRunPayloadConf
    from .trigger_rule import TriggerRule
    from .update_dag_payload import UpdateDagPayload
    from .variable_entry import VariableEntry
    from .variable_grants import VariableGrants
    from .variable_page import VariablePage
    from .variable_put_body import VariablePutBody
    from .variable_response import VariableResponse
    from .worker import Worker
    from .worker_list import WorkerList
    from .worker_state import WorkerState
    from .worker_summary import WorkerSummary
    from .x_com_put_body import XComPutBody
    from .x_com_response import XComResponse

_SOURCES = {
    "AuditEvent": "audit_event",
    "AuditEventDetails": "audit_event_details",
    "AuditEventList": "audit_event_list",
    "Backfill": "backfill",
    "BackfillCreate": "backfill_create",
    "BackfillList": "backfill_list",
    "BackfillState": "backfill_state",
    "ClaimWorkloadsPayload": "claim_workloads_payload",
    "ClaimedWorkloads": "claimed_workloads",
    "ClearTaskInstancePayload": "clear_task_instance_payload",
    "ClearedTaskInstances": "cleared_task_instances",
    "ConnectionEntry": "connection_entry",
    "ConnectionEntryExtraType0": "connection_entry_extra_type_0",
    "ConnectionPage": "connection_page",
    "ConnectionPutBody": "connection_put_body",
    "ConnectionPutBodyExtraType0": "connection_put_body_extra_type_0",
    "ConnectionResponse": "connection_response",
    "ConnectionResponseExtraType0": "connection_response_extra_type_0",
    "Dag": "dag",
    "DagDescription": "dag_description",
    "DagList": "dag_list",
    "DagRun": "dag_run",
    "DagRunConf": "dag_run_conf",
    "DagRunDetail": "dag_run_detail",
    "DagRunDetailConf": "dag_run_detail_conf",
    "DagRunDetailRunType": "dag_run_detail_run_type",
    "DagRunInfo": "dag_run_info",
    "DagRunInfoConf": "dag_run_info_conf",
    "DagRunInfoRunType": "dag_run_info_run_type",
    "DagRunList": "dag_run_list",
    "DagRunRunType": "dag_run_run_type",
    "DagRunState": "dag_run_state",
    "DagSchedule": "dag_schedule",
    "DagSummary": "dag_summary",
    "DeletedDag": "deleted_dag",
    "ErrorBody": "error_body",
    "ExecuteTaskWorkload": "execute_task_workload",
    "HealthStatus": "health_status",
    "LogBatch": "log_batch",
    "LogBatchAccepted": "log_batch_accepted",
    "LogLine": "log_line",
    "LogLineFieldsType0": "log_line_fields_type_0",
    "LogLineLevel": "log_line_level",
    "LogPage": "log_page",
    "LogRecordOut": "log_record_out",
    "LogRecordOutFieldsType0": "log_record_out_fields_type_0",
    "LogRecordOutLevel": "log_record_out_level",
    "MarkState": "mark_state",
    "MarkStatePayload": "mark_state_payload",
    "Pool": "pool",
    "PoolList": "pool_list",
    "PoolPutBody": "pool_put_body",
    "PreviousSuccessfulRun": "previous_successful_run",
    "PreviousSuccessfulRunResponse": "previous_successful_run_response",
    "RefusedTaskToken": "refused_task_token",
    "RegisterDagsPayload": "register_dags_payload",
    "RegisterWorkerPayload": "register_worker_payload",
    "RegisteredDag": "registered_dag",
    "RegisteredDags": "registered_dags",
    "RegisteredSchedule": "registered_schedule",
    "RegisteredTask": "registered_task",
    "ReprocessBehavior": "reprocess_behavior",
    "TaskDescription": "task_description",
    "TaskInstanceDetail": "task_instance_detail",
    "TaskInstanceIdentity": "task_instance_identity",
    "TaskInstanceState": "task_instance_state",
    "TaskInstanceSummary": "task_instance_summary",
    "TaskStateCounts": "task_state_counts",
    "TaskStateCountsCounts": "task_state_counts_counts",
    "TaskToken": "task_token",
    "TaskTokens": "task_tokens",
    "TaskTokensPayload": "task_tokens_payload",
    "TIHeartbeatPayload": "ti_heartbeat_payload",
    "TIRunContext": "ti_run_context",
    "TIRunPayload": "ti_run_payload",
    "TIStatePayload": "ti_state_payload",
    "TIStatePayloadState": "ti_state_payload_state",
    "TIStateResponse": "ti_state_response",
    "TIStateResponseState": "ti_state_response_state",
    "TokenRefusal": "token_refusal",
    "TriggerDagRunPayload": "trigger_dag_run_payload",
    "TriggerDagRunPayloadConf": "trigger_dag_run_payload_conf",
    "TriggerRule": "trigger_rule",
    "UpdateDagPayload": "update_dag_payload",
    "VariableEntry": "variable_entry",
    "VariableGrants": "variable_grants",
    "VariablePage": "variable_page",
    "VariablePutBody": "variable_put_body",
    "VariableResponse": "variable_response",
    "Worker": "worker",
    "WorkerList": "worker_list",
    "WorkerState": "worker_state",
    "WorkerSummary": "worker_summary",
    "XComPutBody": "x_com_put_body",
    "XComResponse": "x_com_response",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = (
    "AuditEvent",
    "AuditEventDetails",
    "AuditEventList",
    "Backfill",
    "BackfillCreate",
    "BackfillList",
    "BackfillState",
    "ClaimWorkloadsPayload",
    "ClaimedWorkloads",
    "ClearTaskInstancePayload",
    "ClearedTaskInstances",
    "ConnectionEntry",
    "ConnectionEntryExtraType0",
    "ConnectionPage",
    "ConnectionPutBody",
    "ConnectionPutBodyExtraType0",
    "ConnectionResponse",
    "ConnectionResponseExtraType0",
    "Dag",
    "DagDescription",
    "DagList",
    "DagRun",
    "DagRunConf",
    "DagRunDetail",
    "DagRunDetailConf",
    "DagRunDetailRunType",
    "DagRunInfo",
    "DagRunInfoConf",
    "DagRunInfoRunType",
    "DagRunList",
    "DagRunRunType",
    "DagRunState",
    "DagSchedule",
    "DagSummary",
    "DeletedDag",
    "ErrorBody",
    "ExecuteTaskWorkload",
    "HealthStatus",
    "LogBatch",
    "LogBatchAccepted",
    "LogLine",
    "LogLineFieldsType0",
    "LogLineLevel",
    "LogPage",
    "LogRecordOut",
    "LogRecordOutFieldsType0",
    "LogRecordOutLevel",
    "MarkState",
    "MarkStatePayload",
    "Pool",
    "PoolList",
    "PoolPutBody",
    "PreviousSuccessfulRun",
    "PreviousSuccessfulRunResponse",
    "RefusedTaskToken",
    "RegisterDagsPayload",
    "RegisterWorkerPayload",
    "RegisteredDag",
    "RegisteredDags",
    "RegisteredSchedule",
    "RegisteredTask",
    "ReprocessBehavior",
    "TIHeartbeatPayload",
    "TIRunContext",
    "TIRunPayload",
    "TIStatePayload",
    "TIStatePayloadState",
    "TIStateResponse",
    "TIStateResponseState",
    "TaskDescription",
    "TaskInstanceDetail",
    "TaskInstanceIdentity",
    "TaskInstanceState",
    "TaskInstanceSummary",
    "TaskStateCounts",
    "TaskStateCountsCounts",
    "TaskToken",
    "TaskTokens",
    "TaskTokensPayload",
    "TokenRefusal",
    "TriggerDagRunPayload",
    "TriggerDagRunPayloadConf",
    "TriggerRule",
    "UpdateDagPayload",
    "VariableEntry",
    "VariableGrants",
    "VariablePage",
    "VariablePutBody",
    "VariableResponse",
    "Worker",
    "WorkerList",
    "WorkerState",
    "WorkerSummary",
    "XComPutBody",
    "XComResponse",
)
