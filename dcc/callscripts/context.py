"""The real data an agent's script is filled with: customer, model, people, offered times.

The 5th step asks for a visit with a two-choice time (二选一): the two offered times are the
next two half-day slots, in the dealer's local time, in which the offered consultant has no
visit booked yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from dcc import clock, labels
from dcc.callscripts import service as callscripts
from dcc.callscripts.models import Offer
from dcc.config import Settings, parse_hours
from dcc.leads.models import Channel, Lead
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import Role, User

#: Half-day slots a visit is offered in: (start hour, offered time, end hour), local time.
HALF_DAYS = ((9, dt.time(10, 0), 12), (13, dt.time(15, 0), 18))
#: A visit is offered no sooner than this: the customer needs time to come.
LEAD_TIME = dt.timedelta(hours=2)
WEEKDAYS = "一二三四五六日"
#: Channels where the customer reached the dealer first: calling them back is a follow-up.
CALLED_IN = frozenset({Channel.HOTLINE, Channel.SHOWROOM_PHONE, Channel.WALK_IN})


@dataclass
class Slot:
    at: dt.datetime  # UTC
    label: str  # as the agent says it: 11月28日(周五)上午10:00


def model_of_interest(lead: Lead) -> str:
    """Series and model, without saying the same name twice (凯美瑞 + 凯美瑞 2.0G)."""
    series, model = lead.series, lead.model
    if series and model:
        if series in model:
            return model
        if model in series:
            return series
        return f"{series} {model}"
    return series or model or lead.brand or ""


def offered_consultant(session: Session, lead: Lead) -> User | None:
    """Who receives the visit: the lead's consultant owner, else the least booked consultant."""
    if lead.owner is not None and lead.owner.role == Role.CONSULTANT and lead.owner.is_active:
        return lead.owner
    booked = (
        select(func.count(Appointment.id))
        .where(
            Appointment.consultant_id == User.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.scheduled_at >= clock.now(),
        )
        .scalar_subquery()
    )
    return session.scalar(
        select(User)
        .where(User.role == Role.CONSULTANT, User.is_active.is_(True))
        .order_by(booked, User.id)
        .limit(1)
    )


def slot_label(at: dt.datetime, timezone: str) -> str:
    local = clock.local(at, timezone)
    half = "上午" if local.hour < 12 else "下午"
    hour = local.hour if local.hour <= 12 else local.hour - 12
    day = f"{local.month}月{local.day}日(周{WEEKDAYS[local.weekday()]})"
    return f"{day}{half}{hour}:{local.minute:02d}"


def _half_days(
    now: dt.datetime, timezone: str
) -> Iterator[tuple[dt.datetime, dt.datetime, dt.datetime]]:
    """(window start, offered time, window end) of every half day from today on, in UTC."""
    zone = ZoneInfo(timezone)
    day = clock.local(now, timezone).date()
    for offset in range(30):
        date = day + dt.timedelta(days=offset)
        for start_hour, offered, end_hour in HALF_DAYS:
            yield (
                dt.datetime.combine(date, dt.time(start_hour), zone).astimezone(dt.UTC),
                dt.datetime.combine(date, offered, zone).astimezone(dt.UTC),
                dt.datetime.combine(date, dt.time(end_hour), zone).astimezone(dt.UTC),
            )


def free_slots(
    session: Session,
    consultant: User | None,
    *,
    timezone: str,
    count: int = 2,
    now: dt.datetime | None = None,
    hours: tuple[int, int] | None = None,
) -> list[Slot]:
    """The next ``count`` half days in which ``consultant`` has no visit booked, at a time
    the showroom is open (``hours``: minutes since local midnight)."""
    now = now or clock.now()
    busy: list[dt.datetime] = []
    if consultant is not None:
        busy = list(
            session.scalars(
                select(Appointment.scheduled_at).where(
                    Appointment.consultant_id == consultant.id,
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.scheduled_at >= now,
                )
            )
        )
    slots: list[Slot] = []
    for start, offered, end in _half_days(now, timezone):
        if offered < now + LEAD_TIME or any(start <= at < end for at in busy):
            continue
        if hours is not None and not clock.within_hours(offered, timezone, hours):
            continue
        slots.append(Slot(offered, slot_label(offered, timezone)))
        if len(slots) == count:
            break
    return slots


