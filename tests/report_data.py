"""A hand-built dealership month (March 2026, Asia/Shanghai) whose report figures are known.

The expected numbers in the report tests are written by hand from this description, never
recomputed by the code under test.

North team (北区): agents alice and bob, manager boss, supervisor sup. South team: carol.

Ten north leads received in March (alice owns 1-5, bob 6-10):
  1 invalid (received 2026-03-01 00:10 local: 2026-02-28 16:10 UTC, inside March locally)
  2, 3 invited, arrived, ordered       4 invited, arrived       5 invited, arrived, dormant
  6, 7 invited, never came             8 contacting
  9 lost: budget (objective)           10 lost: competitor (subjective), confirmed 2026-03-20
First responses after 60, 120, 240, 299, 301, 600, 900, 1800, 3600 s (leads 1-9); 10 none.
Outside: a lead received 2026-02-28 23:50 local; a lead lost in February. South: carol's
March lead, lost for design (objective).

Calls: alice on 03-05 dials 3 (2 answered: 120 s and 60 s) and answers 1 inbound call (90 s);
bob misses that inbound call; bob on 03-06 dials 2, none answered. alice books two
appointments on 03-05; one arrives on 03-07.

Showroom (March 10): 18 first-visit walk-ins not closed, 17 of them left a phone; 2 first
visits that closed; 3 return visits; 1 first visit on an appointment (the 03-07 arrival).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.customers.models import Customer
from dcc.leads.models import Channel, Lead, LeadStatus, LostReason, ValueTier
from dcc.sales.models import Appointment, AppointmentStatus, ShowroomVisit
from dcc.users.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
_phones = itertools.count(1)
_sids = itertools.count(1)


def local(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> dt.datetime:
    """A Shanghai wall-clock time in 2026, as aware UTC."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class World:
    alice: User
    bob: User
    carol: User
    boss: User
    sup: User
    admin: User
    agent_token: dict[str, str]
    leads: list[Lead]


def customer(session: Session) -> Customer:
    row = Customer(phone=f"+86138001{next(_phones):05d}", name="客户")
    session.add(row)
    session.flush()
    return row


