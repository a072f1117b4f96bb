"""No-shows (未到店): a booked visit whose time and the dealer's grace have passed without an
arrival is marked no-show, and the lead's agent gets a follow-up to invite the customer again.

Each appointment's check is scheduled when it is booked (:func:`dcc.jobs.hooks.appointment_booked`);
the nightly sweep marks any that a check missed. The arrivals report counts no-shows in its
show rate (arrived / visits whose time has come).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import audit, clock
from dcc.leads import closing, followups
from dcc.leads.models import Lead
from dcc.notifications import notify
from dcc.sales.models import Appointment, AppointmentStatus

RE_INVITE = "re_invite"


def mark(session: Session, appointment: Appointment, *, grace: dt.timedelta) -> bool:
    """Mark the visit a no-show if it is still booked and its time plus ``grace`` has passed.

    A lead still worked gets a re-invite follow-up due now for its owner (else for whoever
    booked the visit); a closed or dormant lead gets none. False when there was nothing to do.
    """
    now = clock.now()
    if appointment.status != AppointmentStatus.BOOKED or appointment.scheduled_at + grace > now:
        return False
    appointment.status = AppointmentStatus.NO_SHOW
    lead = session.get_one(Lead, appointment.lead_id)
    audit.record(
        session,
        actor_id=None,
        action="appointment.no_show",
        entity="appointment",
        entity_id=appointment.id,
        lead_id=lead.id,
    )
    if not closing.owes_contact(lead):
        return True
    planned = followups.schedule(session, lead, due_at=now)
    assert planned is not None  # a given due time always plans one
    planned.purpose = RE_INVITE
    planned.owner_id = lead.owner_id or appointment.booked_by_id
    lead.next_action = "再次邀约"
    if planned.owner_id is not None:
        notify(
            session,
            planned.owner_id,
            "no_show",
            "客户未按预约到店，请再次邀约",
            lead_id=lead.id,
            appointment_id=appointment.id,
            follow_up_id=planned.id,
        )
    return True


def overdue(session: Session, *, grace: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """Booked visits whose time plus ``grace`` has passed: they should be no-shows by now."""
    cutoff = (now or clock.now()) - grace
    return list(
        session.scalars(
            select(Appointment.id)
            .where(
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.scheduled_at <= cutoff,
            )
            .order_by(Appointment.scheduled_at, Appointment.id)
        )
    )


def mark_overdue(session: Session, *, grace: dt.timedelta) -> int:
    """The nightly sweep: mark every overdue visit; returns how many were marked."""
    marked = 0
    for appointment_id in overdue(session, grace=grace):
        appointment = session.get_one(Appointment, appointment_id)
        marked += mark(session, appointment, grace=grace)
    return marked
