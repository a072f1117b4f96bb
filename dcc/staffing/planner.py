"""The staffing planner: how many agents each half hour of the week needs.

**What it measures.** Over the last ``weeks`` weeks (four by default; the dealer sets it) up to
``now``, per half hour of the week in the dealer's local time (7 × 48 slots, Monday 00:00
first):

- *hotline calls*: the 400 line's calls that arrived within opening hours (after hours the
  caller is owed a callback instead, which is no work for that half hour). A call answered by
  an agent gives a talk time (the agent leg's duration) and its wait (the agent's answer less
  the call's arrival); a call that ended unanswered was abandoned after waiting until it ended;
- *web leads*: leads from the website, the car portals and the OEM that arrived in the weeks.
  A lead that arrives outside calling hours is counted in the half hour calling opens, when it
  becomes work. Its work is the first call an agent places to it: the agent leg's duration;
- *wrap-up*: the time from a call's end to the first follow-up result saved on its lead within
  :data:`WRAP_WINDOW` afterwards.

A handle time is talk (or the web call) plus wrap-up. Patience is estimated the way
Mandelbaum & Zeltyn recommend for exponential patience with censored observations: total time
all queued callers waited (answered or not) over the number who hung up. Each figure is the
slot's own when the slot holds ``min_samples`` observations, else the whole week's, else the
dealer's default (:class:`~dcc.staffing.targets.Targets`).

**The model.** Two streams of work share one pool of agents:

1. hotline calls: Poisson arrivals at the slot's average rate, Erlang A (callers hang up with
   the measured patience). Calls have priority: a queued caller is connected to the next free
   agent before any lead is called, and a web lead never makes a caller wait longer. So the
   calls alone must meet their target: ``call_agents`` is the fewest agents answering
   ``call_answer_share`` of calls within ``call_answer_seconds``;
2. web leads: Poisson arrivals that wait in the worklist and never hang up (Erlang C, no
   abandonment). They are called with whatever capacity the calls leave, so they are checked
   on the pooled work: both streams merged into one queue (rates added, handle time the
   load-weighted mean) must start ``web_lead_share`` of its work within ``web_lead_seconds``.
   That gives ``pooled_agents``. Pooling without abandonment is conservative: callers who hang
   up only take work away.

The slot needs ``max(call_agents, pooled_agents)``: enough for the calls on their own target,
and enough for all the work together at the leads' target. Everything is computed from rows
read once; the result depends only on the data and ``now``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from dcc import clock
from dcc.access import visible_leads
from dcc.calls.models import Call, CallDirection
from dcc.config import Settings, get_settings, parse_hours
from dcc.leads.models import Channel, FollowUp, FollowUpStatus, Lead
from dcc.reports import scope
from dcc.staffing import erlang, rota
from dcc.staffing.targets import Targets
from dcc.staffing.targets import load as load_targets
from dcc.users.models import User

#: The channels whose leads arrive online and are owed a first call within a minute.
WEB_CHANNELS = (Channel.WEB, Channel.PORTAL, Channel.OEM)
#: A follow-up result saved this soon after a call ends counts as that call's wrap-up.
WRAP_WINDOW = dt.timedelta(minutes=15)
SLOT_SECONDS = rota.SLOT_MINUTES * 60
SLOTS = 7 * rota.SLOTS_PER_DAY


class Basis:
    """Where a figure came from."""

    SLOT = "slot"
    WEEK = "week"
    DEFAULT = "default"


@dataclass(frozen=True)
class Slot:
    """One half hour of the week: what was measured there and the agents it needs."""

    weekday: int  # Monday 0
    start_minute: int  # 0, 30, … 1410 after local midnight
    calls: float  # hotline calls per week, on average
    web_leads: float  # web leads per week, on average
    call_handle: float  # seconds: talk + wrap-up
    web_handle: float  # seconds: the first call + wrap-up
    patience: float  # seconds a queued caller waits on average before hanging up
    handle_basis: str
    patience_basis: str
    call_agents: int  # for the hotline's target alone
    pooled_agents: int  # for both streams at the web leads' target
    required: int
    service_level: float | None  # the hotline's, with ``required`` agents (None: no calls)

    @property
    def index(self) -> int:
        return self.weekday * rota.SLOTS_PER_DAY + self.start_minute // rota.SLOT_MINUTES

    @property
    def label(self) -> str:
        return rota.clock_text(self.start_minute)

    @property
    def call_traffic(self) -> erlang.Traffic:
        """The hotline's traffic in this half hour, for the Erlang A formulas."""
        return erlang.Traffic(self.calls / SLOT_SECONDS, self.call_handle, self.patience)


