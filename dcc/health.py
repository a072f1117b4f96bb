"""``GET /healthz``: can the service do its work right now? 200 "ok", or 503 "degraded" with
the reasons.

It checks what an operator would otherwise learn from a failing webhook or a late callback:
the database answers and its schema is at the migration head the code expects, Redis answers,
and no scheduled work is overdue by more than ``DCC_OVERDUE_AFTER_SECONDS`` (a dead sweeper,
no worker, a stuck queue). Two small queries and one Redis round trip: cheap enough to be
polled every few seconds by a load balancer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import column, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dcc import clock, migrate
from dcc.broker import Broker, get_broker
from dcc.config import get_settings
from dcc.db import get_session
from dcc.jobs import outbox, sweeper


@dataclass
class Health:
    """What /healthz answers; ``reasons`` is empty when everything is fine."""

    database: str = "ok"
    schema: str = "ok"
    redis: str = "ok"
    overdue_seconds: float | None = None
    sweeper_last_pass_seconds: float | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "degraded",
            "database": self.database,
            "schema": self.schema,
            "redis": self.redis,
            "overdue_work_seconds": self.overdue_seconds,
            "sweeper_last_pass_seconds": self.sweeper_last_pass_seconds,
            "reasons": self.reasons,
        }


def check(session: Session, broker: Broker, overdue_after: float) -> Health:
    """Database, schema, overdue work and Redis, in that order."""
    health = Health()
    now = clock.now()
    _check_database(session, health, now, overdue_after)
    try:
        conn = broker.connection  # the embedded server may fail to start
        with conn.pipeline(transaction=False) as pipeline:
            pipeline.ping()
            pipeline.get(sweeper.LAST_PASS_KEY)
            _, last = pipeline.execute()
    except Exception as error:  # whatever stops Redis from answering means "down"
        health.redis = f"down: {type(error).__name__}"
        health.reasons.append(f"redis: not reachable ({type(error).__name__})")
    else:
        if last is not None:
            age = now.timestamp() - float(last)
            health.sweeper_last_pass_seconds = round(max(age, 0.0), 1)
    return health


def _check_database(
    session: Session, health: Health, now: dt.datetime, overdue_after: float
) -> None:
    """One round trip when all is well: the schema's version(s) and the oldest overdue work."""
    try:
        rows = session.execute(
            select(
                column("version_num"), outbox.oldest_overdue_query(now).scalar_subquery()
            ).select_from(table("alembic_version"))
        ).all()
    except DBAPIError:
        session.rollback()
        rows = None
    if rows is None:  # no outbox or no schema at all, or no database
        try:
            versions = {
                v for (v,) in session.execute(text("SELECT version_num FROM alembic_version"))
            }
        except DBAPIError as error:
            session.rollback()
            try:
                session.execute(text("SELECT 1"))
            except DBAPIError:
                session.rollback()
                name = type(error.orig or error).__name__
                health.database, health.schema = f"down: {name}", "unknown"
                health.reasons.append(f"database: not reachable ({name})")
                return
            versions = set()
        oldest = None
    else:
        versions = {version for version, _ in rows}
        oldest = rows[0][1] if rows else None
    expected = migrate.heads()
    if versions != expected:
        at = ", ".join(sorted(versions)) or "no schema"
        health.schema = f"at {at}; the code expects {', '.join(sorted(expected))}"
        health.reasons.append(
            f"schema: database at {at}, not at the migration head "
            f"{', '.join(sorted(expected))} (run dcc db upgrade)"
        )
        return
    if oldest is None:
        health.overdue_seconds = 0.0
        return
    late = (now - oldest).total_seconds()
    health.overdue_seconds = round(max(late, 0.0), 1)
    if late > overdue_after:
        health.reasons.append(
            f"overdue work: scheduled work due {late:.0f} s ago is not done "
            f"(more than {overdue_after:.0f} s; are the sweeper and the workers running?)"
        )


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        settings = get_settings()
        health = check(get_session(), get_broker(), settings.overdue_after_seconds)
        return jsonify(health.as_json()), 200 if health.healthy else 503
