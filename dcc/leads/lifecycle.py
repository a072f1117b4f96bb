"""The lead lifecycle: appointment -> arrival -> order -> delivery, and the side exits.

Orders and deliveries are :mod:`dcc.sales.orders`; what a closing lead still owes is
released by :func:`dcc.leads.closing.release_open_work`.

Every move is checked against :data:`TRANSITIONS`; a wrong one raises
:class:`~dcc.errors.InvalidTransition`. A lead is lost only when a manager approves the
owner's lost request; a rejected request sends it back to the owner with a follow-up.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, audit, clock
from dcc.errors import InvalidTransition, ValidationError
from dcc.jobs import hooks
from dcc.leads import closing, followups
from dcc.leads.closing import CloseReason
from dcc.leads.models import (
    Grade,
    Lead,
    LeadStatus,
    LostReason,
    LostRequest,
    LostRequestStatus,
)
from dcc.notifications import notify
from dcc.sales.models import Appointment, AppointmentStatus, ShowroomVisit
from dcc.users.models import Role, User

S = LeadStatus
TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    S.NEW: frozenset(
        {S.CONTACTING, S.INVITED, S.ARRIVED, S.LOST, S.INVALID, S.DUPLICATE, S.DORMANT}
    ),
    S.CONTACTING: frozenset({S.INVITED, S.ARRIVED, S.LOST, S.INVALID, S.DUPLICATE, S.DORMANT}),
    S.INVITED: frozenset({S.INVITED, S.ARRIVED, S.CONTACTING, S.LOST, S.DUPLICATE, S.DORMANT}),
    S.ARRIVED: frozenset({S.INVITED, S.ARRIVED, S.ORDERED, S.LOST, S.DUPLICATE, S.DORMANT}),
    S.ORDERED: frozenset({S.DELIVERED, S.ARRIVED}),  # back to arrived when an order is canceled
    S.DORMANT: frozenset({S.CONTACTING, S.LOST, S.INVALID, S.DUPLICATE}),
    S.DELIVERED: frozenset(),
    S.LOST: frozenset(),
    S.INVALID: frozenset(),
    S.DUPLICATE: frozenset(),
}
CLOSED = frozenset({S.DELIVERED, S.LOST, S.INVALID, S.DUPLICATE})


def may_move(lead: Lead, to: LeadStatus) -> bool:
    """Whether the lead may go from its status to ``to``."""
    return to in TRANSITIONS[lead.status]


def move(lead: Lead, to: LeadStatus) -> None:
    """Change the lead's status, or raise InvalidTransition naming both states."""
    if not may_move(lead, to):
        raise InvalidTransition(
            "lead.bad_transition", field="status", lead=lead.id, status=lead.status, to=to
        )
    lead.status = to
    if to in CLOSED:
        lead.closed_at = clock.now()


def mark_contacted(lead: Lead) -> None:
    """The first call attempt moves a new lead into contacting."""
    if lead.status == S.NEW:
        move(lead, S.CONTACTING)


def book_appointment(
    session: Session,
    lead: Lead,
    *,
    at: dt.datetime,
    consultant: User | None,
    actor: User,
    note: str | None = None,
) -> Appointment:
    """An invitation (邀约): a visit at ``at`` with a named consultant."""
    if at <= clock.now():
        raise ValidationError("appointment.in_past", field="scheduled_at")
    if consultant is not None and (not consultant.is_active or consultant.role != Role.CONSULTANT):
        raise ValidationError("appointment.bad_consultant", field="consultant_id")
    move(lead, S.INVITED)
    appointment = Appointment(
        lead=lead,
        consultant_id=consultant.id if consultant else None,
        booked_by_id=actor.id,
        scheduled_at=at,
        note=note,
    )
    lead.invited_at = lead.invited_at or clock.now()
    lead.escalation = None  # invited again: out of the manager's no-show queue
    session.add(appointment)
    session.flush()
    hooks.appointment_booked(session, appointment)
    return appointment


