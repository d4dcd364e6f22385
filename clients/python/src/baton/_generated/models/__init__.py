"""Contains all the data models used in inputs/outputs"""

from .connection_entry import ConnectionEntry
from .connection_entry_extra_type_0 import ConnectionEntryExtraType0
from .connection_page import ConnectionPage
from .connection_put_body import ConnectionPutBody
from .connection_put_body_extra_type_0 import ConnectionPutBodyExtraType0
from .connection_response import ConnectionResponse
from .connection_response_extra_type_0 import ConnectionResponseExtraType0
from .dag_run_info import DagRunInfo
from .dag_run_info_conf import DagRunInfoConf
from .error_body import ErrorBody
from .health_status import HealthStatus
from .log_batch import LogBatch
from .log_batch_accepted import LogBatchAccepted
from .log_line import LogLine
from .log_line_fields_type_0 import LogLineFieldsType0
from .log_line_level import LogLineLevel
from .log_page import LogPage
from .log_record_out import LogRecordOut
from .log_record_out_fields_type_0 import LogRecordOutFieldsType0
from .previous_successful_run import PreviousSuccessfulRun
from .previous_successful_run_response import PreviousSuccessfulRunResponse
from .task_instance_detail import TaskInstanceDetail
from .task_instance_identity import TaskInstanceIdentity
from .task_state_counts import TaskStateCounts
from .task_state_counts_counts import TaskStateCountsCounts
from .ti_heartbeat_payload import TIHeartbeatPayload
from .ti_run_context import TIRunContext
from .ti_run_payload import TIRunPayload
from .ti_state_payload import TIStatePayload
from .ti_state_payload_state import TIStatePayloadState
from .ti_state_response import TIStateResponse
from .ti_state_response_state import TIStateResponseState
from .variable_entry import VariableEntry
from .variable_page import VariablePage
from .variable_put_body import VariablePutBody
from .variable_response import VariableResponse
from .x_com_put_body import XComPutBody
from .x_com_response import XComResponse

__all__ = (
    "ConnectionEntry",
    "ConnectionEntryExtraType0",
    "ConnectionPage",
    "ConnectionPutBody",
    "ConnectionPutBodyExtraType0",
    "ConnectionResponse",
    "ConnectionResponseExtraType0",
    "DagRunInfo",
    "DagRunInfoConf",
    "ErrorBody",
    "HealthStatus",
    "LogBatch",
    "LogBatchAccepted",
    "LogLine",
    "LogLineFieldsType0",
    "LogLineLevel",
    "LogPage",
    "LogRecordOut",
    "LogRecordOutFieldsType0",
    "PreviousSuccessfulRun",
    "PreviousSuccessfulRunResponse",
    "TIHeartbeatPayload",
    "TIRunContext",
    "TIRunPayload",
    "TIStatePayload",
    "TIStatePayloadState",
    "TIStateResponse",
    "TIStateResponseState",
    "TaskInstanceDetail",
    "TaskInstanceIdentity",
    "TaskStateCounts",
    "TaskStateCountsCounts",
    "VariableEntry",
    "VariablePage",
    "VariablePutBody",
    "VariableResponse",
    "XComPutBody",
    "XComResponse",
)
