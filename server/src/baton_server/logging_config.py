"""Server log output: plain text (uvicorn's default), or JSON lines with the request id.

``BATON_LOG_FORMAT=json`` picks the JSON lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from baton_server.api.observe import current_request_id
from baton_server.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TRACE = 5
"""uvicorn's level below DEBUG (``BATON_LOG_LEVEL=trace``), named here too: the scheduler's process never
imports uvicorn, and the logging module knew no level 'TRACE' there."""
logging.addLevelName(TRACE, "TRACE")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request id inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_logging_config(level: str) -> dict[str, Any]:
    """A ``dictConfig`` that sends every logger, uvicorn's included, as JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def uvicorn_log_config(settings: Settings) -> dict[str, Any] | None:
    """What to pass uvicorn as ``log_config``: None keeps its own (text) configuration."""
    return json_logging_config(settings.log_level) if settings.log_format == "json" else None


def configure_process_logging(settings: Settings) -> None:
    """Configure logging for a process without uvicorn (``baton-server scheduler``, ``db clean``)."""
    if settings.log_format == "json":
        logging.config.dictConfig(json_logging_config(settings.log_level))
    else:
        logging.basicConfig(level=settings.log_level.upper(), format=TEXT_FORMAT)
