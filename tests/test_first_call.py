"""A new lead waits for the first ready agent (speed to lead), through the simulator (the real
Twilio adapter, signed webhooks, virtual time): a busy owner's lead goes to the teammate who
is ready, a lead nobody could take is dialled by whoever becomes ready first, after the
hotline's queued callers, and exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from flow_support import HOTLINE, Flow, agent_phone, make_agent, play, running_flow
from sqlalchemy import select
from support import RecordingTelephony, run_due
from web_support import auto_dial_portal, login, post

from dcc import clock
from dcc.audit import AuditEntry
from dcc.calls import agents, ready
from dcc.calls import policy as call_policy
from dcc.calls.models import Call, CallDirection
from dcc.config import get_settings
from dcc.leads import intake
from dcc.leads.models import Lead, LeadSource
from dcc.notifications import Notification
from dcc.users import service as users
from dcc.users.models import AgentStatus

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Shanghai
CUSTOMERS = ("+8613800000011", "+8613800000012", "+8613800000013")
CALLER = "+8613800000021"


@pytest.fixture()
def flow(app, session):
    with running_flow(app, session, START) as made:
        yield made


def available(flow: Flow, staff, agent) -> ready.Served | None:
    """The agent presses "available" on the page: they are served at once."""
    return ready.set_status(
        staff.session,
        agent,
        AgentStatus.AVAILABLE,
        settings=get_settings(),
        telephony=flow.telephony,
    )


def new_lead(staff, phone: str, owner, source: LeadSource, **details) -> Lead:
    """A portal lead from the auto-dial source, owned by ``owner`` (its first-contact job is
    due at once)."""
    received = intake.receive(
        staff.session, intake.LeadInput(phone=phone, **details), source=source
    )
    lead = received.lead
    lead.owner_id = owner.id
    staff.session.commit()
    return lead


def first_calls(flow: Flow, lead: Lead) -> list[Call]:
    """The agent legs placed for ``lead``'s outbound calls."""
    flow.session.expire_all()
    query = select(Call).where(
        Call.lead_id == lead.id, Call.direction == CallDirection.OUTBOUND, Call.leg == "agent"
    )
    return list(flow.session.scalars(query.order_by(Call.id)))


def rung(flow: Flow) -> list[str]:
    return [c["to"] for c in sorted(flow.sim.calls(), key=lambda c: c["requested_at"])]


def test_a_busy_owners_new_lead_is_dialled_at_once_by_the_ready_teammate_who_then_owns_it(
    flow, staff
):
    owner = make_agent(staff, 1, AgentStatus.ON_CALL)
    teammate = make_agent(staff, 2)
    source = auto_dial_portal(staff.session)
    lead = new_lead(staff, CUSTOMERS[0], owner, source, name="王先生")
    flow.sim.set_behaviour(agent_phone(2), answer_after=2, press="1", hangup_after=30)
    flow.sim.set_behaviour(CUSTOMERS[0], answer_after=3)
    run_due(flow.session, flow.now())  # the first-contact job, at once
    play(flow, 20)

    (call,) = first_calls(flow, lead)
    assert call.agent_id == teammate.id and call.requested_at == START
    assert rung(flow)[:2] == [agent_phone(2), CUSTOMERS[0]]
    flow.session.refresh(lead)
    assert lead.owner_id == teammate.id and lead.customer.owner_id == teammate.id
    (moved,) = flow.session.scalars(select(AuditEntry).where(AuditEntry.action == "lead.reassign"))
    assert moved.actor_id is None and moved.entity_id == lead.id
    assert moved.details["reason"] == ready.REASON_OWNER_NOT_READY
    assert moved.details["previous_owner_id"] == owner.id
    # The owner is told where the lead went.
    told = flow.session.scalars(select(Notification.kind).where(Notification.user_id == owner.id))
    assert "lead_taken" in list(told)
    assert flow.sim.alerts() == []


