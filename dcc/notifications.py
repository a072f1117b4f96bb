"""Notifications: what a user must know now (a due callback, an arrival, an SLA breach).

Stored first, so nothing is lost; then pushed live (``dcc.live``) to the user's screen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc import clock, live
from dcc.db import Base, UTCDateTime


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
    live.to_user(session, user_id, "notification", as_event(note))
    return note


def as_event(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "title": note.title,
        "lead_id": note.lead_id,
        "data": note.data,
        "created_at": note.created_at.isoformat(),
    }
