"""Scheduling work: an outbox row now, an RQ job once the transaction has committed.

``schedule()`` only adds a row to the caller's transaction. After the commit the rows are
handed to RQ (``enqueue_at`` for later work; RQ's scheduler releases them when due). When Redis
is down the rows simply stay pending and :func:`sweep` enqueues them when it is back; it also
re-enqueues work whose job vanished (a worker killed mid-job, a flushed Redis). The RQ job id
is derived from the row id, so the sweeper can ask RQ whether a row's job is still alive.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import redis
from flask import current_app, has_app_context
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.db import dialect_of, insert_ignoring
from dcc.jobs import registry
from dcc.jobs.models import OutboxJob

log = logging.getLogger(__name__)

#: Work due within this is handed to RQ right after the commit; later work by the sweeper,
#: which runs every few seconds and enqueues it with ``enqueue_at`` well before it is due.
HAND_OVER_NOW = dt.timedelta(seconds=30)
#: A job enqueued this long ago and neither done nor known to RQ is enqueued again.
LEASE = dt.timedelta(seconds=registry.DEFAULT_TIMEOUT * 2)
_AFTER_COMMIT_KEY = "dcc.outbox.new"
_REDIS_KEY = "dcc.outbox.broker"


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
    """Add ``task(**args)`` to the caller's transaction, due at ``run_at`` (default now).

    With ``key`` the work happens once: pending work with the same key is kept (moved to the
    new ``run_at``) and finished work is not repeated, unless ``again`` asks for another round
    (a callback that must ring again later).
    """
    if key is not None:
        return schedule_all(session, [Plan(task, key, run_at, args)], again=again)[0]
    return _add(session, task, run_at or clock.now(), None, args)


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
        Scheduled(0, plan.task, registry.get(plan.task).queue, plan.run_at or now) for plan in plans
    ]
    rows = [
        {"task": w.task, "args": p.args, "queue": w.queue, "run_at": w.run_at, "dedupe_key": p.key}
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


def _key_taken(session: Session, plan: Plan, want: Scheduled, *, again: bool) -> Scheduled:
    """Pending work with the key is kept (moved to the new time); finished work is not
    repeated unless ``again`` asks for another round."""
    pending = session.scalar(
        select(OutboxJob).where(OutboxJob.dedupe_key == plan.key).with_for_update()
    )
    if pending is not None:
        if pending.done_at is None and pending.canceled_at is None:
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
        task=task, args=args, queue=registry.get(task).queue, run_at=when, dedupe_key=key
    )
    session.add(row)
    session.flush()
    return _remember(session, _scheduled(row))


def _scheduled(row: OutboxJob) -> Scheduled:
    return Scheduled(row.id, row.task, row.queue, row.run_at)


def _remember(session: Session, row: Scheduled) -> Scheduled:
    if row.run_at > clock.now() + HAND_OVER_NOW:
        return row  # later work reaches RQ through the sweeper, off the request's path
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


def _enqueue(
    conn: redis.Redis, outbox_id: int, queue_name: str, run_at: dt.datetime, task: str
) -> bool:
    return _enqueue_all(conn, [Scheduled(outbox_id, task, queue_name, run_at)])


def _enqueue_all(conn: redis.Redis, rows: list[Scheduled]) -> bool:
    """Hand ``rows`` to RQ in one round trip (one Redis transaction); False when Redis fails,
    and then none of them is enqueued: the sweeper takes them all."""
    now = clock.now()
    try:
        with conn.pipeline() as pipeline:
            for row in rows:
                spec = registry.get(row.task)
                options: dict[str, Any] = {
                    "job_id": rq_job_id(row.id),
                    "job_timeout": spec.timeout,
                    "retry": Retry(max=len(spec.retry), interval=list(spec.retry)),
                    "failure_ttl": 7 * 24 * 3600,
                    "result_ttl": 3600,
                    "description": f"{row.task} (outbox {row.id})",
                    "pipeline": pipeline,
                }
                queue = Queue(row.queue, connection=conn)
                if row.run_at > now:
                    queue.enqueue_at(row.run_at, "dcc.jobs.runner.run", row.id, **options)
                else:
                    queue.enqueue("dcc.jobs.runner.run", row.id, **options)
            pipeline.execute()
    except redis.RedisError as error:
        ids = ", ".join(str(row.id) for row in rows)
        log.warning("outbox %s not enqueued (Redis: %s); the sweeper will retry", ids, error)
        return False
    return True


def sweep(session: Session, conn: redis.Redis, *, limit: int = 500) -> int:
    """Enqueue pending work that never reached RQ, or whose job RQ no longer has.

    Work due later than the next sweep is left to ``enqueue_at`` once enqueued; rows whose job
    is queued, scheduled, started or deferred are left alone.
    """
    now = clock.now()
    rows = session.scalars(
        select(OutboxJob)
        .where(
            OutboxJob.done_at.is_(None),
            OutboxJob.canceled_at.is_(None),
            (OutboxJob.enqueued_at.is_(None)) | (OutboxJob.enqueued_at < now - LEASE),
        )
        .order_by(OutboxJob.run_at)
        .limit(limit)
    ).all()
    count = 0
    for row in rows:
        if _alive(conn, row.id):
            row.enqueued_at = now  # in RQ's hands (enqueued after commit): look again later
            continue
        if _enqueue(conn, row.id, row.queue, row.run_at, row.task):
            row.enqueued_at = now
            count += 1
    return count


def _alive(conn: redis.Redis, outbox_id: int) -> bool:
    try:
        status = Job.fetch(rq_job_id(outbox_id), connection=conn).get_status()
    except NoSuchJobError:
        return False
    return status in {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
