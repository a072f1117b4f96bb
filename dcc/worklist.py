"""An agent's worklist: what to do next, most urgent first (the agent screen's home page).

New leads come first while their speed-to-lead clock runs (red once the first-response SLA is
past), then due callbacks (the agent's own, and the team's released ones), then due follow-ups
by grade; today's appointments and the count of open leads per grade are shown beside them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload

from dcc import access, clock
from dcc.calls import dialer, routing, wrapup
from dcc.calls import policy as call_policy
from dcc.calls.models import TERMINAL_CALL_STATUSES, Call
from dcc.config import Settings
from dcc.customers.models import Customer
from dcc.jobs import policy
from dcc.leads.models import (
    OPEN_STATUSES,
    Callback,
    FollowUp,
    FollowUpStatus,
    Grade,
    Lead,
    LeadStatus,
)
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import User
from telephony import Telephony

#: Grades the worklist counts, in the order the trade reads them.
COUNTED_GRADES = (Grade.H, Grade.A, Grade.B, Grade.C, Grade.N, Grade.O)
#: The due follow-ups the worklist lists at most (the most urgent); the rest are counted.
FOLLOW_UPS_SHOWN = 50
#: Follow-ups of hotter grades come first among follow-ups due at the same time.
_GRADE_RANK = {Grade.O: 0, Grade.H: 1, Grade.A: 2, Grade.N: 3, Grade.B: 4, Grade.C: 5}


@dataclass
class WorkItem:
    """One thing to do: call a new lead, take a callback, or make a follow-up call."""

    kind: str  # new_lead, callback, follow_up
    lead: Lead
    due_at: dt.datetime
    rank: tuple[int, int, float]
    overdue: bool = False  # a new lead past the first-response SLA
    callback: Callback | None = None
    follow_up: FollowUp | None = None
    team_callback: bool = False  # a released callback of a teammate's lead


@dataclass
class Worklist:
    items: list[WorkItem]
    appointments: list[Appointment]
    grade_counts: dict[str, int]
    sla_minutes: int
    now: dt.datetime = field(default_factory=clock.now)
    awaiting: list[Call] = field(default_factory=list)  # calls whose outcome is owed
    more_follow_ups: int = 0  # due follow-ups beyond those listed

    @property
    def due_count(self) -> int:
        """Everything due now: the items listed and the follow-ups beyond them."""
        return len(self.items) + self.more_follow_ups


#: A call's dialled legs (built once: an alias is costly to build on every page).
_LEG = aliased(Call)
#: How far back a call still counts as the agent's current one, or as owing its outcome.
CALL_MEMORY = dt.timedelta(hours=12)


def _own_calls(user: User, now: dt.datetime) -> list[ColumnElement[bool]]:
    """The conversations ``user`` was given (a dialled leg belongs to its parent's)."""
    return [
        Call.agent_id == user.id,
        Call.parent_sid.is_(None),
        Call.lead_id.is_not(None),
        Call.created_at >= now - CALL_MEMORY,
    ]


def current_call(session: Session, user: User, now: dt.datetime | None = None) -> Call | None:
    """The call ``user`` is on now (ringing or talking), for the panel of every page."""
    now = now or clock.now()
    return session.scalar(
        select(Call)
        .where(*_own_calls(user, now), Call.status.not_in(TERMINAL_CALL_STATUSES))
        .order_by(Call.id.desc())
        .limit(1)
    )


def awaiting_outcome(session: Session, user: User, now: dt.datetime | None = None) -> list[Call]:
    """Ended calls in which the customer was reached and whose outcome is still owed."""
    now = now or clock.now()
    reached = exists().where(_LEG.parent_sid == Call.sid, _LEG.answered_at.is_not(None))
    return list(
        session.scalars(
            select(Call)
            .join(Lead, Lead.id == Call.lead_id)
            .where(
                *_own_calls(user, now),
                Call.status.in_(TERMINAL_CALL_STATUSES),
                Call.outcome.is_(None),
                reached,
                Lead.status.in_(OPEN_STATUSES),
            )
            .order_by(Call.id.desc())
        )
    )


def local_day(now: dt.datetime, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The dealer's calendar day around ``now``, as a UTC [start, end) pair."""
    local = clock.local(now, timezone)
    start = dt.datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(timezone))
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def build(
    session: Session, user: User, *, timezone: str, now: dt.datetime | None = None
) -> Worklist:
    """Everything ``user`` should do now, sorted by urgency."""
    now = now or clock.now()
    sla = policy.load(session).first_response_sla_minutes
    follow_ups = _due_follow_ups(session, user, now)
    more_follow_ups = 0
    if len(follow_ups) == FOLLOW_UPS_SHOWN:  # perhaps more: counted, not listed
        more_follow_ups = _count_follow_ups_due(session, user, now) - FOLLOW_UPS_SHOWN
    items = [
        *_new_leads(session, user, now, sla),
        *_due_callbacks(session, user, now),
        *follow_ups,
    ]
    items.sort(key=lambda item: item.rank)
    return Worklist(
        items=items,
        appointments=_todays_appointments(session, user, now, timezone),
        grade_counts=grade_counts(session, user),
        sla_minutes=sla,
        now=now,
        awaiting=awaiting_outcome(session, user, now),
        more_follow_ups=more_follow_ups,
    )


def follow_ups_wait(session: Session, user: User, *, settings: Settings) -> bool:
    """Whether ``user``'s follow-up calls wait: starting one would leave fewer agents ready for
    the hotline and new leads than the dealer keeps (``keep_ready_agents``). New leads and
    callbacks never wait."""
    keep = call_policy.load(session).keep_ready_agents
    if keep <= 0:
        return False
    ready = routing.ready_agents(session, softphone=settings.softphone, inbound=True)
    return sum(agent.id != user.id for agent in ready) < keep


def next_due(
    session: Session,
    user: User,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    follow_ups: bool = True,
) -> WorkItem | None:
    """The most urgent thing due now, the list's first item, found without building the whole
    list: what "Call the next one" dials. Follow-ups are left out with ``follow_ups=False``,
    and while they wait (:func:`follow_ups_wait`)."""
    now = now or clock.now()
    sla = policy.load(session).first_response_sla_minutes
    items = [*_new_leads(session, user, now, sla), *_due_callbacks(session, user, now)]
    if follow_ups and not follow_ups_wait(session, user, settings=settings):
        items += _due_follow_ups(session, user, now, limit=1, callable_only=True)
    # A customer who asked not to be called stays on the list (to be closed), never dialled.
    callable_ = (i for i in items if i.due_at <= now and not i.lead.customer.do_not_call)
    return min(callable_, key=lambda i: i.rank, default=None)


def call(
    session: Session, item: WorkItem, *, agent: User, settings: Settings, telephony: Telephony
) -> Call:
    """Call the customer of ``item``: a due callback is taken (no teammate takes it too), any
    other item's lead is dialled. Refusals as :func:`dcc.calls.dialer.dial` makes them."""
    if item.callback is not None:
        return wrapup.take_callback(
            session, item.callback, agent=agent, settings=settings, telephony=telephony
        )
    return dialer.dial(session, item.lead, agent=agent, settings=settings, telephony=telephony)


#: The user's new leads, each with its customer: read whenever they ask for the next call.
_NEW_LEADS = (
    select(Lead)
    .where(Lead.owner_id == bindparam("user_id"), Lead.status == LeadStatus.NEW)
    .options(joinedload(Lead.customer))
)


def _new_leads(session: Session, user: User, now: dt.datetime, sla: int) -> list[WorkItem]:
    leads = session.scalars(_NEW_LEADS, {"user_id": user.id}).all()
    items = []
    for lead in leads:
        overdue = now - lead.created_at > dt.timedelta(minutes=sla)
        # Oldest first: the longer a new lead waits, the less likely it still answers.
        rank = (0 if overdue else 1, 0, lead.created_at.timestamp())
        items.append(WorkItem("new_lead", lead, lead.created_at, rank, overdue=overdue))
    return items


@functools.cache
def _due_callbacks_query(with_team: bool) -> Select[Callback]:
    """The user's due callbacks, each with its lead and customer, as a prebuilt statement
    (read whenever an agent asks for the next call)."""
    return (
        select(Callback)
        .where(access.pending_callbacks_clause(with_team), Callback.due_at <= bindparam("now"))
        .order_by(Callback.due_at)
        .options(joinedload(Callback.lead).joinedload(Lead.customer))
    )


def _due_callbacks(session: Session, user: User, now: dt.datetime) -> list[WorkItem]:
    with_team, parameters = access.pending_callbacks_parameters(user)
    rows = session.scalars(_due_callbacks_query(with_team), {**parameters, "now": now}).all()
    return [
        WorkItem(
            "callback",
            row.lead,
            row.due_at,
            (2, 0, row.due_at.timestamp()),
            callback=row,
            team_callback=row.owner_id != user.id,
        )
        for row in rows
        if row.lead.is_open
    ]


#: The follow-ups due: the user's (``user_id``), open, due by ``now``, of a lead still worked.
_FOLLOW_UPS_DUE: tuple[ColumnElement[bool], ...] = (
    FollowUp.owner_id == bindparam("user_id"),
    FollowUp.status == FollowUpStatus.OPEN,
    FollowUp.due_at <= bindparam("now"),
    Lead.status.in_(OPEN_STATUSES - {LeadStatus.NEW, LeadStatus.DORMANT}),
)


@functools.cache
def _due_follow_ups_query(limit: int, callable_only: bool) -> Select[FollowUp]:
    """The most urgent due follow-ups, as a prebuilt statement (read whenever an agent asks
    for the next call)."""
    also = (Lead.customer.has(Customer.do_not_call.is_(False)),) if callable_only else ()
    return (
        select(FollowUp)
        .join(Lead, Lead.id == FollowUp.lead_id)
        .where(*_FOLLOW_UPS_DUE, *also)
        .order_by(case(_GRADE_RANK, value=Lead.grade, else_=9), FollowUp.due_at, FollowUp.id)
        .limit(limit)
        # One query for the list: each row shows its lead and customer.
        .options(contains_eager(FollowUp.lead).joinedload(Lead.customer))
    )


def _due_follow_ups(
    session: Session,
    user: User,
    now: dt.datetime,
    *,
    limit: int = FOLLOW_UPS_SHOWN,
    callable_only: bool = False,
) -> list[WorkItem]:
    """The ``limit`` most urgent due follow-ups: an agent behind on follow-ups sees the
    hottest first, not a page of hundreds. ``callable_only`` leaves out the customers who
    asked not to be called."""
    rows = session.scalars(
        _due_follow_ups_query(limit, callable_only), {"user_id": user.id, "now": now}
    ).all()
    return [
        WorkItem(
            "follow_up",
            row.lead,
            row.due_at,
            (3, _GRADE_RANK.get(row.lead.grade, 9), row.due_at.timestamp()),
            follow_up=row,
        )
        for row in rows
    ]


def _count_follow_ups_due(session: Session, user: User, now: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .join(Lead, Lead.id == FollowUp.lead_id)
            .where(*_FOLLOW_UPS_DUE),
            {"user_id": user.id, "now": now},
        )
        or 0
    )


def _todays_appointments(
    session: Session, user: User, now: dt.datetime, timezone: str
) -> list[Appointment]:
    start, end = local_day(now, timezone)
    return list(
        session.scalars(
            select(Appointment)
            .join(Lead, Lead.id == Appointment.lead_id)
            .where(
                Appointment.scheduled_at >= start,
                Appointment.scheduled_at < end,
                Appointment.status.in_([AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED]),
                or_(
                    Appointment.consultant_id == user.id,
                    Appointment.booked_by_id == user.id,
                    Lead.owner_id == user.id,
                ),
                access.visible_leads(user),  # who booked it loses it with the lead
            )
            .order_by(Appointment.scheduled_at)
        )
    )


def grade_counts(session: Session, user: User) -> dict[str, int]:
    """How many open leads ``user`` owns per grade (H/A/B/C/N/O), zeros included."""
    rows = session.execute(
        select(Lead.grade, func.count())
        .where(Lead.owner_id == user.id, Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.grade)
    ).all()
    found = {grade.value: count for grade, count in rows}
    return {grade.value: found.get(grade.value, 0) for grade in COUNTED_GRADES}
