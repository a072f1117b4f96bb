"""The outbox: work written in the same transaction as the change that causes it.

Writing the database comes first and enqueueing second, so a lead or a call is never lost
because Redis was down: a row that could not be enqueued is picked up by the sweeper. Work due
later waits here, at its own ``run_at``, until the sweeper hands it to RQ; so do retries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime

OPEN = "done_at IS NULL AND canceled_at IS NULL"


class OutboxJob(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # Open work only: what the sweeper, the runner, /healthz and /metrics read (every
        # query of open work names both columns of the condition).
        Index(
            "ix_outbox_open_run_at",
            "run_at",
            postgresql_where=text(OPEN),
            sqlite_where=text(OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(60))  # a name registered with @task
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(30))
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    # One pending row per key (e.g. "callback-fire-42"): scheduling the same work twice is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when every retry failed: the work stops here, visible on /admin/jobs and in /metrics.
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The web request that scheduled the work (X-Request-ID), carried into the job's logs.
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