@dataclass(frozen=True)
class Measured:
    """The whole weeks' figures, as the planner measured them."""

    calls: int = 0
    answered: int = 0
    abandoned: int = 0
    after_hours: int = 0
    talk_seconds: float | None = None
    web_leads: int = 0
    web_calls: int = 0
    web_call_seconds: float | None = None
    wrap_ups: int = 0
    wrap_up_seconds: float | None = None
    patience_seconds: float | None = None


@dataclass(frozen=True)
class StaffingPlan:
    """The agents each half hour of the week needs, with the inputs behind each figure."""

    start: dt.datetime  # the weeks measured, UTC, half-open
    end: dt.datetime
    weeks: int
    timezone: str
    targets: Targets
    measured: Measured
    slots: list[Slot]  # 336, Monday 00:00 first

    def slot(self, weekday: int, start_minute: int) -> Slot:
        return self.slots[weekday * rota.SLOTS_PER_DAY + start_minute // rota.SLOT_MINUTES]

    def required_grid(self) -> list[list[int]]:
        """Required agents, 7 rows (Monday first) of 48 half hours."""
        per_day = rota.SLOTS_PER_DAY
        return [[s.required for s in self.slots[d * per_day : (d + 1) * per_day]] for d in range(7)]


# --- measuring -------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Sums for one slot, or for the week."""

    calls: int = 0
    answered: int = 0
    abandoned: int = 0
    talk: list[float] = field(default_factory=list)
    waited: float = 0.0  # seconds all queued callers waited, answered or not
    web_leads: int = 0
    web_calls: list[float] = field(default_factory=list)


def _slot_of(moment: dt.datetime, timezone: str) -> int:
    local = clock.local(moment, timezone)
    return local.weekday() * rota.SLOTS_PER_DAY + (local.hour * 60 + local.minute) // 30


def _seconds(later: dt.datetime | None, earlier: dt.datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds())


def _busy(duration: int | None, answered: dt.datetime | None, ended: dt.datetime | None) -> Any:
    """An agent leg's busy time: the provider's duration, else answer to end."""
    return float(duration) if duration else _seconds(ended, answered)


def _in_scope(stmt: Any, reader: User | None, lead_column: Any) -> Any:
    """Only the work of leads ``reader`` may see (nothing to add for dealer-wide readers)."""
    if reader is None or scope.dealer_wide(reader):
        return stmt
    return stmt.where(lead_column.in_(select(Lead.id).where(visible_leads(reader))))


@dataclass
class _Window:
    """The weeks measured, whose work counts (``reader``'s view), and the sums so far."""

    session: Session
    reader: User | None
    start: dt.datetime  # UTC, half-open
    end: dt.datetime
    settings: Settings
    tallies: dict[int, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    week: _Tally = field(default_factory=_Tally)

    def sums(self, moment: dt.datetime) -> tuple[_Tally, _Tally]:
        """What an event at ``moment`` adds to: its half hour's tally and the week's."""
        return self.tallies[_slot_of(moment, self.settings.timezone)], self.week


def _hotline(w: _Window) -> tuple[list[tuple[int | None, dt.datetime]], int]:
    """Count the hotline's calls; returns the answering legs (lead, end) and the after-hours."""
    session, reader, start, end, settings = w.session, w.reader, w.start, w.end, w.settings
    opening = parse_hours(settings.opening_hours)
    caller = aliased(Call)  # the caller's own leg
    in_weeks = _in_scope(
        select(caller.sid, caller.started_at, caller.created_at, caller.ended_at).where(
            caller.direction == CallDirection.INBOUND,
            caller.parent_sid.is_(None),
            caller.leg == "customer",
            caller.created_at >= start,
            caller.created_at < end,
        ),
        reader,
        caller.lead_id,
    )
    parents = session.execute(in_weeks).all()
    legs: dict[str, tuple[Any, ...]] = {}
    for row in session.execute(
        select(Call.parent_sid, Call.lead_id, Call.answered_at, Call.ended_at, Call.duration)
        .where(
            Call.parent_sid.in_(in_weeks.with_only_columns(caller.sid)),
            Call.leg == "agent",
            Call.answered_at.is_not(None),
        )
        .order_by(Call.answered_at)
    ):
        if row.parent_sid is not None:
            legs.setdefault(row.parent_sid, tuple(row))
    answered_legs: list[tuple[int | None, dt.datetime]] = []
    after_hours = 0
    for parent in parents:
        arrived = parent.started_at or parent.created_at
        if not clock.within_hours(arrived, settings.timezone, opening):
            after_hours += 1
            continue
        both = w.sums(arrived)
        answer = legs.get(parent.sid) if parent.sid else None
        for t in both:
            t.calls += 1
        if answer is not None:
            _, lead_id, answered_at, ended_at, duration = answer
            wait = _seconds(answered_at, arrived) or 0.0
            talk = _busy(duration, answered_at, ended_at)
            for t in both:
                t.answered += 1
                t.waited += wait
                if talk is not None:
                    t.talk.append(talk)
            if ended_at is not None:
                answered_legs.append((lead_id, ended_at))
        elif parent.ended_at is not None:  # hung up (or was cut off) before an answer
            wait = _seconds(parent.ended_at, arrived) or 0.0
            for t in both:
                t.abandoned += 1
                t.waited += wait
    return answered_legs, after_hours


def _web_leads(w: _Window) -> list[tuple[int | None, dt.datetime]]:
    """Count the web leads and their first calls; returns the answered first calls' ends."""
    session, reader, start, end, settings = w.session, w.reader, w.start, w.end, w.settings
    calling = parse_hours(settings.calling_hours)
    leads = select(Lead.id, Lead.created_at).where(
        Lead.channel.in_(WEB_CHANNELS), Lead.created_at >= start, Lead.created_at < end
    )
    if reader is not None:
        leads = leads.where(visible_leads(reader))
    rows = session.execute(leads).all()
    first_calls: dict[int, tuple[Any, ...]] = {}
    for row in session.execute(
        select(Call.lead_id, Call.answered_at, Call.ended_at, Call.duration)
        .where(
            Call.lead_id.in_(leads.with_only_columns(Lead.id)),
            Call.direction == CallDirection.OUTBOUND,
            Call.leg == "agent",
            Call.parent_sid.is_(None),
        )
        .order_by(Call.created_at, Call.id)
    ):
        if row.lead_id is not None:
            first_calls.setdefault(row.lead_id, tuple(row))
    ended: list[tuple[int | None, dt.datetime]] = []
    for lead_id, created_at in rows:
        due = clock.next_opening(created_at, settings.timezone, calling)
        both = w.sums(due)
        for t in both:
            t.web_leads += 1
        first = first_calls.get(lead_id)
        if first is None:
            continue
        _, answered_at, ended_at, duration = first
        busy = _busy(duration, answered_at, ended_at)
        if busy:
            for t in both:
                t.web_calls.append(busy)
            if ended_at is not None:
                ended.append((lead_id, ended_at))
    return ended


def _wrap_ups(
    session: Session, ended: list[tuple[int | None, dt.datetime]], start: dt.datetime
) -> list[float]:
    """For each ended call, the time until its lead's next follow-up result (if soon enough)."""
    wanted = {lead_id for lead_id, _ in ended if lead_id is not None}
    if not wanted:
        return []
    results: dict[int, list[dt.datetime]] = defaultdict(list)
    for done_lead, done_at in session.execute(
        select(FollowUp.lead_id, FollowUp.done_at)
        .where(
            FollowUp.status == FollowUpStatus.DONE,
            FollowUp.done_at >= start,
            FollowUp.done_at.is_not(None),
        )
        .order_by(FollowUp.done_at)
    ):
        if done_lead in wanted and done_at is not None:
            results[done_lead].append(done_at)
    samples: list[float] = []
    for lead_id, call_end in ended:
        if lead_id is None:
            continue
        after = next((d for d in results[lead_id] if d >= call_end), None)
        if after is not None and after - call_end <= WRAP_WINDOW:
            samples.append((after - call_end).total_seconds())
    return samples


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


# --- planning --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _needed(traffic: erlang.Traffic, target: float, share: float) -> int:
    return erlang.agents_needed(traffic, target, share)


def recommend(
    session: Session,
    *,
    now: dt.datetime,
    weeks: int | None = None,
    target: Targets | None = None,
    reader: User | None = None,
    settings: Settings | None = None,
) -> StaffingPlan:
    """The plan for a week like the last ``weeks`` (the dealer's setting unless given) before
    ``now``, for the dealer's targets (or ``target``). ``reader`` limits the work counted to
    what the reader may see (None: the whole dealership); ``settings`` gives the time zone and
    hours (the app's unless given)."""
    settings = settings or get_settings()
    targets = target or load_targets(session)
    weeks = weeks or targets.weeks
    if weeks < 1:
        raise ValueError("weeks must be 1 or more")
    end = now.astimezone(dt.UTC)
    start = end - dt.timedelta(weeks=weeks)
    window = _Window(session, reader, start, end, settings)
    answered, after_hours = _hotline(window)
    first_calls = _web_leads(window)
    tallies, week = window.tallies, window.week
    wraps = _wrap_ups(session, answered + first_calls, start)
    enough = targets.min_samples
    wrap = _mean(wraps) if len(wraps) >= enough else float(targets.wrap_up_seconds)
    assert wrap is not None
    week_talk = _mean(week.talk) if len(week.talk) >= enough else None
    week_web = _mean(week.web_calls) if len(week.web_calls) >= enough else None
    week_patience = week.waited / week.abandoned if week.abandoned >= enough else None
    measured = Measured(
        calls=week.calls,
        answered=week.answered,
        abandoned=week.abandoned,
        after_hours=after_hours,
        talk_seconds=_mean(week.talk),
        web_leads=week.web_leads,
        web_calls=len(week.web_calls),
        web_call_seconds=_mean(week.web_calls),
        wrap_ups=len(wraps),
        wrap_up_seconds=_mean(wraps),
        patience_seconds=week.waited / week.abandoned if week.abandoned else None,
    )
    slots = [
        _plan_slot(
            index,
            tallies.get(index) or _Tally(),
            weeks=weeks,
            targets=targets,
            wrap=wrap,
            week_talk=week_talk,
            week_web=week_web,
            week_patience=week_patience,
        )
        for index in range(SLOTS)
    ]
    return StaffingPlan(start, end, weeks, settings.timezone, targets, measured, slots)


def _plan_slot(
    index: int,
    tally: _Tally,
    *,
    weeks: int,
    targets: Targets,
    wrap: float,
    week_talk: float | None,
    week_web: float | None,
    week_patience: float | None,
) -> Slot:
    enough = targets.min_samples
    talk, basis = _pick(tally.talk, week_talk, targets.call_talk_seconds, enough)
    web, _ = _pick(tally.web_calls, week_web, targets.web_call_seconds, enough)
    if tally.abandoned >= enough:
        patience, patience_basis = tally.waited / tally.abandoned, Basis.SLOT
    elif week_patience is not None:
        patience, patience_basis = week_patience, Basis.WEEK
    else:
        patience, patience_basis = float(targets.patience_seconds), Basis.DEFAULT
    patience = max(patience, 1.0)
    call_handle, web_handle = talk + wrap, web + wrap
    calls, web_leads = tally.calls / weeks, tally.web_leads / weeks
    hotline = erlang.Traffic(calls / SLOT_SECONDS, call_handle, patience)
    call_agents = (
        _needed(hotline, targets.call_answer_seconds, targets.call_answer_share) if calls else 0
    )
    pooled_agents = 0
    if web_leads:
        rate = (calls + web_leads) / SLOT_SECONDS
        handle = (calls * call_handle + web_leads * web_handle) / (calls + web_leads)
        pooled = erlang.Traffic(rate, handle)
        pooled_agents = _needed(pooled, targets.web_lead_seconds, targets.web_lead_share)
    required = max(call_agents, pooled_agents)
    level = erlang.service_level(hotline, required, targets.call_answer_seconds) if calls else None
    day, half_hour = divmod(index, rota.SLOTS_PER_DAY)
    return Slot(
        weekday=day,
        start_minute=half_hour * rota.SLOT_MINUTES,
        calls=calls,
        web_leads=web_leads,
        call_handle=call_handle,
        web_handle=web_handle,
        patience=patience,
        handle_basis=basis,
        patience_basis=patience_basis,
        call_agents=call_agents,
        pooled_agents=pooled_agents,
        required=required,
        service_level=level,
    )


def _pick(
    samples: list[float], week: float | None, default: float, enough: int
) -> tuple[float, str]:
    """The slot's own mean when it has enough samples, else the week's, else the default."""
    if len(samples) >= enough:
        return sum(samples) / len(samples), Basis.SLOT
    if week is not None:
        return week, Basis.WEEK
    return float(default), Basis.DEFAULT
