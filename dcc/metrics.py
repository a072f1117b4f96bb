"""``GET /metrics``: operator metrics in the Prometheus text format.

- ``dcc_calls_today{status}``: today's call legs (dealer's local day) by status, one grouped
  COUNT at scrape time (indexed by ``calls.created_at``) instead of counters in the webhooks,
  so that every web node reports the same truth and a restart loses nothing
- ``dcc_webhook_duration_seconds{endpoint}``: how long each ``/webhooks/`` request took,
  the commit included (a histogram), and ``dcc_webhook_responses_total{endpoint,status}``
- ``dcc_queue_depth{queue}``, ``dcc_jobs_failed{queue}``: RQ jobs waiting, and in the failed
  registry, per queue
- ``dcc_outbox_backlog``: outbox rows neither done nor canceled; ``dcc_outbox_failing``: those
  of them whose last attempt raised (``last_error`` set); ``dcc_outbox_jobs{state}``: the same
  rows by state (scheduled, due, queued, retrying, failed)
- ``dcc_overdue_work_age_seconds``: how long the oldest due work has waited (0: none)
- ``dcc_schema_at_head``: 1 when the database is at the migration head the code expects
- ``dcc_sweeper_last_pass_age_seconds``: since a sweeper (the scheduler) last finished a pass;
  ``dcc_rq_workers``: RQ workers registered in Redis
- ``dcc_loop_violations{kind}``: broken links of the closed loop found by the last nightly
  loop audit (:mod:`dcc.loop.audit`), and ``dcc_loop_audit_timestamp_seconds``: when it ran
- ``dcc_redis_up``: 0 when Redis could not be asked (the queue figures are then missing)

Counters and histograms are correct across gunicorn's worker processes: with
``PROMETHEUS_MULTIPROC_DIR`` set (``dcc.gunicorn_conf`` sets it), each process writes its
samples there and a scrape sums them (prometheus_client's multiprocess mode). Otherwise each
app has its own :class:`~prometheus_client.CollectorRegistry` (tests build many apps).
With ``DCC_METRICS_TOKEN`` set (required outside the embedded mode), scrapes must send
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

import redis
import rq
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dcc import clock, migrate
from dcc.broker import get_broker
from dcc.calls.models import Call, CallStatus
from dcc.db import get_database
from dcc.jobs import outbox, sweeper
from dcc.jobs.models import OutboxJob
from dcc.loop import audit as loop_audit
from dcc.queues import QUEUE_NAMES
from dcc.reports.period import Period

WEBHOOKS = "/webhooks/"
_AT_HEAD = "1 when the database schema is at the code's migration head"


class DccCollector(Collector):
    """Reads the database and Redis at scrape time; one query or command per figure."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        yield from self._queues()

    def _database(self) -> Iterator[Metric]:
        settings = self.app.extensions["dcc.settings"]
        today = clock.local(clock.now(), settings.timezone).date()
        since = Period(today, today, settings.timezone).utc_start
        session = get_database(self.app).sessionmaker()
        now = clock.now()
        try:
            try:
                versions = {
                    v for (v,) in session.execute(text("SELECT version_num FROM alembic_version"))
                }
            except DBAPIError:  # no schema at all, or no database: the figures below need both
                yield GaugeMetricFamily("dcc_schema_at_head", _AT_HEAD, 0)
                return
            at_head = versions == migrate.heads()
            if not at_head:
                yield GaugeMetricFamily("dcc_schema_at_head", _AT_HEAD, 0)
                return
            by_status = dict.fromkeys((s.value for s in CallStatus), 0)
            rows = session.execute(
                select(Call.status, func.count())
                .where(Call.created_at >= since)
                .group_by(Call.status)
            )
            for status, n in rows:
                by_status[CallStatus(status).value] = n
            open_jobs = (OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None))
            backlog, failing = session.execute(
                select(func.count(), func.count().filter(OutboxJob.last_error.is_not(None))).where(
                    *open_jobs
                )
            ).one()
            last_audit = loop_audit.latest_run(session)
            by_state = outbox.backlog(session, now)
            oldest = outbox.oldest_overdue(session, now)
        finally:
            session.close()
        yield GaugeMetricFamily("dcc_schema_at_head", _AT_HEAD, 1)
        states = GaugeMetricFamily("dcc_outbox_jobs", "Open outbox jobs by state", labels=["state"])
        for state, n in by_state.items():
            states.add_metric([state], n)
        yield states
        yield GaugeMetricFamily(
            "dcc_overdue_work_age_seconds",
            "Seconds the oldest due and unfinished work has waited (0: none)",
            max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        )
        calls = GaugeMetricFamily(
            "dcc_calls_today", "Call legs created today (local day), by status", labels=["status"]
        )
        for value, n in by_status.items():
            calls.add_metric([value], n)
        yield calls
        yield GaugeMetricFamily("dcc_outbox_backlog", "Outbox jobs not done or canceled", backlog)
        yield GaugeMetricFamily(
            "dcc_outbox_failing", "Open outbox jobs whose last attempt failed", failing
        )
        if last_audit is not None:
            loop = GaugeMetricFamily(
                "dcc_loop_violations",
                "Broken links of the closed loop at the last nightly audit, by kind",
                labels=["kind"],
            )
            for kind in loop_audit.KINDS:
                loop.add_metric([kind], last_audit.counts.get(kind, 0))
            yield loop
            yield GaugeMetricFamily(
                "dcc_loop_audit_timestamp_seconds",
                "When the last loop audit ran (Unix time)",
                last_audit.ran_at.timestamp(),
            )

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("dcc_queue_depth", "RQ jobs waiting", labels=["queue"])
        failed = GaugeMetricFamily(
            "dcc_jobs_failed", "RQ jobs in the failed registry", labels=["queue"]
        )
        try:
            connection = get_broker(self.app).connection
            for name in QUEUE_NAMES:
                queue = rq.Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], FailedJobRegistry(queue=queue).count)
            workers = rq.Worker.count(connection=connection)
            last_pass = sweeper.last_pass(connection)
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("dcc_redis_up", "Redis answered the scrape", 0)
            return
        yield GaugeMetricFamily("dcc_redis_up", "Redis answered the scrape", 1)
        yield depth
        yield failed
        yield GaugeMetricFamily("dcc_rq_workers", "RQ workers registered in Redis", workers)
        if last_pass is not None:
            yield GaugeMetricFamily(
                "dcc_sweeper_last_pass_age_seconds",
                "Seconds since a sweeper (the scheduler) last finished a pass",
                max((clock.now() - last_pass).total_seconds(), 0.0),
            )