@dataclass
class ScriptContext:
    """The placeholder values, and the people and times they came from (for the form)."""

    values: dict[str, str]
    consultant: User | None
    slots: list[Slot]


# Read for every outbound call placed (the script's variant): built once.
_BOOKED_VISIT = (
    select(Appointment)
    .where(
        Appointment.lead_id == bindparam("lead_id"),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.scheduled_at >= bindparam("now"),
    )
    .order_by(Appointment.scheduled_at)
    .limit(1)
)
_LAST_VISIT_STATUS = (
    select(Appointment.status)
    .where(Appointment.lead_id == bindparam("lead_id"))
    .order_by(Appointment.scheduled_at.desc(), Appointment.id.desc())
    .limit(1)
)


def booked_visit(session: Session, lead: Lead) -> Appointment | None:
    """The lead's next booked visit, if it has one."""
    return session.scalar(_BOOKED_VISIT, {"lead_id": lead.id, "now": clock.now()})


def current_offers(session: Session, timezone: str) -> list[Offer]:
    """The dealer's offers and events running today or later, soonest first."""
    today = clock.local(clock.now(), timezone).date()
    return list(
        session.scalars(
            select(Offer)
            .where(Offer.is_active.is_(True), Offer.ends_on >= today)
            .order_by(Offer.starts_on, Offer.id)
        )
    )


def variant_for(session: Session, lead: Lead | None, *, inbound: bool) -> str:
    """Which wording of the script this call needs, from the call's direction and the lead."""
    if inbound:
        known = lead is not None and (
            bool(lead.customer.name) or lead.first_response_at is not None
        )
        return callscripts.INBOUND_KNOWN if known else callscripts.INBOUND_FIRST
    if lead is None:
        return callscripts.INVITATION_CALL
    if booked_visit(session, lead) is not None:
        return callscripts.CONFIRMATION
    last = session.scalar(_LAST_VISIT_STATUS, {"lead_id": lead.id})
    if last == AppointmentStatus.NO_SHOW:
        return callscripts.NO_SHOW
    if lead.is_repurchase or lead.channel == Channel.REPURCHASE:
        return callscripts.REPURCHASE
    if lead.first_response_at is None and lead.channel not in CALLED_IN:
        return callscripts.NEW_LEAD
    if lead.grade.value in ("H", "A"):
        return callscripts.INVITATION_CALL
    return callscripts.FOLLOW_UP


def for_lead(session: Session, lead: Lead | None, agent: User, settings: Settings) -> ScriptContext:
    """Everything the script's placeholders need, from the lead, the agent and the dealer.

    A lead with a visit booked is offered that visit (its time and consultant), not another.
    """
    booked = booked_visit(session, lead) if lead is not None else None
    consultant: User | None
    if booked is not None and booked.consultant is not None:
        consultant = booked.consultant
    else:
        consultant = offered_consultant(session, lead) if lead is not None else None
    slots = free_slots(
        session, consultant, timezone=settings.timezone, hours=parse_hours(settings.opening_hours)
    )
    offers = current_offers(session, settings.timezone)
    values = {
        "agent_name": agent.name,
        "dealer_name": settings.dealer_name,
        "consultant_name": consultant.name if consultant else "",
        "visit_time_1": slots[0].label if slots else "",
        "visit_time_2": slots[1].label if len(slots) > 1 else "",
        "offer": "；".join(offer.title for offer in offers[:2]),
    }
    if booked is not None:
        values["appointment_time"] = slot_label(booked.scheduled_at, settings.timezone)
    if lead is not None:
        source = lead.source.name if lead.source else ""
        values.update(
            customer_name=lead.customer.name,
            model=model_of_interest(lead),
            source=lead.sub_source or source or labels.of(lead.channel),
            city=lead.customer.city or "",
        )
    return ScriptContext(values, consultant, slots)
