"""Four hand-built weeks of hotline calls and web leads whose staffing inputs are known.

The weeks run up to NOW, Monday 2026-03-30 06:00 in Shanghai: from Monday 03-02 06:00 on.
North team: agents alice and bob (bob answers no inbound work), supervisor sup, manager boss.
South team: agent carol. An admin, root.

Every Saturday (03-07 … 03-28), 10:00-10:30, north leads:
  six hotline calls: five answered after 10 s, 230 s of talk, the result saved 30 s after the
  call; one hung up after 50 s;
  two web leads (portal), at 10:05 and 10:20, each called first by alice: 100 s, the result
  saved 30 s later.
Every Monday 09:00-09:30: one hotline call that hung up after 70 s (a north lead).
Once: a web lead on Friday 03-27 22:00 (after calling hours: counted at Saturday 08:00), never
called; a hotline call on Tuesday 03-24 23:00 (after opening hours); a call and a web lead on
Saturday 02-28, before the weeks. South: a web lead every Saturday at 10:10 (carol's).

So, Saturday 10:00: 6 calls and 2 (north) or 3 (dealer-wide) web leads a week; talk 230 s,
web call 100 s, wrap-up 30 s; patience (20·10 + 4·50 + 4·70) / 8 = 85 s over the week.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.customers.models import Customer
from dcc.leads.models import Channel, FollowUp, FollowUpStatus, Lead, ValueTier
from dcc.users.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 30, 6, 0, tzinfo=SHANGHAI)
SATURDAYS = (7, 14, 21, 28)
MONDAYS = (2, 9, 16, 23)
SATURDAY, MONDAY = 5, 0
_numbers = itertools.count(1)


def local(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class StaffingWorld:
    alice: User
    bob: User
    carol: User
    sup: User
    boss: User
    admin: User


def _lead(session: Session, owner: User, created: dt.datetime, channel: Channel) -> Lead:
    customer = Customer(phone=f"+86139001{next(_numbers):05d}", name="客户")
    session.add(customer)
    session.flush()
    lead = Lead(
        customer_id=customer.id,
        channel=channel,
        value_tier=ValueTier.VALUE,
        owner_id=owner.id,
        team_id=owner.team_id,
        created_at=created,
    )
    session.add(lead)
    session.flush()
    return lead


def _result(session: Session, lead: Lead, owner: User, at: dt.datetime) -> None:
    session.add(
        FollowUp(
            lead_id=lead.id,
            owner_id=owner.id,
            due_at=lead.created_at,
            status=FollowUpStatus.DONE,
            result="已沟通",
            done_at=at,
        )
    )


def hotline_call(
    session: Session,
    owner: User,
    arrived: dt.datetime,
    *,
    wait: float,
    talk: float | None,
    wrap: float | None = None,
) -> Lead:
    """A caller on the 400 line: answered after ``wait`` s for ``talk`` s, or (talk None)
    hanging up after ``wait`` s; the result saved ``wrap`` s after the call."""
    lead = _lead(session, owner, arrived, Channel.HOTLINE)
    sid = f"CA{next(_numbers):032x}"
    answered = arrived + dt.timedelta(seconds=wait)
    ended = answered + dt.timedelta(seconds=talk) if talk is not None else answered
    session.add(
        Call(
            sid=sid,
            lead_id=lead.id,
            direction=CallDirection.INBOUND,
            leg="customer",
            status=CallStatus.COMPLETED,
            started_at=arrived,
            ended_at=ended,
            created_at=arrived,
        )
    )
    if talk is not None:
        session.add(
            Call(
                sid=f"CA{next(_numbers):032x}",
                parent_sid=sid,
                lead_id=lead.id,
                agent_id=owner.id,
                direction=CallDirection.INBOUND,
                leg="agent",
                status=CallStatus.COMPLETED,
                started_at=arrived,
                answered_at=answered,
                ended_at=ended,
                duration=int(talk),
                created_at=arrived,
            )
        )
    if wrap is not None:
        _result(session, lead, owner, ended + dt.timedelta(seconds=wrap))
    return lead


def web_lead(
    session: Session,
    owner: User,
    created: dt.datetime,
    *,
    call_after: float | None = None,
    busy: float = 100,
    wrap: float | None = None,
) -> Lead:
    """A portal lead; called by its owner ``call_after`` s later for ``busy`` s (None: never)."""
    lead = _lead(session, owner, created, Channel.PORTAL)
    if call_after is not None:
        placed = created + dt.timedelta(seconds=call_after)
        answered = placed + dt.timedelta(seconds=5)
        ended = answered + dt.timedelta(seconds=busy)
        session.add(
            Call(
                sid=f"CA{next(_numbers):032x}",
                lead_id=lead.id,
                agent_id=owner.id,
                direction=CallDirection.OUTBOUND,
                leg="agent",
                status=CallStatus.COMPLETED,
                requested_at=placed,
                started_at=placed,
                answered_at=answered,
                ended_at=ended,
                duration=int(busy),
                created_at=placed,
            )
        )
        if wrap is not None:
            _result(session, lead, owner, ended + dt.timedelta(seconds=wrap))
    return lead


def build(session: Session, staff: object) -> StaffingWorld:
    make = staff.user  # type: ignore[attr-defined]
    alice = make("alice", "dcc_agent", team="北区", name="Alice")
    bob = make("bob", "dcc_agent", team="北区", name="Bob")
    bob.takes_inbound = False
    carol = make("carol", "dcc_agent", team="南区", name="Carol")
    sup = make("sup", "supervisor", team="北区")
    boss = make("boss", "manager", team="北区")
    admin = make("root", "admin")
    for day in SATURDAYS:
        for n in range(5):
            hotline_call(session, alice, local(day, 10, n * 5), wait=10, talk=230, wrap=30)
        hotline_call(session, alice, local(day, 10, 27), wait=50, talk=None)
        for minute in (5, 20):
            web_lead(session, alice, local(day, 10, minute), call_after=20, busy=100, wrap=30)
        web_lead(session, carol, local(day, 10, 10), call_after=20, busy=100, wrap=30)
    for day in MONDAYS:
        hotline_call(session, alice, local(day, 9, 10), wait=70, talk=None)
    web_lead(session, alice, local(27, 22))  # after calling hours, never called
    hotline_call(session, alice, local(24, 23), wait=5, talk=60)  # after opening hours
    hotline_call(session, alice, local(28, 10, 0, month=2), wait=5, talk=60)  # before the weeks
    web_lead(session, alice, local(28, 10, 5, month=2), call_after=20)
    session.commit()
    return StaffingWorld(alice, bob, carol, sup, boss, admin)