def test_the_owner_when_ready_keeps_the_lead(flow, staff):
    owner = make_agent(staff, 1)
    teammate = make_agent(staff, 2)
    teammate.status_since = START - dt.timedelta(hours=1)  # idle longer: first in line else
    lead = new_lead(staff, CUSTOMERS[0], owner, auto_dial_portal(staff.session))
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    play(flow, 5)
    (call,) = first_calls(flow, lead)
    assert call.agent_id == owner.id
    assert flow.session.scalars(select(AuditEntry.id)).all() == []


def test_nobody_ready_the_lead_waits_and_the_first_agent_whose_wrap_up_ends_dials_it(flow, staff):
    call_policy.save(staff.session, customer_first_after_seconds=0)  # no customer rung first
    wrapping = make_agent(staff, 1, AgentStatus.WRAP_UP)  # available again by itself at 60 s
    owner = make_agent(staff, 2, AgentStatus.AWAY)
    lead = new_lead(staff, CUSTOMERS[0], owner, auto_dial_portal(staff.session))
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    play(flow, 30)
    assert first_calls(flow, lead) == []  # nobody ready: it waits
    told = flow.session.scalars(select(Notification.kind).where(Notification.user_id == owner.id))
    assert list(told) == ["new_lead"]  # the owner is alerted, as before

    play(flow, 40)
    (call,) = first_calls(flow, lead)
    assert call.agent_id == wrapping.id
    assert call.requested_at == START + dt.timedelta(seconds=60)  # the moment the wrap-up ended
    flow.session.refresh(lead)
    assert lead.owner_id == wrapping.id


def test_an_agent_who_sets_available_on_the_page_dials_the_waiting_lead(flow, staff):
    make_agent(staff, 1, AgentStatus.AWAY)
    owner = make_agent(staff, 2, AgentStatus.AWAY)
    source = auto_dial_portal(staff.session)
    older = new_lead(staff, CUSTOMERS[0], owner, source)
    play(flow, 10)
    with flow.at_now():
        newer = new_lead(staff, CUSTOMERS[1], owner, source)
    play(flow, 10)
    assert first_calls(flow, older) == first_calls(flow, newer) == []
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    client = flow.app.test_client()
    with flow.at_now():
        login(client, "agent1")
        answer = post(client, "/status", {"status": "available"})
    assert answer.status_code == 302
    (call,) = first_calls(flow, older)  # the oldest waiting lead first
    assert call.requested_at == START + dt.timedelta(seconds=20)
    assert first_calls(flow, newer) == []  # one lead per ready agent


def test_a_queued_hotline_caller_is_served_before_a_waiting_new_lead(flow, staff):
    call_policy.save(staff.session, customer_first_after_seconds=0)  # no customer rung first
    agent = make_agent(staff, 1, AgentStatus.AWAY)
    lead = new_lead(staff, CUSTOMERS[0], agent, auto_dial_portal(staff.session))
    sim = flow.sim
    sim.set_behaviour(CALLER, abandon_after=600)
    sim.set_behaviour(agent_phone(1), answer_after=2, press="1", hangup_after=20)
    sim.originate_inbound(CALLER, HOTLINE)
    play(flow, 5)
    with flow.at_now():
        served = available(flow, staff, agent)
    assert served is not None
    assert len(served.pickups) == 1 and served.first_calls == []
    assert first_calls(flow, lead) == []
    play(flow, 150)  # the caller is served, the wrap-up ends, then the lead is dialled
    (pickup,) = served.pickups
    flow.session.refresh(pickup)
    (call,) = first_calls(flow, lead)
    assert pickup.accepted_at is not None and pickup.ended_at is not None
    assert call.agent_id == agent.id and call.requested_at > pickup.ended_at


