"""A closed lead owes nothing: one function releases everything a lead still has planned.

Whenever a lead is lost, invalid, merged away as a duplicate, delivered or goes dormant,
:func:`release_open_work` closes, in the caller's transaction and with the reason:

- its open follow-ups and pending callbacks (canceled),
- its booked appointments: canceled when still ahead, a no-show when their time has passed,
- the outbox work scheduled for them and for the lead (reminders, SMS, callbacks ringing,
  speed-to-lead), so that nothing reaches the customer or an agent afterwards.

The jobs check the lead's state again when they run (:func:`owes_contact`): work that was
already in a queue when the lead closed does nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from dcc import access, audit, clock
from dcc.errors import InvalidTransition
from dcc.jobs.models import OutboxJob
from dcc.leads.models import (
    OPEN_STATUSES,
    Callback,
    CallbackStatus,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadStatus,
)
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.sales.reminders import REMINDER_OFFSETS
from dcc.users.models import User


class CloseReason(enum.StrEnum):
    """Why a lead's open work was released (stored on the lead and on each canceled row)."""

    LOST = "lost"  # 战败, confirmed by a manager
    INVALID = "invalid"  # empty, wrong or unreachable number
    MERGED = "merged"  # closed as a duplicate of the customer's other lead
    DELIVERED = "delivered"  # the car was handed over
    DORMANT = "dormant"  # 休眠: no contact for the dealer's number of days


#: Leads somebody works: open, and not asleep. Jobs act only on these.
WORKED_STATUSES = OPEN_STATUSES - {LeadStatus.DORMANT}


#: The work a lead owes or is owed, by the row's type, and the status it has while still owed.
OWED_STATUS: dict[type[Any], enum.Enum] = {
    FollowUp: FollowUpStatus.OPEN,
    Callback: CallbackStatus.PENDING,
    Appointment: AppointmentStatus.BOOKED,
}


def owed(model: Any) -> ColumnElement[bool]:
    """The condition on ``model``'s rows (follow-ups, callbacks, visits) that are still owed."""
    return model.status == OWED_STATUS[model]


def owes_contact(lead: Lead | None) -> bool:
    """True when the lead is worked, so a job may still call, text or remind about it."""
    return lead is not None and lead.status in WORKED_STATUSES


@dataclass
class Released:
    """What :func:`release_open_work` closed, by id."""

    follow_up_ids: list[int] = field(default_factory=list)
    callback_ids: list[int] = field(default_factory=list)
    appointment_ids: list[int] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(
            len(ids)
            for ids in (
                self.follow_up_ids,
                self.callback_ids,
                self.appointment_ids,
                self.outbox_ids,
            )
        )


def release_open_work(
    session: Session, lead: Lead, *, reason: CloseReason | str, actor_id: int | None = None
) -> Released:
    """Cancel what ``lead`` still owes or is owed (see the module's docstring); audited."""
    reason = CloseReason(reason)
    now = clock.now()
    session.flush()
    released = Released(
        follow_up_ids=_cancel(session, FollowUp, lead, FollowUpStatus.CANCELED, reason),
        callback_ids=_cancel(session, Callback, lead, CallbackStatus.CANCELED, reason),
        appointment_ids=_cancel(
            session,
            Appointment,
            lead,
            AppointmentStatus.CANCELED,
            reason,
            Appointment.scheduled_at > now,
        ),
    )
    # A visit whose time has passed without an arrival was missed, whatever closed the lead.
    released.appointment_ids += session.scalars(
        update(Appointment)
        .where(Appointment.lead_id == lead.id, owed(Appointment))
        .values(status=AppointmentStatus.NO_SHOW)
        .returning(Appointment.id),
    )
    released.outbox_ids = _cancel_jobs(session, lead, released, now)
    lead.next_action, lead.next_action_at = None, None
    lead.close_reason = reason.value
    if released.count:
        audit.record(
            session,
            actor_id=actor_id,
            action="lead.work_released",
            entity="lead",
            entity_id=lead.id,
            reason=reason.value,
            follow_up_ids=released.follow_up_ids,
            callback_ids=released.callback_ids,
            appointment_ids=released.appointment_ids,
            outbox_ids=released.outbox_ids,
        )
    return released


def _cancel(
    session: Session, model: Any, lead: Lead, to: enum.Enum, reason: CloseReason, *also: Any
) -> list[int]:
    """Set ``lead``'s still owed ``model`` rows (those matching ``also`` too) to ``to``, with
    ``reason``; their ids."""
    return list(
        session.scalars(
            update(model)
            .where(model.lead_id == lead.id, owed(model), *also)
            .values(status=to, canceled_reason=reason.value)
            .returning(model.id),
        )
    )


def release_leftovers(session: Session, lead: Lead, *, actor: User) -> Released:
    """The loop check's fix for work left pending on a closed or dormant lead: a manager who
    sees the lead releases it. A worked lead keeps its plan (InvalidTransition)."""
    access.check_may_manage_lead(session, actor, lead)
    if owes_contact(lead):
        raise InvalidTransition("lead.still_worked", field="lead_id", lead=lead.id)
    reason = lead.close_reason or CloseReason(
        {LeadStatus.DUPLICATE: CloseReason.MERGED}.get(lead.status, lead.status.value)
    )
    return release_open_work(session, lead, reason=reason, actor_id=actor.id)


def job_keys(session: Session, lead: Lead) -> list[str]:
    """The outbox keys under which work for ``lead`` was scheduled: the lead's own, and those of
    every follow-up, callback and appointment it ever had (an arrived or already canceled one
    may still have a reminder pending).

    The keys are the ones :mod:`dcc.jobs.hooks` and :mod:`dcc.jobs.tasks` give their work; the
    loop audit, which reads the jobs' arguments instead, reports any that a key here misses.
    """
    keys = [f"first-contact-{lead.id}", f"sla-{lead.id}"]
    for follow_up_id in session.scalars(select(FollowUp.id).where(FollowUp.lead_id == lead.id)):
        keys += [f"followup-remind-{follow_up_id}", f"followup-overdue-{follow_up_id}"]
    for callback_id in session.scalars(select(Callback.id).where(Callback.lead_id == lead.id)):
        keys += [f"callback-fire-{callback_id}", f"callback-release-{callback_id}"]
    appointments = select(Appointment.id).where(Appointment.lead_id == lead.id)
    for appointment_id in session.scalars(appointments):
        kinds = ["confirm", *REMINDER_OFFSETS, "no-show"]
        keys += [f"appointment-{appointment_id}-{kind}" for kind in kinds]
    # A pending ``call.attempt_result`` is due at once and finds the lead closed.
    return keys


def _cancel_jobs(session: Session, lead: Lead, released: Released, now: dt.datetime) -> list[int]:
    keys = job_keys(session, lead)
    pending = (OutboxJob.done_at.is_(None), OutboxJob.canceled_at.is_(None))
    # The key is freed with the cancel, so the same work can be planned again if the lead
    # is ever worked again (a dormant lead woken by the customer).
    return list(
        session.scalars(
            update(OutboxJob)
            .where(OutboxJob.dedupe_key.in_(keys), *pending)
            .values(canceled_at=now, dedupe_key=None)
            .returning(OutboxJob.id)
        )
    )