def multiprocess_mode() -> bool:
    """True under gunicorn's workers: samples are shared through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


_shared: dict[str, Any] = {}


def _instruments(registry: CollectorRegistry | None) -> tuple[Histogram, Counter]:
    """The webhook histogram and counter; in multiprocess mode one pair per process (they
    write to the shared directory, and the scrape reads every process's files)."""
    if registry is None and "latency" in _shared:
        return _shared["latency"], _shared["responses"]
    latency = Histogram(
        "dcc_webhook_duration_seconds",
        "Time to answer a webhook request, commit included",
        ["endpoint"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    responses = Counter(
        "dcc_webhook_responses",
        "Webhook answers by endpoint and status code",
        ["endpoint", "status"],
        registry=registry,
    )
    if registry is None:
        _shared.update(latency=latency, responses=responses)
    return latency, responses


def init_app(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry()
    shared = multiprocess_mode()
    latency, responses = _instruments(None if shared else registry)
    if shared:
        multiprocess.MultiProcessCollector(registry)
    registry.register(DccCollector(app))
    app.extensions["dcc.metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        if request.path.startswith(WEBHOOKS):
            g.dcc_webhook_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        if "dcc_webhook_started" in g:
            endpoint = request.endpoint or "unknown"
            responses.labels(endpoint=endpoint, status=str(response.status_code)).inc()
        return response

    @app.teardown_request
    def _observe(_exc: BaseException | None) -> None:
        # Teardown runs after the commit and even when the handler raised.
        started = g.pop("dcc_webhook_started", None)
        if started is not None:
            endpoint = request.endpoint or "unknown"
            latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    @app.get("/metrics")
    def metrics() -> Any:
        if not _authorized():
            return Response(
                "a bearer token is required\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # content_type, not mimetype: CONTENT_TYPE_LATEST already names its charset.
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    return registry


def _authorized() -> bool:
    token = current_app.extensions["dcc.settings"].metrics_token
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
