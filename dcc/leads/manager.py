"""What the manager's queues read: a customer's confirmed loss, the 30-day no-shows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.leads.models import Lead, LeadStatus
from dcc.sales.models import Appointment, AppointmentStatus


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
