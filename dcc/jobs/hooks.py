"""Where domain events schedule their jobs. Every call is keyed, so repeating one is harmless."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from dcc import clock
from dcc.jobs import outbox, policy
from dcc.leads.models import Callback, Channel, FollowUp
from dcc.sales.models import Appointment
from dcc.sales.reminders import REMINDER_OFFSETS


def lead_received(session: Session, *, lead_id: int, channel: Channel) -> None:
    """Speed-to-lead: a first-contact job now and the first-response SLA check later.

    A hotline lead is already on the phone; if nobody answers, the missed-call callback
    takes over, so it only gets the SLA check.
    """
    sla = clock.now() + dt.timedelta(minutes=policy.load(session).first_response_sla_minutes)
    plans = [outbox.Plan("lead.first_response_sla", f"sla-{lead_id}", sla, {"lead_id": lead_id})]
    if channel != Channel.HOTLINE:
        first = outbox.Plan(
            "lead.first_contact", f"first-contact-{lead_id}", None, {"lead_id": lead_id}
        )
        plans.insert(0, first)
    outbox.schedule_all(session, plans)


def customer_first_due(session: Session, lead_id: int, at: dt.datetime) -> None:
    """A new lead nobody could dial yet: its customer is rung first at ``at`` if it still waits."""
    outbox.schedule(
        session, "lead.customer_first", run_at=at, key=f"customer-first-{lead_id}", lead_id=lead_id
    )


def callback_owed(session: Session, callback: Callback) -> None:
    outbox.schedule(
        session,
        "callback.fire",
        run_at=callback.due_at,
        key=f"callback-fire-{callback.id}",
        callback_id=callback.id,
    )


def callback_ring_again(session: Session, callback_id: int) -> None:
    """Ring a callback again now: it was released to the team, or its call never reached the
    provider. Under its own key, so that it replaces any round still waiting."""
    outbox.schedule(
        session,
        "callback.fire",
        key=f"callback-fire-{callback_id}",
        again=True,
        callback_id=callback_id,
    )


def follow_up_planned(session: Session, follow_up: FollowUp) -> None:
    outbox.schedule(
        session,
        "followup.remind",
        run_at=follow_up.due_at,
        key=f"followup-remind-{follow_up.id}",
        follow_up_id=follow_up.id,
    )


def appointment_booked(session: Session, appointment: Appointment) -> None:
    outbox.schedule(
        session,
        "appointment.sms",
        key=f"appointment-{appointment.id}-confirm",
        appointment_id=appointment.id,
        kind="confirm",
    )
    now = clock.now()
    grace = dt.timedelta(minutes=policy.load(session).no_show_grace_minutes)
    outbox.schedule(
        session,
        "appointment.no_show",
        run_at=appointment.scheduled_at + grace,
        key=f"appointment-{appointment.id}-no-show",
        appointment_id=appointment.id,
    )
    for kind, before in REMINDER_OFFSETS.items():
        at = appointment.scheduled_at - before
        if at > now:
            outbox.schedule(
                session,
                "appointment.sms",
                run_at=at,
                key=f"appointment-{appointment.id}-{kind}",
                appointment_id=appointment.id,
                kind=kind,
            )


def outbound_attempt_ended(session: Session, call_id: int) -> None:
    outbox.schedule(session, "call.attempt_result", key=f"attempt-{call_id}", call_id=call_id)
