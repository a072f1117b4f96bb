"""Manager actions on leads: reassignment and the 30-day escalation queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from dcc import audit, clock
from dcc.errors import InvalidTransition, ValidationError
from dcc.leads import followups
from dcc.leads.models import Lead, LeadStatus
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import Role, User

OWNER_ROLES = frozenset({Role.DCC_AGENT, Role.CONSULTANT})


def reassign(session: Session, lead: Lead, new_owner: User, *, actor: User) -> None:
    """Give the lead, its open follow-ups and its pending callbacks to ``new_owner``."""
    if not new_owner.is_active:
        raise ValidationError(f"{new_owner.login} is not active", field="owner_id")
    if new_owner.role not in OWNER_ROLES:
        raise ValidationError(f"{new_owner.login} cannot own leads", field="owner_id")
    if not lead.is_open:
        raise InvalidTransition(f"lead {lead.id} is {lead.status.value}", field="status")
    previous = lead.owner_id
    lead.owner_id = new_owner.id
    lead.team_id = new_owner.team_id or lead.team_id
    lead.customer.owner_id = new_owner.id
    followups.retarget_open_work(session, lead, new_owner)
    audit.record(
        session,
        actor_id=actor.id,
        action="lead.reassign",
        entity="lead",
        entity_id=lead.id,
        previous_owner_id=previous,
        new_owner_id=new_owner.id,
    )
    session.flush()


def invited_without_arrival(
    session: Session, *, days: int = 30, now: dt.datetime | None = None
) -> list[Lead]:
    """Leads invited more than ``days`` ago that never arrived (多余30天邀约未到).

    These go back to the sales manager for reassignment to another DCC agent.
    """
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    arrived = exists().where(
        Appointment.lead_id == Lead.id, Appointment.status == AppointmentStatus.ARRIVED
    )
    return list(
        session.scalars(
            select(Lead)
            .where(
                Lead.status == LeadStatus.INVITED,
                Lead.invited_at.is_not(None),
                Lead.invited_at < cutoff,
                Lead.arrived_at.is_(None),
                ~arrived,
            )
            .order_by(Lead.invited_at)
        )
    )
