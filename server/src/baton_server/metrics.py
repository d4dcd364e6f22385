"""Prometheus metrics of the server, in a registry of its own (no module-level state).

What is counted where: requests (rate, latency, status by operation and version) and heartbeats
by :mod:`baton_server.api.observe`; claimed workloads by the claim route; scheduler passes by the
scheduler; queue depth and running task instances are read from the database when scraped, and
the database pool from the scraped process's pool.

A server of several processes (``BATON_PROCESSES``) keeps its counters, histograms and pool gauges
in files of a folder the processes share (prometheus_client's multiprocess mode, which
``baton-server serve`` switches on through ``PROMETHEUS_MULTIPROC_DIR`` before the library is
imported): whichever process answers a scrape adds up every process's figures. The pool gauges
then follow each checkout and checkin instead of being read when scraped, and count live
processes only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from baton_server.db.tables import TaskInstanceRecord
from baton_server.processes import SHARED_METRICS_VARIABLE
from baton_server.services.states import TaskInstanceState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format."""

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PASS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_HEARTBEATS = {"heartbeat_task_instance": "task", "heartbeat_worker": "worker"}


class _TaskCounts(Collector):
    """Queued and running task instances by queue, as the last scrape read them from the database."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int]] = []

    def collect(self) -> Iterator[Metric]:
        """The two gauges, from the rows read at this scrape."""
        queued = GaugeMetricFamily(
            "baton_queued_task_instances",
            "Task instances queued and not yet started, by queue (read at scrape time).",
            labels=["queue"],
        )
        running = GaugeMetricFamily(
            "baton_running_task_instances",
            "Task instances running, by queue (read at scrape time).",
            labels=["queue"],
        )
        for state, queue, count in self.rows:
            (queued if state == TaskInstanceState.QUEUED.value else running).add_metric([queue], count)
        yield queued
        yield running


class Metrics:
    """The process's metrics; record with the methods, expose with :meth:`render`."""

    def __init__(self) -> None:
        self.shared_dir = os.environ.get(SHARED_METRICS_VARIABLE) or None
        """The folder the server's processes share their figures in; None for one process."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "baton_http_requests",
            "HTTP requests answered, by operation id, API version and status.",
            ["operation", "version", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "baton_http_request_duration_seconds",
            "Time to answer an HTTP request, by operation id and API version.",
            ["operation", "version"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.heartbeats = Counter(
            "baton_heartbeats",
            "Heartbeats of task attempts and workers, by status (204/200: alive; 409/404: told to stop).",
            ["kind", "status"],
            registry=r,
        )
        self.claims = Counter(
            "baton_claimed_workloads", "Workloads handed to workers, by queue.", ["queue"], registry=r
        )
        self._task_counts = _TaskCounts()
        r.register(self._task_counts)
        self.scheduler_pass = Histogram(
            "baton_scheduler_pass_duration_seconds",
            "Duration of the scheduler passes this process led.",
            buckets=_PASS_BUCKETS,
            registry=r,
        )
        self.scheduler_passes = Counter(
            "baton_scheduler_passes",
            "Scheduler passes by outcome: led, skipped (another replica led it), failed.",
            ["outcome"],
            registry=r,
        )
        self.pool_size = Gauge(
            "baton_db_pool_size",
            "Connections the database pool keeps (every process's).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_checked_out = Gauge(
            "baton_db_pool_checked_out",
            "Pooled connections in use right now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_overflow = Gauge(
            "baton_db_pool_overflow",
            "Connections open beyond the pool size right now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def observe_request(self, operation: str, version: str, status: int, seconds: float) -> None:
        """Count one answered request; the label children are looked up once per combination."""
        key = (operation, version, status)
        children = self._request_children.get(key)
        if children is None:
            kind = _HEARTBEATS.get(operation)
            children = (
                self.requests.labels(operation, version, str(status)),
                self.latency.labels(operation, version),
                None if kind is None else self.heartbeats.labels(kind, str(status)),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if children[2] is not None:
            children[2].inc()

    def claimed(self, queues: list[str]) -> None:
        """Count workloads handed out, one queue name per workload."""
        for queue in queues:
            self.claims.labels(queue).inc()

    def watch_pool(self, engine: AsyncEngine) -> None:
        """With shared figures, follow the pool's checkouts and checkins (a scrape reaches one process,
        so the others' pools cannot be read then); with one process, :meth:`refresh` reads it."""
        if self.shared_dir is None:
            return
        pool: Any = engine.pool
        self.pool_size.set(int(pool.size()))
        checked_out = self.pool_checked_out

        def checkout(*_: Any) -> None:
            checked_out.inc()

        def checkin(*_: Any) -> None:
            checked_out.dec()

        event.listen(engine.sync_engine.pool, "checkout", checkout)
        event.listen(engine.sync_engine.pool, "checkin", checkin)

    async def refresh(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Read the gauges that live in the database and the pool (at scrape time, not per request)."""
        if self.shared_dir is None:
            pool: Any = engine.pool
            for gauge, attribute in (
                (self.pool_size, "size"),
                (self.pool_checked_out, "checkedout"),
                (self.pool_overflow, "overflow"),
            ):
                reader = getattr(pool, attribute, None)
                if callable(reader):
                    gauge.set(max(0, int(reader())))
        ti = TaskInstanceRecord
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(ti.state, ti.queue, func.count())
                    .where(ti.state.in_([TaskInstanceState.QUEUED.value, TaskInstanceState.RUNNING.value]))
                    .group_by(ti.state, ti.queue)
                )
            ).all()
        self._task_counts.rows = [(str(state), queue, int(count)) for state, queue, count in rows]

    def render(self) -> bytes:
        """The registry in the Prometheus text format; with shared figures, every process's added up."""
        if self.shared_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.shared_dir)  # type: ignore[no-untyped-call]
        registry.register(self._task_counts)
        return generate_latest(registry)
