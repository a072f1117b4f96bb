"""What an RQ worker runs: one outbox row, in its own app context and transaction.

The row is locked while its task runs and marked done in the same transaction as the task's
effect, so a job that runs twice (a retry, a worker killed after the commit, the sweeper)
does the work once. A failing task rolls back, leaves its error on the row, moves the row's
``run_at`` by the task's backoff (the sweeper enqueues the retry when due) or, after the last
retry, marks it failed; and raises, so that RQ records the failure in its failed registry.
Each run logs under the id of the request that scheduled the work.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Collection
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from dcc import clock, logs
from dcc.db import get_database
from dcc.jobs import registry
from dcc.jobs.models import OutboxJob

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


def serve(app: Flask) -> None:
    """Run this process's jobs in ``app``: the worker builds it once, before RQ forks."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    """The current app (tests, in-process workers) or the one the worker process serves."""
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    if _worker_app is None:
        raise RuntimeError("jobs run in an app context or in dcc.jobs.worker.Worker")
    return _worker_app


#: Read for every job run: built once.
_LOCKED_ROW = select(OutboxJob).where(OutboxJob.id == bindparam("outbox_id")).with_for_update()


def run(outbox_id: int) -> str:
    """Run the outbox row ``outbox_id`` unless it is done, canceled or gone."""
    app = _app()
    with app.app_context():
        database = get_database(app)
        with database.sessionmaker() as session:
            row = session.scalar(_LOCKED_ROW, {"outbox_id": outbox_id})
            if row is None or row.done_at is not None or row.canceled_at is not None:
                return "skipped"
            task, args = row.task, dict(row.args)
            with logs.request_id(row.request_id):
                started = time.perf_counter()
                try:
                    result: Any = registry.run(session, task, args)
                    row.attempts += 1
                    row.done_at = clock.now()
                    row.last_error = None
                    session.commit()
                except Exception as error:
                    session.rollback()
                    _record_failure(app, outbox_id, error)
                    raise
                log.info(
                    "job %s (outbox %d) done in %.0f ms: %s",
                    task,
                    outbox_id,
                    (time.perf_counter() - started) * 1000,
                    result,
                    extra={"outbox_id": outbox_id, "task": task},
                )
    return f"{task}: {result}" if result is not None else task


def _record_failure(app: Flask, outbox_id: int, error: Exception) -> None:
    """Keep the error; plan the next attempt after the task's backoff, or give up."""
    database = get_database(app)
    with database.sessionmaker() as session:
        row = session.get(OutboxJob, outbox_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = "".join(traceback.format_exception_only(error)).strip()[:2000]
        backoff = registry.get(row.task).retry
        now = clock.now()
        if row.attempts <= len(backoff):
            row.run_at = now + dt.timedelta(seconds=backoff[row.attempts - 1])
            row.enqueued_at = None
            what = f"attempt {row.attempts} failed; next at {row.run_at.isoformat()}"
        else:
            row.failed_at = now
            what = f"gave up after {row.attempts} attempts"
        session.commit()
    log.warning(
        "job %s (outbox %d) %s: %s",
        row.task,
        outbox_id,
        what,
        error,
        extra={"outbox_id": outbox_id, "task": row.task},
    )


def _waiting(skip: Collection[str]) -> tuple[Any, ...]:
    """Rows still to run (neither done, canceled nor given up), except the ``skip`` tasks."""
    where = (
        OutboxJob.done_at.is_(None),
        OutboxJob.canceled_at.is_(None),
        OutboxJob.failed_at.is_(None),
    )
    return (*where, OutboxJob.task.not_in(skip)) if skip else where


#: When the earliest waiting work is due: asked after every change to the outbox.
_NEXT_DUE = select(func.min(OutboxJob.run_at)).where(*_waiting(()))


def next_due_at(session: Session | Connection, skip: Collection[str] = ()) -> dt.datetime | None:
    """When the earliest waiting work is due (None: nothing waits): a virtual clock's next
    stop. A plain connection will do: a driver that asks often skips the ORM."""
    if not skip:
        return session.scalar(_NEXT_DUE)
    return session.scalar(select(func.min(OutboxJob.run_at)).where(*_waiting(skip)))


def due_ids(
    session: Session | Connection,
    until: dt.datetime | None = None,
    *,
    skip: Collection[str] = (),
    exclude: Collection[int] = (),
) -> list[int]:
    """The rows due by ``until`` (default now), in order, but the ``skip`` tasks and the
    ``exclude`` rows."""
    return list(
        session.scalars(
            select(OutboxJob.id)
            .where(
                *_waiting(skip),
                OutboxJob.run_at <= (until or clock.now()),
                OutboxJob.id.not_in(exclude or {0}),
            )
            .order_by(OutboxJob.run_at, OutboxJob.id)
        ).all()
    )


def run_due(
    session: Session, until: dt.datetime | None = None, *, skip: Collection[str] = ()
) -> list[str]:
    """Run, in this process and in order, every piece of work due by ``until`` (default:
    :func:`dcc.clock.now`): what the sweeper and the workers together do, without Redis.

    Tests drive the jobs with it. Work that a run schedules and that is due too runs in the
    same call; each row runs at most once per call. ``skip`` names tasks left waiting (a fault
    injected: a job that never runs).
    """
    results: list[str] = []
    ran: set[int] = set()
    while True:
        session.expire_all()
        due = due_ids(session, until, skip=skip, exclude=ran)
        if not due:
            return results
        for outbox_id in due:
            ran.add(outbox_id)
            results.append(run(outbox_id))