def test_two_agents_ready_at_once_dial_one_lead_once(flow, staff):
    first = make_agent(staff, 1, AgentStatus.AWAY)
    second = make_agent(staff, 2, AgentStatus.AWAY)
    owner = make_agent(staff, 3, AgentStatus.AWAY)
    lead = new_lead(staff, CUSTOMERS[0], owner, auto_dial_portal(staff.session))
    play(flow, 5)
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    flow.sim.set_behaviour(agent_phone(2), no_answer=True)
    with flow.at_now():
        for agent in (first, second):
            agents.set_status(staff.session, agent, AgentStatus.AVAILABLE)
        staff.session.commit()
        settings = get_settings()
        served = [
            ready.agent_may_be_ready(staff.session, settings=settings, telephony=flow.telephony)
            for _ in range(2)
        ]
    assert [len(s.first_calls) for s in served] == [1, 0]
    play(flow, 5)
    (call,) = first_calls(flow, lead)
    assert call.agent_id in (first.id, second.id)
    assert rung(flow).count(agent_phone(1)) + rung(flow).count(agent_phone(2)) == 1


def test_an_old_lead_or_a_do_not_call_customer_is_never_auto_dialled(flow, staff):
    agent = make_agent(staff, 1, AgentStatus.AWAY)
    source = auto_dial_portal(staff.session)
    with clock.frozen(START - ready.WAITING_WINDOW - dt.timedelta(minutes=1)):
        old = new_lead(staff, CUSTOMERS[0], agent, source)
    refused = new_lead(staff, CUSTOMERS[1], agent, source)
    refused.customer.do_not_call = True
    staff.session.commit()
    fresh = new_lead(staff, CUSTOMERS[2], agent, source)
    play(flow, 5)
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    with flow.at_now():
        served = available(flow, staff, agent)
    assert served is not None and len(served.first_calls) == 1
    assert [c.lead_id for c in served.first_calls] == [fresh.id]
    play(flow, 60)  # the agent lets it ring, comes back: still never the other two
    with flow.at_now():
        available(flow, staff, agent)
    assert first_calls(flow, old) == first_calls(flow, refused) == []
    assert CUSTOMERS[0] not in rung(flow) and CUSTOMERS[1] not in rung(flow)


def test_a_lead_another_agent_is_dialling_is_skipped_not_dialled_twice(committed) -> None:
    """Two servings at the same moment on PostgreSQL: the one that locked the lead dials it;
    the other skips it instead of waiting, and later finds it called."""
    db = committed.extensions["dcc.db"]
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    phone = committed.extensions["dcc.telephony"] = RecordingTelephony()
    settings = get_settings()
    with clock.frozen(START), db.sessionmaker() as setup:
        for n in (1, 2):
            agent = users.create_user(
                setup, login=f"agent{n}", role="dcc_agent", phone=agent_phone(n)
            )
            agent.agent_status = AgentStatus.AVAILABLE
        source = auto_dial_portal(setup)
        lead_id = intake.receive(setup, intake.LeadInput(phone=CUSTOMERS[0]), source=source).lead_id
        setup.commit()
    with clock.frozen(START), db.sessionmaker() as first, db.sessionmaker() as second:
        assert ready.lock_if_waiting(first, lead_id) is not None  # one serving holds the lead
        assert ready.dial_waiting_leads(second, settings=settings, telephony=phone) == []
        call = ready.first_call(first, lead_id, settings=settings, telephony=phone)
        assert call is not None  # the holder dials it (and commits)
        assert ready.dial_waiting_leads(second, settings=settings, telephony=phone) == []
    assert len(phone.calls) == 1


def test_an_agent_skipped_after_an_unanswered_ring_dials_the_waiting_lead_once_the_skip_is_over(
    flow, staff
):
    call_policy.save(staff.session, customer_first_after_seconds=0, skip_unanswered_minutes=2)
    agent = make_agent(staff, 1)
    with flow.at_now():
        agents.skip(staff.session, agent)  # let the last ring go
        staff.session.commit()
    lead = new_lead(staff, CUSTOMERS[0], agent, auto_dial_portal(staff.session))
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    play(flow, 60)
    assert first_calls(flow, lead) == []  # skipped: not rung meanwhile
    play(flow, 70)
    (call,) = first_calls(flow, lead)
    assert call.agent_id == agent.id
    assert call.requested_at == START + dt.timedelta(minutes=2)  # the moment the skip ended
