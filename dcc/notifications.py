"""Notifications: what a user must know now (a due callback, an arrival, an SLA breach).

Stored first, so nothing is lost; then published on the user's Redis channel so that any web
process holding the user's live stream can push it to the screen.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import JSON, ForeignKey, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime
from dcc.users.models import Role, User

log = logging.getLogger(__name__)
_PENDING = "dcc.notifications.pending"


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def user_channel(user_id: int) -> str:
    return f"dcc:user:{user_id}"


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    *,
    lead_id: int | None = None,
    **data: Any,
) -> Notification:
    """Store a notification; it is published once the transaction commits."""
    note = Notification(user_id=user_id, kind=kind, title=title, lead_id=lead_id, data=data)
    session.add(note)
    session.flush()
    session.info.setdefault(_PENDING, []).append(note)
    if has_app_context():
        session.info.setdefault("dcc.notifications.broker", current_app.extensions["dcc.broker"])
    return note


def notify_role(
    session: Session,
    roles: set[Role],
    kind: str,
    title: str,
    *,
    team_id: int | None = None,
    lead_id: int | None = None,
    **data: Any,
) -> list[Notification]:
    """Notify every active user with one of ``roles`` (of ``team_id``, or dealer-wide ones)."""
    query = select(User).where(User.role.in_(roles), User.is_active.is_(True))
    if team_id is not None:
        query = query.where((User.team_id == team_id) | User.team_id.is_(None))
    return [
        notify(session, user.id, kind, title, lead_id=lead_id, **data)
        for user in session.scalars(query)
    ]


def as_event(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "title": note.title,
        "lead_id": note.lead_id,
        "data": note.data,
        "created_at": note.created_at.isoformat(),
    }


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    notes: list[Notification] = session.info.pop(_PENDING, [])
    broker = session.info.get("dcc.notifications.broker")
    if not notes or broker is None:
        return
    try:
        pipe = broker.connection.pipeline(transaction=False)
        for note in notes:
            pipe.publish(user_channel(note.user_id), json.dumps(as_event(note), ensure_ascii=False))
        pipe.execute()
    except (redis.RedisError, OSError) as error:  # stored anyway; the screen reloads them
        log.warning("notifications not published: %s", error)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
