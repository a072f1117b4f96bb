"""Dormant leads (休眠): an open lead with no contact either way for the dealer's number of
days goes to sleep overnight; anything it still had planned is released. Any new enquiry
from the customer wakes it to its owner (:mod:`dcc.leads.intake`).

Contact is anything that happened on the lead: an enquiry (touch), a call, a follow-up done,
a visit, or a visit booked for later. An ordered lead never sleeps: it waits for its car.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls.models import Call
from dcc.leads import lifecycle
from dcc.leads.models import FollowUp, FollowUpStatus, Lead, LeadStatus, LeadTouch
from dcc.sales.models import Appointment, AppointmentStatus, ShowroomVisit

#: The states a lead may fall asleep from.
SLEEPS_FROM = (LeadStatus.NEW, LeadStatus.CONTACTING, LeadStatus.INVITED, LeadStatus.ARRIVED)


def stale(session: Session, *, days: int, now: dt.datetime | None = None) -> list[int]:
    """Ids of open leads without any contact in the last ``days`` days, oldest first."""
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    recent = (
        exists().where(LeadTouch.lead_id == Lead.id, LeadTouch.created_at >= cutoff),
        exists().where(Call.lead_id == Lead.id, Call.created_at >= cutoff),
        exists().where(
            FollowUp.lead_id == Lead.id,
            FollowUp.status == FollowUpStatus.DONE,
            FollowUp.done_at >= cutoff,
        ),
        exists().where(ShowroomVisit.lead_id == Lead.id, ShowroomVisit.arrived_at >= cutoff),
        exists().where(
            Appointment.lead_id == Lead.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.scheduled_at >= cutoff,
        ),
    )
    return list(
        session.scalars(
            select(Lead.id)
            .where(Lead.status.in_(SLEEPS_FROM), Lead.created_at < cutoff)
            .where(*(~condition for condition in recent))
            .order_by(Lead.created_at, Lead.id)
        )
    )


def put_to_sleep(session: Session, *, days: int, now: dt.datetime | None = None) -> list[int]:
    """Make every stale lead dormant (the nightly job); returns their ids."""
    ids = stale(session, days=days, now=now)
    for lead_id in ids:
        lifecycle.make_dormant(session, session.get_one(Lead, lead_id))
    return ids
