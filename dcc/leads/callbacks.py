"""Callbacks: calls owed to a customer, whether the agent planned them or a missed call did."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.errors import InvalidTransition, PermissionDenied, ValidationError
from dcc.jobs import hooks
from dcc.leads.models import Callback, Lead
from dcc.users.models import Role, User


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
    if not lead.is_open:
        raise InvalidTransition("lead.closed", field="lead_id", lead=lead.id, status=lead.status)
    if actor.id != lead.owner_id and actor.role not in {Role.MANAGER, Role.SUPERVISOR}:
        raise PermissionDenied("callback.owner_only", field="lead_id")
    if due_at <= clock.now():
        raise ValidationError("callback.in_past", field="due_at")
    return owe(session, lead, reason="scheduled", due_at=due_at)


def may_take(callback: Callback, agent: User) -> bool:
    """The owner may always take it; the team once it was released."""
    if callback.owner_id == agent.id:
        return True
    return callback.released_at is not None and callback.team_id == agent.team_id
