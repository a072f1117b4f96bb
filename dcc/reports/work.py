"""What each agent did per local day, summed straight from calls, bookings and visits.

Definitions (the call model: an outbound call is the agent leg placed first, with the
customer leg it dialled as a child; an inbound call is the caller's leg, with one child leg
per agent rung):

- dialled (外呼量): outbound calls placed by the agent (outbound legs without a parent)
- outbound connects (外呼接通): outbound customer legs the customer answered
- inbound answered (呼入接听): inbound agent legs the agent answered
- calls (通话量) = dialled + inbound answered; connects (接通量) = outbound connects + inbound
  answered
- talk time (通话时长, seconds): the provider's duration of the answered customer legs
  (outbound) and of the answered agent legs (inbound), the legs that carried the conversation
- appointments (邀约): appointments the agent booked that day
- arrivals (到店): showroom visits that day on an appointment the agent booked
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from dcc.calls.models import CUSTOMER_FIRST, Call, CallDirection
from dcc.reports.period import as_date, local_day
from dcc.sales.models import Appointment, ShowroomVisit

AgentDayKey = tuple[dt.date, int]
AgentFilter = Callable[[Any], ColumnElement[bool]]


@dataclass
class Work:
    """One agent's work over some time (a day, or a period when summed)."""

    dialled: int = 0
    outbound_connects: int = 0
    inbound_answered: int = 0
    talk_seconds: int = 0
    appointments: int = 0
    arrivals: int = 0

    def add(self, other: Work) -> None:
        # Spelled out: a year of agent-days is some 60,000 additions per report.
        self.dialled += other.dialled
        self.outbound_connects += other.outbound_connects
        self.inbound_answered += other.inbound_answered
        self.talk_seconds += other.talk_seconds
        self.appointments += other.appointments
        self.arrivals += other.arrivals

    def is_empty(self) -> bool:
        return not (
            self.dialled
            or self.outbound_connects
            or self.inbound_answered
            or self.talk_seconds
            or self.appointments
            or self.arrivals
        )


#: Calls the agent placed: a customer rung first was placed by the system, and the agent who
#: took it from the queue answered it (their pickup leg counts in :data:`INBOUND_ANSWER`).
DIALLED = and_(
    Call.direction == CallDirection.OUTBOUND,
    Call.parent_sid.is_(None),
    Call.kind.is_distinct_from(CUSTOMER_FIRST),
)
OUTBOUND_CONNECT = and_(
    Call.direction == CallDirection.OUTBOUND,
    Call.leg == "customer",
    Call.parent_sid.is_not(None),
    Call.answered_at.is_not(None),
)
INBOUND_ANSWER = and_(
    Call.direction == CallDirection.INBOUND,
    Call.leg == "agent",
    Call.answered_at.is_not(None),
)


def live(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    timezone: str,
    agents: AgentFilter | None = None,
) -> dict[AgentDayKey, Work]:
    """Each agent's work per local day between ``start`` and ``end`` (UTC), from the raw rows.

    ``agents(column)`` limits the agents counted (None: all).
    """
    result: dict[AgentDayKey, Work] = defaultdict(Work)
    call_day = local_day(Call.created_at, timezone)
    talk = case((OUTBOUND_CONNECT | INBOUND_ANSWER, func.coalesce(Call.duration, 0)), else_=0)
    calls = (
        select(
            call_day,
            Call.agent_id,
            func.count().filter(DIALLED),
            func.count().filter(OUTBOUND_CONNECT),
            func.count().filter(INBOUND_ANSWER),
            func.coalesce(func.sum(talk), 0),
        )
        .where(Call.created_at >= start, Call.created_at < end, Call.agent_id.is_not(None))
        .group_by(call_day, Call.agent_id)
    )
    for day, agent, dialled, connects, answered, seconds in session.execute(
        _limited(calls, Call.agent_id, agents)
    ):
        work = result[(as_date(day), agent)]
        work.dialled, work.outbound_connects = dialled, connects
        work.inbound_answered, work.talk_seconds = answered, int(seconds)
    window = (start, end, timezone, agents)
    for key, n in _per_booker(session, Appointment.created_at, *window):
        result[key].appointments = n
    on_booking = (Appointment, Appointment.id == ShowroomVisit.appointment_id)
    for key, n in _per_booker(session, ShowroomVisit.arrived_at, *window, join=on_booking):
        result[key].arrivals = n
    return dict(result)


def _limited(stmt: Any, column: Any, agents: AgentFilter | None) -> Any:
    return stmt if agents is None else stmt.where(agents(column))


def _per_booker(
    session: Session,
    moment: Any,
    start: dt.datetime,
    end: dt.datetime,
    timezone: str,
    agents: AgentFilter | None,
    *,
    join: tuple[Any, Any] | None = None,
) -> list[tuple[AgentDayKey, int]]:
    """How many rows have ``moment`` between ``start`` and ``end``, per local day and agent who
    booked the appointment (``join`` reaches the appointment from another table)."""
    day = local_day(moment, timezone)
    booker = Appointment.booked_by_id
    stmt = select(day, booker, func.count())
    if join is not None:
        stmt = stmt.join(*join)
    stmt = stmt.where(moment >= start, moment < end, booker.is_not(None)).group_by(day, booker)
    rows = session.execute(_limited(stmt, booker, agents))
    return [((as_date(d), agent), n) for d, agent, n in rows]
