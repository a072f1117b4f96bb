"""A dealership's days, played on the loop (:mod:`dcc.sim.loop`): its people at work.

The calendar holds the people's actions: arrivals (hotline callers, web leads, walk-ins),
shifts and breaks, wrap-ups, the clerk and the consultants, the manager's daily review; each
day's nightly work starts with the sweeper's pass. People act through the domain functions the
pages call (``ready.save_outcome``, ``worklist.call``, ``reception.arrive`` …), each action in
its own transaction, as a request would.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Collection
from decimal import Decimal

from flask import Flask
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from dcc import reception, worklist
from dcc.calls import events, ready
from dcc.calls.models import CUSTOMER_FIRST, Call, CallDirection
from dcc.db import load, load_one
from dcc.errors import DCCError
from dcc.jobs import sweeper
from dcc.leads import lifecycle, review, sources
from dcc.leads.models import Grade, Lead, LeadStatus
from dcc.sales import orders
from dcc.sales.models import Appointment
from dcc.sim import people
from dcc.sim.arrivals import HOTLINE, WEB, Arrival, day_arrivals
from dcc.sim.loop import Calendar
from dcc.sim.scenario import Scenario
from dcc.sim.world import Staff, customer_name, customer_phone, local_midnight
from dcc.staffing.rota import SLOT_MINUTES, SLOTS_PER_DAY
from dcc.users.models import AgentStatus, User
from dcc.voice import get_telephony
from telephony.simulator import Simulator

log = logging.getLogger(__name__)

#: Models a simulated customer asks about (the demo catalogue's).
SERIES = (("丰田", "凯美瑞"), ("丰田", "RAV4荣放"), ("丰田", "汉兰达"), ("丰田", "卡罗拉"))
ORDER = ("丰田", "凯美瑞", "2024款 2.0G", "豪华版")


#: An agent's latest leg, and the answers on the legs a call dialled: read at each wrap-up.
_LAST_LEG = (
    select(Call).where(Call.agent_id == bindparam("agent_id")).order_by(Call.id.desc()).limit(1)
)
_LEGS_ANSWERED = select(Call.leg, Call.answered_at, Call.answered_by).where(
    Call.parent_sid == bindparam("sid")
)
#: The agents in wrap-up, read after every write to the users.
_IN_WRAP_UP = select(User.id, User.status_since).where(User.agent_status == AgentStatus.WRAP_UP)
#: How long the run goes on after the last day: the nightly work runs by 03:00.
NIGHT = dt.timedelta(hours=3, minutes=30)


class Dealership(Calendar):
    """Plays ``days`` local days of ``scenario`` from ``first_day``."""

    def __init__(
        self,
        app: Flask,
        sim: Simulator,
        scenario: Scenario,
        staff: Staff,
        secrets: dict[str, str],
        *,
        seed: int,
        first_day: dt.date,
        days: int,
        skip_tasks: Collection[str] = (),
    ) -> None:
        super().__init__(app, sim, skip_tasks=skip_tasks)
        self.scenario, self.staff = scenario, staff
        self.secrets, self.days, self.first_day = secrets, days, first_day
        # Who comes, when and wanting what draws from streams of its own (each day's arrivals
        # from one, what they want from another), and what the staff decide from a third: a
        # change in the staff's behaviour (or their head-count) meets the very same customers.
        self.seed = seed
        self.customers = random.Random(seed)
        self.rng = random.Random(seed * 7919 + 2)
        self.start = local_midnight(first_day, self.timezone)
        self.end = local_midnight(first_day + dt.timedelta(days=days), self.timezone)
        self._wrapping: set[int] = set()
        self._dialling: dict[int, dt.datetime] = {}
        self._follow_ups: Counter[tuple[int, dt.date]] = Counter()
        self._days_planned = itertools.count(1)  # numbers each day's customers
        self.wrong_numbers: set[str] = set()
        self.web_leads: list[int] = []  # lead ids delivered by the web sources
        #: Agents at work (on shift, not on a break) in each half hour of each day, as played.
        self.on_shift: dict[dt.date, list[int]] = {}
        #: How many of the agents are at work (read every half hour): built once.
        self._at_work = (
            select(func.count())
            .select_from(User)
            .where(
                User.id.in_(staff.agents),
                User.on_shift.is_(True),
                User.agent_status != AgentStatus.AWAY,
            )
        )

    # ------------------------------------------------------------------ the run
    def run(self, on_day: Callable[[int], None] | None = None) -> None:
        """Play every day, then the night after the last one: its calls and due work end,
        and the nightly checks (no-shows, dormancy, the loop audit, the roll-ups) run.
        ``on_day(n)`` is told when ``n`` days are played (a progress line, a benchmark)."""
        for n in range(self.days):
            if on_day is not None and n:
                self.at(self.start + dt.timedelta(days=n), functools.partial(on_day, n))
            self.at(self.start + dt.timedelta(days=n), self._plan_day)
        self.at(self.end, self._last_night)
        self.play(self.end + NIGHT)

    def _last_night(self) -> None:
        """The sweeper's pass that plans the night after the last day."""
        sweeper.sweep_once(self.app)

    # ------------------------------------------------------------------ one day
    def _plan_day(self) -> None:
        local_day = (self.now() + dt.timedelta(hours=12)).astimezone(self.zone).date()
        sweeper.sweep_once(self.app)  # the nightly work of the loop, and the 30-day rule
        midnight = local_midnight(local_day, self.timezone)
        for agent, start, end in self.scenario.staff.duties(local_day.weekday()):
            self._plan_shift(self.staff.agents[agent], midnight, start, end)
        for slot in range(SLOTS_PER_DAY):  # the head-count, mid half hour
            middle = midnight + dt.timedelta(minutes=slot * SLOT_MINUTES + SLOT_MINUTES // 2)
            self.at(middle, functools.partial(self._count_on_shift, local_day, slot))
        review_at = midnight + dt.timedelta(minutes=self.scenario.managers.review_at)
        self.at(review_at, self._manager_review)
        # The day's customers come from a stream of their own, so the same seed brings the
        # same arrivals whatever the agents did before (the staffing what-if compares them).
        customers = random.Random(f"{self.seed}:arrivals:{local_day.isoformat()}")
        arrivals = day_arrivals(
            self.scenario, local_day, self.timezone, customers, next(self._days_planned) * 1000
        )
        for arrival in arrivals:
            self.at(arrival.at, functools.partial(self._arrive, arrival))

    def _plan_shift(self, agent_id: int, midnight: dt.datetime, start: int, end: int) -> None:
        staff = self.scenario.staff
        begin = midnight + dt.timedelta(minutes=start)
        finish = midnight + dt.timedelta(minutes=end)
        pause = begin + dt.timedelta(hours=staff.break_after_hours)
        self.at(begin, lambda: self._start_shift(agent_id))
        if staff.breaks and pause < finish:
            self.at(pause, lambda: self._take_break(agent_id))
            back = pause + dt.timedelta(minutes=staff.break_minutes)
            self.at(back, lambda: self._back_from_break(agent_id))
        self.at(finish, lambda: self._end_shift(agent_id))
        every = dt.timedelta(minutes=staff.worklist_every_minutes)
        check = begin + dt.timedelta(seconds=30)
        while check < finish:
            self.at(check, lambda: self._work_the_list(agent_id))
            check += every

    def _count_on_shift(self, day: dt.date, slot: int) -> None:
        """Note how many agents are at work in half hour ``slot`` of ``day``: on shift and
        not away on a break."""
        with self.database.session_scope() as session:
            count = session.scalar(self._at_work)
        self.on_shift.setdefault(day, [0] * SLOTS_PER_DAY)[slot] = count or 0

    # ------------------------------------------------------------------ agents
    def _agent(self, session: Session, agent_id: int) -> User:
        agent = load(session, User, agent_id)
        if agent is None:
            raise LookupError(f"agent {agent_id} is gone")
        return agent

    def _start_shift(self, agent_id: int) -> None:
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            ready.start_shift(
                session, agent, settings=self.settings, telephony=get_telephony(self.app)
            )
        self.tally.actions["shift_started"] += 1

    def _set_status(self, session: Session, agent: User, status: AgentStatus) -> None:
        """The agent presses a status button (available: they are served at once)."""
        ready.set_status(
            session, agent, status, settings=self.settings, telephony=get_telephony(self.app)
        )

    def _in_a_minute(self, action: Callable[[], None]) -> None:
        """Try again a minute later (the agent was busy on a call)."""
        self.at(self.now() + dt.timedelta(minutes=1), action)

    def _take_break(self, agent_id: int) -> None:
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            if agent.agent_status != AgentStatus.AVAILABLE:
                self._in_a_minute(functools.partial(self._take_break, agent_id))
                return
            self._set_status(session, agent, AgentStatus.AWAY)

    def _back_from_break(self, agent_id: int) -> None:
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            if agent.agent_status == AgentStatus.AWAY:
                self._set_status(session, agent, AgentStatus.AVAILABLE)
            elif agent.on_shift:  # the break started late: it ends late too
                self._in_a_minute(functools.partial(self._back_from_break, agent_id))

    def _end_shift(self, agent_id: int) -> None:
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            if agent.agent_status in (AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                self._in_a_minute(functools.partial(self._end_shift, agent_id))
                return
            ready.end_shift(session, agent)

    def _agents_written(self, connection: Connection) -> None:
        """An agent's status may have changed: whoever is in wrap-up records the outcome after
        the scenario's wrap-up time."""
        rows = connection.execute(_IN_WRAP_UP).all()
        wrap = dt.timedelta(seconds=self.scenario.staff.wrap_up_seconds)
        for user_id, since in rows:
            if user_id in self._wrapping:
                continue
            self._wrapping.add(user_id)
            due = max(self.now(), (since or self.now()) + wrap)
            self.at(due, functools.partial(self._wrap_up, user_id))

    def _wrap_up(self, agent_id: int) -> None:
        self._wrapping.discard(agent_id)
        self._dialling.pop(agent_id, None)
        booked: Appointment | None = None
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            if agent.agent_status != AgentStatus.WRAP_UP:
                return
            call, lead, talked = self._last_call(session, agent_id)
            if call is None or lead is None or not lead.is_open:
                self._set_status(session, agent, AgentStatus.AVAILABLE)  # nothing to record
                return
            consultant = load(session, User, self.rng.choice(self.staff.consultants))
            outcome = people.outcome(
                self.scenario,
                self.rng,
                talked=talked,
                grade=lead.grade,
                may_invite=lead.status in (LeadStatus.NEW, LeadStatus.CONTACTING),
                consultant=consultant,
                now=self.now(),
                timezone=self.timezone,
            )
            try:
                saved = ready.save_outcome(
                    session,
                    lead,
                    outcome,
                    actor=agent,
                    call=call,
                    settings=self.settings,
                    telephony=get_telephony(self.app),
                )
                booked = saved.appointment
                self.tally.actions[f"outcome_{outcome.action}"] += 1
            except DCCError as error:
                # Refused (e.g. a colleague's lead answered on the hotline): the agent sets
                # themselves available again on the page, as a person would.
                self.tally.refusals[f"outcome:{error.code}"] += 1
                self._set_status(session, agent, AgentStatus.AVAILABLE)
            booked_id = booked.id if booked is not None else None
            visit_at = booked.scheduled_at if booked is not None else None
            grade = (lead.grade or Grade.C).value
        if booked_id is not None and visit_at is not None:
            self._plan_visit(booked_id, visit_at, grade)
        self.at(self.now() + dt.timedelta(seconds=5), lambda: self._work_the_list(agent_id))

    def _last_call(self, session: Session, agent_id: int) -> tuple[Call | None, Lead | None, bool]:
        """The call the agent just finished (the hotline call or the click-to-dial call), its
        lead, and whether anyone spoke with the customer."""
        leg = session.scalar(_LAST_LEG, {"agent_id": agent_id})
        if leg is None:
            return None, None, False
        root = leg
        if leg.parent_sid:
            root = events.by_sid(session, leg.parent_sid) or leg
        lead = load(session, Lead, root.lead_id) if root.lead_id else None
        if root.direction == CallDirection.INBOUND or root.kind == CUSTOMER_FIRST:
            return root, lead, True  # the customer waited in the queue for this agent
        # A call the provider never took (no sid) dialled nobody.
        children = session.execute(_LEGS_ANSWERED, {"sid": root.sid}).all() if root.sid else []
        talked = any(
            answered_at is not None and not (answered_by or "").startswith("machine")
            for leg_kind, answered_at, answered_by in children
            if leg_kind == "customer"
        )
        return root, lead, talked

    def _work_the_list(self, agent_id: int) -> None:
        """An idle agent presses "Call the next one": the most urgent item of the worklist
        (a due callback, a new lead, or a follow-up call up to the day's quota) is called."""
        now = self.now()
        if self._dialling.get(agent_id, now) > now:
            return
        today = now.astimezone(self.zone).date()
        quota_left = (
            self._follow_ups[(agent_id, today)] < self.scenario.staff.follow_ups_per_agent_day
        )
        with self.database.session_scope() as session:
            agent = self._agent(session, agent_id)
            if not agent.on_shift or agent.agent_status != AgentStatus.AVAILABLE:
                return
            item = worklist.next_due(
                session, agent, settings=self.settings, now=now, follow_ups=quota_left
            )
            if item is None:
                return
            try:  # the call is committed before the provider is asked (dialer.place)
                worklist.call(
                    session,
                    item,
                    agent=agent,
                    settings=self.settings,
                    telephony=get_telephony(self.app),
                )
            except DCCError as error:
                session.rollback()
                self.tally.refusals[f"{item.kind}:{error.code}"] += 1
                return
            self.tally.actions[f"worklist_{item.kind}"] += 1
            if item.kind == "follow_up":
                self._follow_ups[(agent_id, today)] += 1
            self._dialling[agent_id] = now + dt.timedelta(minutes=2)

    # ------------------------------------------------------------------ customers
    def _arrive(self, arrival: Arrival) -> None:
        phone = customer_phone(arrival.number)
        if (
            arrival.channel != "walk_in"
            and self.customers.random() < self.scenario.customers.wrong_number
        ):
            self.wrong_numbers.add(phone)
        if arrival.channel == HOTLINE:
            self.sim.originate_inbound(phone, self.settings.hotline_number)
            self.tally.actions["hotline_call"] += 1
        elif arrival.channel == WEB:
            self._deliver_web_lead(arrival, phone)
        else:
            self._walk_in(arrival, phone)

    def _deliver_web_lead(self, arrival: Arrival, phone: str) -> None:
        """A portal's signed delivery to the lead webhook, as the portal sends it."""
        slug = people.pick(self.customers, self.scenario.arrivals.web_sources)
        brand, series = self.customers.choice(SERIES)
        body = json.dumps(
            {
                "phone": phone,
                "name": customer_name(arrival.number),
                "brand": brand,
                "series": series,
                "external_id": f"sim-{arrival.number}",
                "consent": True,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(self.now().timestamp()))
        response = self.app.test_client().post(
            f"/webhooks/leads/{slug}",
            data=body,
            content_type="application/json",
            headers={
                sources.SIGNATURE_HEADER: sources.sign(self.secrets[slug], body, stamp),
                sources.TIMESTAMP_HEADER: stamp,
            },
        )
        if response.status_code >= 300:
            self.tally.refusals[f"web_lead:{response.status_code}"] += 1
            return
        lead_id = (response.get_json() or {}).get("lead_id")
        if isinstance(lead_id, int):
            self.web_leads.append(lead_id)
        self.tally.actions["web_lead"] += 1

    def _walk_in(self, arrival: Arrival, phone: str) -> None:
        """The clerk registers a visitor; some leave their phone, a few order on the day."""
        people_ = self.scenario.customers
        first = self.customers.random() < people_.walk_in_first_visit
        leaves_contact = self.customers.random() < people_.walk_in_leave_contact
        orders_now = self.customers.random() < people_.walk_in_order and leaves_contact
        consultant_id = self.customers.choice(self.staff.consultants)
        with self.database.session_scope() as session:
            clerk = load_one(session, User, self.staff.clerk)
            consultant = load_one(session, User, consultant_id)
            try:
                with session.begin_nested():
                    visit = reception.walk_in(
                        session,
                        reception.WalkIn(
                            consultant=consultant,
                            first_visit=first,
                            phone=phone if leaves_contact else None,
                            name=customer_name(arrival.number) if leaves_contact else "",
                            series=self.customers.choice(SERIES)[1],
                        ),
                        clerk=clerk,
                        region=self.settings.default_region,
                    )
            except DCCError as error:
                self.tally.refusals[f"walk_in:{error.code}"] += 1
                return
            self.tally.actions["walk_in"] += 1
            lead_id = visit.lead_id
        if orders_now and lead_id is not None:
            self.at(
                self.now() + dt.timedelta(minutes=50), lambda: self._order(lead_id, consultant_id)
            )

    def _plan_visit(self, appointment_id: int, at: dt.datetime, grade: str) -> None:
        """An invited customer comes (or not); a visitor may order after the test drive."""
        people_ = self.scenario.customers
        if self.rng.random() >= people_.show:
            return  # a no-show: the appointment's own job notices it
        arrive_at = at + dt.timedelta(minutes=self.rng.uniform(-20, 25))
        orders_after = self.rng.random() < people_.order_after_visit.get(grade, 0.0)
        self.at(max(arrive_at, self.now()), lambda: self._arrival(appointment_id, orders_after))

    def _arrival(self, appointment_id: int, orders_after: bool) -> None:
        with self.database.session_scope() as session:
            appointment = load_one(session, Appointment, appointment_id)
            clerk = load_one(session, User, self.staff.clerk)
            try:
                with session.begin_nested():
                    reception.arrive(session, appointment, clerk=clerk)
            except DCCError as error:
                self.tally.refusals[f"arrival:{error.code}"] += 1
                return
            lead_id, consultant_id = appointment.lead_id, appointment.consultant_id
        self.tally.actions["arrival"] += 1
        if orders_after and consultant_id is not None:
            self.at(
                self.now() + dt.timedelta(minutes=60), lambda: self._order(lead_id, consultant_id)
            )

    def _order(self, lead_id: int, consultant_id: int) -> None:
        """The consultant writes the sales order, with its expected delivery date."""
        with self.database.session_scope() as session:
            lead = load_one(session, Lead, lead_id)
            consultant = load_one(session, User, consultant_id)
            delivery = self.now().astimezone(self.zone).date() + dt.timedelta(days=21)
            try:
                with session.begin_nested():
                    orders.place(
                        session,
                        lead,
                        orders.OrderInput(
                            brand=ORDER[0],
                            series=ORDER[1],
                            model=ORDER[2],
                            configuration=ORDER[3],
                            price=Decimal(199_800),
                            delivery_due=delivery,
                        ),
                        actor=consultant,
                        timezone=self.timezone,
                    )
            except DCCError as error:
                self.tally.refusals[f"order:{error.code}"] += 1
                return
        self.tally.actions["order"] += 1

    # ------------------------------------------------------------------ the manager
    def _manager_review(self) -> None:
        """The manager decides the day's lost requests (战败审批)."""
        with self.database.session_scope() as session:
            manager = load_one(session, User, self.staff.manager)
            for request in review.pending_lost_requests(session, manager):
                approve = self.rng.random() < self.scenario.managers.approve_lost
                try:
                    with session.begin_nested():
                        lifecycle.decide_lost(session, request, approve=approve, manager=manager)
                except DCCError as error:
                    self.tally.refusals[f"lost_review:{error.code}"] += 1
                    continue
                self.tally.actions["lost_approved" if approve else "lost_rejected"] += 1
