"""The information clerk's showroom reception (展厅接待): arrivals, walk-ins, anonymous traffic.

Every visitor is registered, with the consultant who received them. Invited customers are found
by the phone they give, in any format; a walk-in who leaves a phone becomes a lead owned by the
receiving consultant; one who leaves nothing is still counted as traffic. The day's figures
include the info-retention rate (信息留存率) of DOMAIN.md: first-visit walk-ins who left a
phone / first-visit walk-ins not closed on the visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock, phones
from dcc.customers import service as customers
from dcc.errors import NotFound, ValidationError
from dcc.leads import intake, lifecycle
from dcc.leads.models import OPEN_STATUSES, Channel, Lead
from dcc.sales import fields as sales_fields
from dcc.sales.models import Appointment, AppointmentStatus, ShowroomVisit
from dcc.users.models import Role, User
from dcc.worklist import local_day


def check_consultant(consultant: User | None) -> User:
    if consultant is None or consultant.role != Role.CONSULTANT or not consultant.is_active:
        raise ValidationError("reception.no_consultant", field="consultant")
    return consultant


def check_party(party_size: int) -> int:
    checked: int = sales_fields.PARTY_SIZE.clean(party_size)
    return checked


def find_appointment(session: Session, phone: str, *, region: str = "CN") -> Appointment:
    """The booked visit of the customer with this phone (any format), the earliest first."""
    customer = customers.find_by_phone(session, phones.normalize(phone, region))
    appointment = None
    if customer is not None:
        appointment = session.scalar(
            select(Appointment)
            .join(Lead, Lead.id == Appointment.lead_id)
            .where(
                Lead.customer_id == customer.id,
                Lead.status.in_(OPEN_STATUSES),
                Appointment.status == AppointmentStatus.BOOKED,
            )
            .order_by(Appointment.scheduled_at)
            .limit(1)
        )
    if appointment is None:
        raise NotFound("reception.no_booking", field="phone")
    return appointment


def arrive(
    session: Session,
    appointment: Appointment,
    *,
    clerk: User,
    consultant: User | None = None,
    party_size: int = 1,
) -> ShowroomVisit:
    """An invited customer came: the visit is registered and the named consultant reminded."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError("reception.already_arrived", field="appointment_id")
    if consultant is not None:
        check_consultant(consultant)
    return lifecycle.register_arrival(
        session,
        appointment.lead,
        clerk=clerk,
        consultant=consultant,
        appointment=appointment,
        party_size=check_party(party_size),
    )


@dataclass
class WalkIn:
    """A visitor without an appointment. Without a phone it is anonymous traffic."""

    consultant: User | None
    party_size: int = 1
    first_visit: bool = True
    phone: str | None = None
    name: str = ""
    series: str | None = None
    note: str | None = None


def walk_in(session: Session, data: WalkIn, *, clerk: User, region: str = "CN") -> ShowroomVisit:
    """Register a walk-in: a lead of the receiving consultant when a phone was left."""
    consultant = check_consultant(data.consultant)
    party_size = check_party(data.party_size)
    if not (data.phone or "").strip():
        visit = ShowroomVisit(
            consultant_id=consultant.id,
            clerk_id=clerk.id,
            arrived_at=clock.now(),
            party_size=party_size,
            first_visit=data.first_visit,
            left_contact=False,
            note=data.note,
        )
        session.add(visit)
        session.flush()
        return visit
    result = intake.receive(
        session,
        intake.LeadInput(
            phone=data.phone or "",
            channel=Channel.WALK_IN,
            name=data.name,
            series=data.series,
            model=data.series,
            comments=data.note,
            owner_id=consultant.id,
        ),
        region=region,
        actor=clerk,
    )
    visit = lifecycle.register_arrival(
        session, result.lead, clerk=clerk, consultant=consultant, party_size=party_size
    )
    # The clerk asked the visitor; the register can only add what it knows of earlier visits.
    visit.first_visit = visit.first_visit and data.first_visit
    visit.note = data.note
    return visit


@dataclass
class Traffic:
    visits: list[ShowroomVisit]
    people: int
    first_visits: int
    walk_ins_first: int  # first-visit walk-ins not closed on the visit
    walk_ins_first_with_phone: int

    @property
    def retention_rate(self) -> float | None:
        """信息留存率, or None before the first such walk-in of the day."""
        if not self.walk_ins_first:
            return None
        return self.walk_ins_first_with_phone / self.walk_ins_first


def todays_traffic(session: Session, *, timezone: str, now: dt.datetime | None = None) -> Traffic:
    """The showroom register of the dealer's local day, newest first, with its figures."""
    start, end = local_day(now or clock.now(), timezone)
    visits = list(
        session.scalars(
            select(ShowroomVisit)
            .where(ShowroomVisit.arrived_at >= start, ShowroomVisit.arrived_at < end)
            .order_by(ShowroomVisit.arrived_at.desc(), ShowroomVisit.id.desc())
        )
    )
    walk_ins = [
        v for v in visits if v.appointment_id is None and v.first_visit and not v.closed_on_visit
    ]
    return Traffic(
        visits=visits,
        people=sum(v.party_size for v in visits),
        first_visits=sum(1 for v in visits if v.first_visit),
        walk_ins_first=len(walk_ins),
        walk_ins_first_with_phone=sum(1 for v in walk_ins if v.left_contact),
    )


def expected_today(session: Session, *, timezone: str) -> list[Appointment]:
    """Visits booked for today that have not arrived yet, earliest first."""
    start, end = local_day(clock.now(), timezone)
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.scheduled_at >= start,
                Appointment.scheduled_at < end,
                Appointment.status == AppointmentStatus.BOOKED,
            )
            .order_by(Appointment.scheduled_at)
        )
    )


def consultants(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.CONSULTANT, User.is_active.is_(True))
            .order_by(User.name)
        )
    )
