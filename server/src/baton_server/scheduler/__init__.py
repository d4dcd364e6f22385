"""The scheduler: DAG runs, dependencies, retries, heartbeat and execution timeouts, queueing.

It runs inside the API server (``BATON_RUN_SCHEDULER=true``) or alone (``baton-server
scheduler``); any number of copies may run against one PostgreSQL database.
"""

from baton_server.scheduler.loop import PassReport, Scheduler, advance_run, after_attempt_ended

__all__ = ["PassReport", "Scheduler", "advance_run", "after_attempt_ended"]