def lead(session: Session, owner: User, created: dt.datetime, **kw: object) -> Lead:
    row = Lead(
        customer_id=customer(session).id,
        channel=kw.pop("channel", Channel.PORTAL),
        value_tier=ValueTier.VALUE,
        owner_id=owner.id,
        team_id=owner.team_id,
        created_at=created,
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def build(session: Session, staff: object) -> World:
    alice = staff.user("alice", "dcc_agent", team="北区", name="Alice")  # type: ignore[attr-defined]
    bob = staff.user("bob", "dcc_agent", team="北区", name="Bob")  # type: ignore[attr-defined]
    carol = staff.user("carol", "dcc_agent", team="南区", name="Carol")  # type: ignore[attr-defined]
    boss = staff.user("boss", "manager", team="北区")  # type: ignore[attr-defined]
    sup = staff.user("sup", "supervisor", team="北区")  # type: ignore[attr-defined]
    admin = staff.user("root", "admin")  # type: ignore[attr-defined]
    consultant = staff.user("gu", "consultant", team="北区")  # type: ignore[attr-defined]
    s = LeadStatus
    day5 = local(5)
    seconds = [60, 120, 240, 299, 301, 600, 900, 1800, 3600]
    specs: list[dict[str, object]] = [
        {"status": s.INVALID, "created_at": local(1, 0, 10)},
        {"status": s.ORDERED, "invited": True, "arrived": True, "channel": Channel.HOTLINE},
        {"status": s.ORDERED, "invited": True, "arrived": True},
        {"status": s.ARRIVED, "invited": True, "arrived": True},
        {"status": s.DORMANT, "invited": True, "arrived": True},
        {"status": s.INVITED, "invited": True},
        {"status": s.INVITED, "invited": True, "series": "汉兰达"},
        {"status": s.CONTACTING},
        {"status": s.LOST, "lost_reason": LostReason.BUDGET},
        {"status": s.LOST, "lost_reason": LostReason.COMPETITOR},
    ]
    leads = []
    for n, spec in enumerate(specs):
        created = spec.pop("created_at", day5)
        assert isinstance(created, dt.datetime)
        invited, arrived = spec.pop("invited", False), spec.pop("arrived", False)
        spec.setdefault("series", "凯美瑞")
        row = lead(
            session,
            alice if n < 5 else bob,
            created,
            invited_at=created + dt.timedelta(hours=1) if invited else None,
            arrived_at=created + dt.timedelta(days=2) if arrived else None,
            first_response_at=created + dt.timedelta(seconds=seconds[n]) if n < 9 else None,
            closed_at=local(20) if spec["status"] in (s.LOST, s.INVALID) else None,
            **spec,
        )
        leads.append(row)
    lead(session, alice, local(28, 23, 50, month=2))  # the day before March, locally
    lead(
        session,
        bob,
        local(2, month=2),
        status=s.LOST,
        lost_reason=LostReason.PRICE,
        closed_at=local(20, month=2),
    )
    lead(session, carol, day5, status=s.LOST, lost_reason=LostReason.DESIGN, closed_at=local(20))

    # Calls (see the module docstring).
    def call(
        agent: User, direction: CallDirection, leg: str, at: dt.datetime, **kw: object
    ) -> Call:
        row = Call(
            sid=f"CA{next(_sids):032d}",
            agent_id=agent.id,
            lead_id=leads[1].id,
            direction=direction,
            leg=leg,
            created_at=at,
            **kw,
        )
        session.add(row)
        session.flush()
        return row

    out, inb = CallDirection.OUTBOUND, CallDirection.INBOUND
    for duration in (120, 60, None):
        parent = call(alice, out, "agent", day5, status=CallStatus.COMPLETED, answered_at=day5)
        answered = day5 if duration else None
        status = CallStatus.COMPLETED if duration else CallStatus.NO_ANSWER
        call(
            alice,
            out,
            "customer",
            day5,
            parent_sid=parent.sid,
            status=status,
            answered_at=answered,
            duration=duration,
        )
    caller = call(alice, inb, "customer", day5, status=CallStatus.COMPLETED, answered_at=day5)
    call(
        alice,
        inb,
        "agent",
        day5,
        parent_sid=caller.sid,
        status=CallStatus.COMPLETED,
        answered_at=day5,
        duration=90,
    )
    call(bob, inb, "agent", day5, parent_sid=caller.sid, status=CallStatus.NO_ANSWER)
    day6 = local(6)
    for _ in range(2):
        parent = call(bob, out, "agent", day6, status=CallStatus.COMPLETED, answered_at=day6)
        call(bob, out, "customer", day6, parent_sid=parent.sid, status=CallStatus.BUSY)

    # Appointments booked by alice on 03-05; one arrives on 03-07.
    kept = Appointment(
        lead_id=leads[3].id,
        booked_by_id=alice.id,
        scheduled_at=local(7),
        status=AppointmentStatus.ARRIVED,
        arrived_at=local(7),
        created_at=day5,
    )
    missed = Appointment(
        lead_id=leads[5].id,
        booked_by_id=alice.id,
        scheduled_at=local(8),
        status=AppointmentStatus.NO_SHOW,
        created_at=day5,
    )
    session.add_all([kept, missed])
    session.flush()
    session.add(
        ShowroomVisit(
            lead_id=leads[3].id,
            customer_id=leads[3].customer_id,
            appointment_id=kept.id,
            arrived_at=local(7),
            first_visit=True,
            left_contact=True,
            consultant_id=consultant.id,
        )
    )

    # Showroom traffic on 03-10: anonymous walk-ins served by the north team's consultant.
    day10 = local(10, 14)
    visits = [dict(first_visit=True, left_contact=i < 17, party_size=2) for i in range(18)]
    visits += [dict(first_visit=True, left_contact=True, closed_on_visit=True)] * 2
    visits += [dict(first_visit=False, left_contact=True)] * 3
    for kw in visits:
        session.add(ShowroomVisit(arrived_at=day10, consultant_id=consultant.id, **kw))
    session.commit()
    return World(alice, bob, carol, boss, sup, admin, staff.token(alice), leads)  # type: ignore[attr-defined]
