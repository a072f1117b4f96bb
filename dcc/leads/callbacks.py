"""Callbacks: calls owed to a customer, whether the agent planned them or a missed call did."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, clock
from dcc.errors import InvalidTransition, ValidationError
from dcc.jobs import hooks
from dcc.leads.models import Callback, Lead
from dcc.users.models import User


def owe(
    session: Session,
    lead: Lead,
    *,
    reason: str,
    due_at: dt.datetime,
    call_id: int | None = None,
) -> Callback:
    """Record that the lead's owner must call back at ``due_at`` (once per causing call)."""
    if call_id is not None:
        existing = session.scalar(select(Callback).where(Callback.call_id == call_id))
        if existing is not None:
            return existing
    owner = session.get(User, lead.owner_id) if lead.owner_id else None
    callback = Callback(
        lead_id=lead.id,
        call_id=call_id,
        owner_id=lead.owner_id,
        team_id=owner.team_id if owner else lead.team_id,
        reason=reason,
        due_at=due_at,
    )
    session.add(callback)
    session.flush()
    hooks.callback_owed(session, callback)
    return callback


def schedule(session: Session, lead: Lead, *, due_at: dt.datetime, actor: User) -> Callback:
    """An agent promises the customer a call at ``due_at`` (预约回电)."""
    access.check_may_work_lead(session, actor, lead, "callback.owner_only")
    if not lead.is_open:
        raise InvalidTransition("lead.closed", field="lead_id", lead=lead.id, status=lead.status)
    if due_at <= clock.now():
        raise ValidationError("callback.in_past", field="due_at")
    return owe(session, lead, reason="scheduled", due_at=due_at)
