"""Who may see which leads: an agent its own; managers and supervisors their team's."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from dcc.errors import NotFound
from dcc.leads.models import Lead
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.users.models import Role, User

TEAM_ROLES = frozenset({Role.MANAGER, Role.SUPERVISOR})


def visible_leads(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the leads ``user`` may read."""
    if user.role == Role.ADMIN:
        return true()
    if user.role in TEAM_ROLES:
        if user.team_id is None:  # a dealer-wide manager sees every team
            return true()
        team_members = select(User.id).where(User.team_id == user.team_id)
        return or_(Lead.team_id == user.team_id, Lead.owner_id.in_(team_members))
    if user.role == Role.CONSULTANT:
        # The consultant also serves the customers invited to them or received by them in the
        # showroom, whoever owns the lead: they record the order and deliver the car.
        served = select(Appointment.lead_id).where(Appointment.consultant_id == user.id)
        received = select(ShowroomVisit.lead_id).where(ShowroomVisit.consultant_id == user.id)
        return or_(Lead.owner_id == user.id, Lead.id.in_(served), Lead.id.in_(received))
    if user.role == Role.DCC_AGENT:
        return Lead.owner_id == user.id
    return false()


def can_see_full_phone(user: User) -> bool:
    """Consultants and clerks see masked numbers; the DCC and managers dial them."""
    return user.role in {Role.DCC_AGENT, Role.MANAGER, Role.SUPERVISOR, Role.ADMIN}


def get_visible_lead(session: Session, user: User, lead_id: int) -> Lead:
    """The lead, or NotFound when it does not exist or ``user`` may not see it.

    Both answers are the same so that ids of other agents' leads cannot be probed.
    """
    lead = session.scalar(select(Lead).where(Lead.id == lead_id, visible_leads(user)))
    if lead is None:
        raise NotFound("lead.not_found", field="lead_id", lead=lead_id)
    return lead
