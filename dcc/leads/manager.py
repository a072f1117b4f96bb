"""Manager actions on leads: reassignment and the 30-day escalation queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from dcc import audit, clock
from dcc.errors import InvalidTransition, ValidationError
from dcc.leads import followups
from dcc.leads.models import OPEN_STATUSES, Grade, Lead, LeadStatus
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import Role, User

OWNER_ROLES = frozenset({Role.DCC_AGENT, Role.CONSULTANT})


def _check_owner(new_owner: User) -> None:
    if not new_owner.is_active:
        raise ValidationError("lead.owner_inactive", field="owner_id", user=new_owner.login)
    if new_owner.role not in OWNER_ROLES:
        raise ValidationError("lead.owner_cannot_own", field="owner_id", user=new_owner.login)


def reassign(session: Session, lead: Lead, new_owner: User, *, actor: User) -> None:
    """Give the lead, its open follow-ups and its pending callbacks to ``new_owner``."""
    _check_owner(new_owner)
    if not lead.is_open:
        raise InvalidTransition("lead.closed", field="status", lead=lead.id, status=lead.status)
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


def reactivate_lost(session: Session, lead: Lead, new_owner: User, *, actor: User) -> Lead:
    """战败客户重新分配: a customer confirmed lost goes to another owner for a fresh try.

    The lost lead stays closed (its history and the lost statistics are kept); the customer
    gets a new lead owned by ``new_owner``, graded C (later than 3 months / unclear), with its
    first contact due now. Refused while the customer has an open lead: reassign that instead.
    """
    if lead.status != LeadStatus.LOST:
        raise InvalidTransition("lead.not_lost", field="status", lead=lead.id, status=lead.status)
    _check_owner(new_owner)
    open_lead = session.scalar(
        select(Lead.id).where(Lead.customer_id == lead.customer_id, Lead.status.in_(OPEN_STATUSES))
    )
    if open_lead is not None:
        raise InvalidTransition("lead.customer_has_open_lead", field="lead_id", lead=open_lead)
    now = clock.now()
    fresh = Lead(
        customer_id=lead.customer_id,
        source_id=lead.source_id,
        channel=lead.channel,
        sub_source="战败再激活",
        value_tier=lead.value_tier,
        grade=Grade.C,
        status=LeadStatus.NEW,
        owner_id=new_owner.id,
        team_id=new_owner.team_id or lead.team_id,
        brand=lead.brand,
        series=lead.series,
        model=lead.model,
        model_year=lead.model_year,
        budget=lead.budget,
        created_at=now,
        next_action="首次联系",
        next_action_at=now,
    )
    session.add(fresh)
    session.flush()
    followups.schedule(session, fresh, due_at=now)
    lead.customer.owner_id = new_owner.id
    audit.record(
        session,
        actor_id=actor.id,
        action="lead.reactivate",
        entity="lead",
        entity_id=fresh.id,
        lost_lead_id=lead.id,
        new_owner_id=new_owner.id,
    )
    return fresh


def latest_lost(session: Session, customer_id: int) -> Lead | None:
    """The customer's most recent lead when it is a confirmed loss (else None)."""
    latest = session.scalar(
        select(Lead)
        .where(Lead.customer_id == customer_id)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.status == LeadStatus.LOST else None


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