def register_arrival(
    session: Session,
    lead: Lead,
    *,
    clerk: User | None,
    consultant: User | None = None,
    appointment: Appointment | None = None,
    party_size: int = 1,
) -> ShowroomVisit:
    """The customer came to the showroom (到店); the clerk registers the visit."""
    now = clock.now()
    if appointment is None:
        appointment = session.scalar(
            select(Appointment)
            .where(Appointment.lead_id == lead.id, Appointment.status == AppointmentStatus.BOOKED)
            .order_by(Appointment.scheduled_at)
            .limit(1)
        )
    if appointment is not None:
        if appointment.status != AppointmentStatus.BOOKED:
            raise InvalidTransition(
                "appointment.not_booked", appointment=appointment.id, status=appointment.status
            )
        appointment.status = AppointmentStatus.ARRIVED
        appointment.arrived_at = now
        consultant_id = consultant.id if consultant else appointment.consultant_id
    else:
        consultant_id = consultant.id if consultant else None
    first_visit = not session.scalar(
        select(ShowroomVisit.id).where(ShowroomVisit.customer_id == lead.customer_id).limit(1)
    )
    if lead.status != S.ORDERED:  # a buyer coming back (to pay, to collect) stays ordered
        move(lead, S.ARRIVED)
    lead.arrived_at = lead.arrived_at or now
    visit = ShowroomVisit(
        customer_id=lead.customer_id,
        lead_id=lead.id,
        appointment_id=appointment.id if appointment else None,
        consultant_id=consultant_id,
        clerk_id=clerk.id if clerk else None,
        arrived_at=now,
        party_size=party_size,
        first_visit=first_visit,
        left_contact=True,
    )
    session.add(visit)
    session.flush()
    if consultant_id is not None:
        # 到店提醒: the consultant named for the visit hears of it at once.
        customer = lead.customer
        notify(
            session,
            consultant_id,
            "arrival",
            f"客户已到店：{customer.name or '客户'}",
            lead_id=lead.id,
            visit_id=visit.id,
            party_size=party_size,
            name=customer.name,
        )
    return visit


def request_lost(
    session: Session, lead: Lead, *, reason: LostReason | str, actor: User, note: str | None = None
) -> LostRequest:
    """The owner asks to close the lead as lost (战败申请); the lead stays open meanwhile."""
    try:
        reason = LostReason(reason)
    except ValueError as exc:
        raise ValidationError("field.bad_choice", field="reason", choices=list(LostReason)) from exc
    if not lead.is_open or lead.status == S.ORDERED:
        raise InvalidTransition("lead.closed", field="status", lead=lead.id, status=lead.status)
    pending = session.scalar(
        select(LostRequest.id).where(
            LostRequest.lead_id == lead.id, LostRequest.status == LostRequestStatus.PENDING
        )
    )
    if pending is not None:
        raise InvalidTransition("lost.request_pending", lead=lead.id)
    request = LostRequest(lead=lead, requested_by_id=actor.id, reason=reason, note=note)
    session.add(request)
    session.flush()
    return request


def decide_lost(
    session: Session, request: LostRequest, *, approve: bool, manager: User, note: str | None = None
) -> None:
    """A manager of the lead's team confirms (lead lost, grade F) or rejects (back to the
    owner) a lost request."""
    access.check_may_manage_lead(session, manager, request.lead, "lost.manager_only")
    if request.status != LostRequestStatus.PENDING:
        raise InvalidTransition("lost.request_decided", request=request.id, status=request.status)
    request.status = LostRequestStatus.APPROVED if approve else LostRequestStatus.REJECTED
    request.decided_by_id = manager.id
    request.decided_at = clock.now()
    request.decision_note = note
    lead = request.lead
    if approve:
        move(lead, S.LOST)
        lead.grade = Grade.F
        lead.lost_reason = request.reason
        closing.release_open_work(session, lead, reason=CloseReason.LOST, actor_id=manager.id)
    else:
        followups.schedule(session, lead, due_at=clock.now())
    audit.record(
        session,
        actor_id=manager.id,
        action="lead.lost." + ("approve" if approve else "reject"),
        entity="lead",
        entity_id=lead.id,
        reason=request.reason.value,
    )


def mark_invalid(session: Session, lead: Lead, *, actor: User | None, reason: str) -> None:
    """Empty, wrong or unreachable number: the lead leaves the funnel as invalid.

    ``actor`` None: the attempt policy decided (a number that does not exist).
    """
    actor_id = actor.id if actor else None
    move(lead, S.INVALID)
    closing.release_open_work(session, lead, reason=CloseReason.INVALID, actor_id=actor_id)
    audit.record(
        session,
        actor_id=actor_id,
        action="lead.invalid",
        entity="lead",
        entity_id=lead.id,
        reason=reason,
    )


def make_dormant(session: Session, lead: Lead) -> None:
    """休眠: nobody works the lead until the customer gets in touch again."""
    move(lead, S.DORMANT)
    closing.release_open_work(session, lead, reason=CloseReason.DORMANT)
