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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import clock, labels
from dcc.config import Settings
from dcc.leads.models import Lead
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import Role, User

#: Half-day slots a visit is offered in: (start hour, offered time, end hour), local time.
HALF_DAYS = ((9, dt.time(10, 0), 12), (13, dt.time(15, 0), 18))
#: A visit is offered no sooner than this: the customer needs time to come.
LEAD_TIME = dt.timedelta(hours=2)
WEEKDAYS = "一二三四五六日"


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
) -> list[Slot]:
    """The next ``count`` half days in which ``consultant`` has no visit booked."""
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


def for_lead(session: Session, lead: Lead | None, agent: User, settings: Settings) -> ScriptContext:
    """Everything the script's placeholders need, from the lead, the agent and the dealer."""
    consultant = offered_consultant(session, lead) if lead is not None else None
    slots = free_slots(session, consultant, timezone=settings.timezone)
    values = {
        "agent_name": agent.name,
        "dealer_name": settings.dealer_name,
        "consultant_name": consultant.name if consultant else "",
        "visit_time_1": slots[0].label if slots else "",
        "visit_time_2": slots[1].label if len(slots) > 1 else "",
    }
    if lead is not None:
        source = lead.source.name if lead.source else ""
        values.update(
            customer_name=lead.customer.name,
            model=model_of_interest(lead),
            source=lead.sub_source or source or labels.of(lead.channel),
        )
    return ScriptContext(values, consultant, slots)
