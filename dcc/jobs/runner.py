"""What an RQ worker runs: one outbox row, in its own app context and transaction.

The row is locked while its task runs and marked done in the same transaction as the task's
effect, so a job that runs twice (a retry, a worker killed after the commit, the sweeper)
does the work once. A failing task rolls back, leaves its error on the row and raises, so
that RQ retries it with backoff and finally keeps it in the failed registry.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import select

from dcc import clock
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


def run(outbox_id: int) -> str:
    """Run the outbox row ``outbox_id`` unless it is done, canceled or gone."""
    app = _app()
    with app.app_context():
        database = get_database(app)
        with database.sessionmaker() as session:
            row = session.scalar(
                select(OutboxJob).where(OutboxJob.id == outbox_id).with_for_update()
            )
            if row is None or row.done_at is not None or row.canceled_at is not None:
                return "skipped"
            task, args = row.task, dict(row.args)
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
    return f"{task}: {result}" if result is not None else task


def _record_failure(app: Flask, outbox_id: int, error: Exception) -> None:
    database = get_database(app)
    with database.sessionmaker() as session:
        row = session.get(OutboxJob, outbox_id)
        if row is not None:
            row.attempts += 1
            row.last_error = "".join(traceback.format_exception_only(error)).strip()[:2000]
            session.commit()
    log.warning("outbox %s failed: %s", outbox_id, error)
