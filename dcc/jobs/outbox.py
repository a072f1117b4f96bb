"""Scheduling work: an outbox row now, an RQ job once it is due and committed.

``schedule()`` only adds a row to the caller's transaction. After the commit, rows due now are
handed to RQ at once; work due later waits here, at its own ``run_at``, and :func:`sweep`
enqueues it when due, so no RQ scheduler (and no scheduler lock a dead worker could hold) sits
between a callback and its time. The sweep also enqueues what Redis missed (an outage during
the hand-over, a flushed Redis, a worker killed mid-job) and the retries of failed work, which
wait here too (``run_at`` moved by the task's backoff). Any number of sweepers may run: each
claims rows with ``SKIP LOCKED`` and a row's RQ job id is derived from the row, so the sweeper
can ask RQ whether it is still alive.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import redis
from flask import current_app, has_app_context
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from sqlalchemy import Select, case, event, func, select, update
from sqlalchemy.orm import Session

from dcc import clock, logs
from dcc.db import dialect_of, insert_ignoring
from dcc.jobs import registry
from dcc.jobs.models import OutboxJob
from dcc.queues import QUEUE_NAMES

log = logging.getLogger(__name__)

#: A job handed to RQ this long ago and not done is looked up again (RQ may have lost it).
LEASE = dt.timedelta(seconds=60)
#: Rows one sweep looks at; a bigger backlog takes a few passes.
SWEEP_BATCH = 1000
_AFTER_COMMIT_KEY = "dcc.outbox.new"
_REDIS_KEY = "dcc.outbox.broker"
_ALIVE = {JobStatus.QUEUED.value, JobStatus.STARTED.value, JobStatus.DEFERRED.value}
#: Registries a finished, failed or abandoned job may be left in when its row runs again.
_LEFTOVER_REGISTRIES = (
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
)


def open_work() -> tuple[Any, ...]:
    """Rows not done and not canceled (failed ones included)."""
    return (OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None))


@dataclass(frozen=True)
class Scheduled:
    """Work added to the outbox: what the after-commit hand-over to RQ needs."""

    id: int
    task: str
    queue: str
    run_at: dt.datetime


def schedule(
    session: Session,
    task: str,
    *,
    run_at: dt.datetime | None = None,
    key: str | None = None,
    again: bool = False,
    **args: Any,
) -> Scheduled:
    """Add ``task(**args)`` to the caller's transaction, due at ``run_at`` (default now; a time
    already past counts as now, so that lateness is measured from when the work was known).

    With ``key`` the work happens once: pending work with the same key is kept (moved to the
    new ``run_at``) and finished work is not repeated, unless ``again`` asks for another round
    (a callback that must ring again later).
    """
    if key is not None:
        return schedule_all(session, [Plan(task, key, run_at, args)], again=again)[0]
    now = clock.now()
    return _add(session, task, max(run_at or now, now), None, args)


@dataclass(frozen=True)
class Plan:
    """One keyed piece of work for :func:`schedule_all`."""

    task: str
    key: str
    run_at: dt.datetime | None = None
    args: dict[str, Any] = field(default_factory=dict)


def schedule_all(session: Session, plans: list[Plan], *, again: bool = False) -> list[Scheduled]:
    """Several keyed pieces of work in one statement (a new lead's first call and SLA check),
    each as :func:`schedule` would add it.

    Most keys are new (they name a new lead or call), so the insert comes first; a key already
    on record is settled by :func:`_key_taken`.
    """
    now = clock.now()
    wanted = [
        Scheduled(0, plan.task, registry.get(plan.task).queue, max(plan.run_at or now, now))
        for plan in plans
    ]
    request_id = logs.current_request_id()
    rows = [
        {
            "task": w.task,
            "args": p.args,
            "queue": w.queue,
            "run_at": w.run_at,
            "dedupe_key": p.key,
            "request_id": request_id,
        }
        for p, w in zip(plans, wanted, strict=True)
    ]
    statement = insert_ignoring(
        dialect_of(session), OutboxJob.__table__, ("dedupe_key",), ("id", "dedupe_key")
    )
    session.flush()
    created = {key: ident for ident, key in session.connection().execute(statement, rows)}
    return [
        _remember(session, replace(want, id=created[plan.key]))
        if plan.key in created
        else _key_taken(session, plan, want, again=again)
        for plan, want in zip(plans, wanted, strict=True)
    ]


def cancel(session: Session, key: str) -> None:
    """Work with ``key`` not started yet is no longer wanted: it never runs (a worker that
    was handed it already finds it canceled)."""
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.dedupe_key == key, *open_work(), OutboxJob.failed_at.is_(None))
        .values(canceled_at=clock.now())
    )


def _key_taken(session: Session, plan: Plan, want: Scheduled, *, again: bool) -> Scheduled:
    """Pending work with the key is kept (moved to the new time); finished work is not
    repeated unless ``again`` asks for another round."""
    pending = session.scalar(
        select(OutboxJob).where(OutboxJob.dedupe_key == plan.key).with_for_update()
    )
    if pending is not None:
        if pending.done_at is None and pending.canceled_at is None and pending.failed_at is None:
            if pending.run_at != want.run_at:
                pending.run_at, pending.enqueued_at = want.run_at, None
                return _remember(session, _scheduled(pending))
            return _scheduled(pending)
        if not again:
            return _scheduled(pending)
        pending.dedupe_key = None  # the finished round frees its key for the next one
        session.flush()
    return _add(session, plan.task, want.run_at, plan.key, plan.args)


def _add(
    session: Session, task: str, when: dt.datetime, key: str | None, args: dict[str, Any]
) -> Scheduled:
    row = OutboxJob(
        task=task,
        args=args,
        queue=registry.get(task).queue,
        run_at=when,
        dedupe_key=key,
        request_id=logs.current_request_id(),
    )
    session.add(row)
    session.flush()
    return _remember(session, _scheduled(row))


def _scheduled(row: OutboxJob) -> Scheduled:
    return Scheduled(row.id, row.task, row.queue, row.run_at)


def _remember(session: Session, row: Scheduled) -> Scheduled:
    if row.run_at > clock.now():
        return row  # later work waits here; the sweeper enqueues it when due
    pending: dict[int, Scheduled] = session.info.setdefault(_AFTER_COMMIT_KEY, {})
    pending[row.id] = row
    if has_app_context():
        session.info.setdefault(_REDIS_KEY, current_app.extensions["dcc.broker"])
    return row


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    """Hand the committed rows to RQ. Failure is fine: the sweeper enqueues them later."""
    rows: dict[int, Scheduled] = session.info.pop(_AFTER_COMMIT_KEY, {})
    broker = session.info.get(_REDIS_KEY)
    if not rows or broker is None:
        return
    try:
        conn = broker.connection
    except Exception as error:  # the embedded server could not start: the sweeper retries
        log.warning("outbox: no Redis (%s); %d job(s) left for the sweeper", error, len(rows))
        return
    _enqueue_all(conn, list(rows.values()))


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop(_AFTER_COMMIT_KEY, None)


def rq_job_id(outbox_id: int) -> str:
    return f"dcc-outbox-{outbox_id}"


def outbox_id_of(job_id: str) -> int | None:
    """The outbox row of an RQ job id (None for a job that is not ours)."""
    prefix = "dcc-outbox-"
    if job_id.startswith(prefix) and job_id[len(prefix) :].isdigit():
        return int(job_id[len(prefix) :])
    return None


def _enqueue_all(conn: redis.Redis, rows: list[Scheduled], *, replacing: bool = False) -> bool:
    """Hand ``rows`` to RQ in one round trip (one Redis transaction); False when Redis fails,
    and then none of them is enqueued: the sweeper takes them all.

    ``replacing`` first clears what an earlier run of the same row left in RQ (a failed
    attempt, a job RQ's cleanup found abandoned), so the row's one job id starts afresh.
    """
    try:
        if replacing:
            with conn.pipeline(transaction=False) as cleanup:
                for row in rows:
                    job_id = rq_job_id(row.id)
                    for kind in _LEFTOVER_REGISTRIES:
                        cleanup.zrem(kind(row.queue, connection=conn).key, job_id)
                    cleanup.delete(Job.key_for(job_id))
                cleanup.execute()
        with conn.pipeline() as pipeline:
            for row in rows:
                spec = registry.get(row.task)
                job_id = rq_job_id(row.id)
                Queue(row.queue, connection=conn).enqueue(
                    "dcc.jobs.runner.run",
                    row.id,
                    job_id=job_id,
                    job_timeout=spec.timeout,
                    failure_ttl=7 * 24 * 3600,
                    result_ttl=3600,
                    description=f"{row.task} (outbox {row.id})",
                    pipeline=pipeline,
                )
            pipeline.execute()
    except redis.RedisError as error:
        ids = ", ".join(str(row.id) for row in rows)
        log.warning("outbox %s not enqueued (Redis: %s); the sweeper will retry", ids, error)
        return False
    return True


def due(session: Session, now: dt.datetime, *, limit: int = SWEEP_BATCH) -> list[OutboxJob]:
    """Open work due by ``now`` that is not (or no longer) known to be in RQ's hands, oldest
    first, claimed for this transaction: another sweeper skips these rows, and so do rows a
    worker is running (it holds their lock)."""
    query = (
        select(OutboxJob)
        .where(
            *open_work(),
            OutboxJob.failed_at.is_(None),
            OutboxJob.run_at <= now,
            OutboxJob.enqueued_at.is_(None) | (OutboxJob.enqueued_at < now - LEASE),
        )
        .order_by(OutboxJob.run_at, OutboxJob.id)
        .limit(limit)
    )
    if dialect_of(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def sweep(session: Session, conn: redis.Redis, *, limit: int = SWEEP_BATCH) -> int:
    """Enqueue the work due by :func:`dcc.clock.now` that RQ does not hold; returns how many.

    First the jobs whose worker died mid-run (their heartbeat in RQ's started registry has
    lapsed) are handed back to RQ's own cleanup and their rows made due again, so they run
    again within about a minute and a half of the death instead of waiting for a worker's
    ten-minute maintenance. Rows whose job is queued or running are left alone.
    """
    now = clock.now()
    abandoned = _abandoned(conn, now)
    if abandoned:
        for row in session.scalars(
            select(OutboxJob).where(OutboxJob.id.in_(abandoned), OutboxJob.done_at.is_(None))
        ):
            row.enqueued_at = None
        session.flush()
    rows = [row for row in due(session, now, limit=limit) if _known(row, now)]
    if not rows:
        return 0
    with conn.pipeline(transaction=False) as pipeline:
        for row in rows:
            pipeline.hget(Job.key_for(rq_job_id(row.id)), "status")
        statuses = pipeline.execute()
    fresh, stale = [], []
    for row, raw in zip(rows, statuses, strict=True):
        status = raw.decode() if isinstance(raw, bytes) else raw
        if status in _ALIVE:
            row.enqueued_at = now  # in RQ's hands (enqueued after its commit): look again later
        elif status is None:
            fresh.append(row)
        else:
            stale.append(row)
    count = 0
    for batch, replacing in ((fresh, False), (stale, True)):
        if batch and _enqueue_all(conn, [_scheduled(r) for r in batch], replacing=replacing):
            for row in batch:
                row.enqueued_at = now
            count += len(batch)
    return count


def _known(row: OutboxJob, now: dt.datetime) -> bool:
    """False (and the row marked failed) for work whose task this release does not have:
    one such row must not stop the sweep of all the others."""
    try:
        registry.get(row.task)
    except LookupError as error:
        row.failed_at, row.last_error = now, str(error)
        log.error("outbox %d: %s; marked failed", row.id, error, extra={"outbox_id": row.id})
        return False
    return True


def _abandoned(conn: redis.Redis, now: dt.datetime) -> set[int]:
    """Rows whose RQ job was started by a worker that has stopped sending heartbeats."""
    found: set[int] = set()
    cutoff = now.timestamp()
    for name in QUEUE_NAMES:
        started = StartedJobRegistry(name, connection=conn)
        expired = started.get_expired_job_ids(cutoff)
        if not expired:
            continue
        started.cleanup(cutoff)  # RQ records them as failed (AbandonedJobError)
        for entry in expired:  # job ids, parsed by the registry
            outbox_id = outbox_id_of(entry)
            if outbox_id is not None:
                found.add(outbox_id)
    return found


# --- what operators watch: /healthz and /metrics ------------------------------------------


def oldest_overdue_query(now: dt.datetime) -> Select[Any]:
    """The due time of the oldest work that is due and not done (work that gave up after its
    retries is counted apart, as failed): one index probe."""
    return select(func.min(OutboxJob.run_at)).where(
        *open_work(), OutboxJob.failed_at.is_(None), OutboxJob.run_at <= now
    )


def oldest_overdue(session: Session, now: dt.datetime) -> dt.datetime | None:
    oldest: dt.datetime | None = session.scalar(oldest_overdue_query(now))
    return oldest


#: The states of open work, as /metrics reports them.
BACKLOG_STATES = ("scheduled", "due", "queued", "retrying", "failed")


def backlog(session: Session, now: dt.datetime) -> dict[str, int]:
    """Open work by state: ``scheduled`` (not due yet), ``due`` (waiting for the sweeper),
    ``queued`` (in RQ's hands), ``retrying`` (failed, next attempt later), ``failed`` (gave up).
    """
    state = case(
        (OutboxJob.failed_at.is_not(None), "failed"),
        (
            OutboxJob.run_at > now,
            case((OutboxJob.last_error.is_not(None), "retrying"), else_="scheduled"),
        ),
        (OutboxJob.enqueued_at.is_(None), "due"),
        else_="queued",
    )
    counts = dict.fromkeys(BACKLOG_STATES, 0)
    for name, n in session.execute(select(state, func.count()).where(*open_work()).group_by(state)):
        counts[name] = n
    return counts
