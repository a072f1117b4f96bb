"""A new web lead nobody could dial in time has its customer rung first (speed to lead when every
agent is busy), through the simulator (the real Twilio adapter, signed webhooks, virtual
time): they hear the dealer's greeting and wait in the hotline queue, the first agent who
becomes free takes them with the lead on screen; a customer who hangs up there is owed a
callback, an unanswered ring follows the attempt policy, and nobody is rung first while
nobody would soon take them."""

from __future__ import annotations

import datetime as dt

import pytest
from flow_support import HOTLINE, Flow, agent_phone, make_agent, play, running_flow
from sqlalchemy import select
from web_support import auto_dial_portal, login

from dcc.calls import policy as call_policy
from dcc.calls import queue, ready, wrapup
from dcc.calls.models import CUSTOMER_FIRST, Call, CallDirection
from dcc.config import get_settings
from dcc.jobs.models import OutboxJob
from dcc.leads import intake
from dcc.leads.models import Callback, CallbackStatus, Lead, LeadSource, LeadStatus
from dcc.reports import period, work
from dcc.users.models import AgentStatus

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Shanghai
CUSTOMER = "+8613800000031"
CALLER = "+8613800000041"
WAIT = call_policy.CallPolicy().customer_first_after_seconds


@pytest.fixture()
def flow(app, session):
    with running_flow(app, session, START) as made:
        yield made


def new_lead(staff, owner, phone: str = CUSTOMER) -> Lead:
    """A portal lead from the auto-dial source, owned by ``owner``, received now."""
    source = staff.session.scalar(select(LeadSource).where(LeadSource.slug == "autohome"))
    received = intake.receive(
        staff.session,
        intake.LeadInput(phone=phone, name="王先生"),
        source=source or auto_dial_portal(staff.session),
    )
    received.lead.owner_id = owner.id
    staff.session.commit()
    return received.lead


def rung_first(flow: Flow, lead: Lead) -> list[Call]:
    flow.session.expire_all()
    query = select(Call).where(Call.lead_id == lead.id, Call.kind == CUSTOMER_FIRST)
    return list(flow.session.scalars(query))


def callbacks_of(flow: Flow, lead: Lead) -> list[Callback]:
    flow.session.expire_all()
    return list(flow.session.scalars(select(Callback).where(Callback.lead_id == lead.id)))


def answer_of(flow: Flow, path: str) -> str:
    (body,) = [body for at, body in flow.answers if at.endswith(path)]
    return body


def test_every_agent_busy_the_customer_is_rung_first_and_the_first_free_agent_takes_them(
    flow, staff
):
    agent = make_agent(staff, 1, AgentStatus.ON_CALL)
    lead = new_lead(staff, agent)
    flow.sim.set_behaviour(CUSTOMER, answer_after=4, hangup_after=60, abandon_after=300)
    flow.sim.set_behaviour(agent_phone(1), answer_after=2, press="1")
    play(flow, WAIT - 1)
    assert rung_first(flow, lead) == []  # nobody free: the lead waits the dealer-set time

    play(flow, 10)
    (call,) = rung_first(flow, lead)
    assert call.requested_at == START + dt.timedelta(seconds=WAIT)
    assert (call.direction, call.leg, call.to_number) == (
        CallDirection.OUTBOUND,
        "customer",
        CUSTOMER,
    )
    assert call.queued_at == call.requested_at + dt.timedelta(seconds=4)  # answered: queued
    flow.session.refresh(lead)
    assert lead.first_response_at == call.requested_at and lead.attempt_count == 1
    assert lead.status == LeadStatus.CONTACTING
    greeting = answer_of(flow, "/voice/customer-first")
    assert "感谢您的咨询" in greeting and "<Enqueue" in greeting

    # The agent's call ends: they are free (the outcome saved), and the queue rings them.
    with flow.at_now():
        staff.session.refresh(agent)
        ready.set_status(
            staff.session,
            agent,
            AgentStatus.AVAILABLE,
            settings=get_settings(),
            telephony=flow.telephony,
        )
    play(flow, 20)
    (pickup,) = flow.session.scalars(select(Call).where(Call.kind == queue.PICKUP))
    assert pickup.agent_id == agent.id and pickup.accepted_at is not None
    assert pickup.parent_sid == call.sid and pickup.lead_id == lead.id
    flow.session.refresh(call)
    assert call.agent_id == agent.id  # the customer's call is the agent's: their screen pops
    flow.session.refresh(lead)
    assert lead.first_response_at == call.requested_at
    assert "新线索，客户在线等候：王先生" in answer_of(flow, "/voice/screen")  # the whisper
    # The agent's screen holds the call: the script filled with the lead, the outcome form.
    client = flow.app.test_client()
    with flow.at_now():
        login(client, "agent1")
        page = client.get(f"/?call={call.id}").get_data(as_text=True)
    assert "王先生" in page and 'name="result"' in page and f'value="{call.id}"' in page

    play(flow, 70)  # the conversation ends; the agent wraps up and records the outcome
    flow.session.refresh(call)
    assert call.ended_at is not None
    assert [c for c in callbacks_of(flow, lead) if c.status == CallbackStatus.PENDING] == []
    with flow.at_now():
        staff.session.refresh(agent)
        saved = ready.save_outcome(
            staff.session,
            staff.session.get_one(Lead, lead.id),
            wrapup.Outcome(result="已沟通：邀约到店试驾"),
            actor=agent,
            call=staff.session.get_one(Call, call.id),
            settings=get_settings(),
            telephony=flow.telephony,
        )
    assert saved.follow_up.done_at is not None
    flow.session.refresh(call)
    assert call.outcome == "已沟通：邀约到店试驾"  # recorded on the customer's call
    # The agent's work counts it once: an answered call with its talk time, not a dialled one.
    period.prepare(flow.session)
    (day,) = work.live(flow.session, START, flow.now(), "Asia/Shanghai").values()
    assert (day.dialled, day.inbound_answered, day.outbound_connects) == (0, 1, 0)
    assert day.talk_seconds >= 60
    assert flow.sim.alerts() == []


def test_a_customer_rung_first_who_hangs_up_in_the_queue_is_owed_a_callback(flow, staff):
    agent = make_agent(staff, 1, AgentStatus.ON_CALL)
    lead = new_lead(staff, agent)
    flow.sim.set_behaviour(CUSTOMER, answer_after=3, abandon_after=20)
    play(flow, WAIT + 40)
    (call,) = rung_first(flow, lead)
    assert call.queued_at is not None and call.ended_at is not None and call.agent_id is None
    (owed,) = callbacks_of(flow, lead)
    assert (owed.reason, owed.call_id, owed.status) == (
        "missed_call",
        call.id,
        CallbackStatus.PENDING,
    )


def test_an_unanswered_ring_or_a_voicemail_follows_the_attempt_policy(flow, staff):
    agent = make_agent(staff, 1, AgentStatus.WRAP_UP)
    agent.wrap_up_until = START + dt.timedelta(hours=1)  # extended: busy for the whole test
    staff.session.commit()
    lead = new_lead(staff, agent)
    flow.sim.set_behaviour(CUSTOMER, voicemail=True, answer_after=5)
    play(flow, WAIT + 30)
    (call,) = rung_first(flow, lead)
    assert call.answered_by == "machine_start" and call.ended_at is not None
    assert call.queued_at is None  # a voicemail is hung up on, never queued
    assert "<Hangup" in answer_of(flow, "/voice/customer-first")
    (retry,) = callbacks_of(flow, lead)
    assert (retry.reason, retry.call_id) == ("retry", call.id)


def test_nobody_is_rung_first_while_nobody_would_soon_take_them(flow, staff):
    away = make_agent(staff, 1, AgentStatus.AWAY)  # at work, but on a break
    lead = new_lead(staff, away)
    play(flow, WAIT + 10)
    assert rung_first(flow, lead) == []

    # One agent on a call, and one caller already waits for them: the queue is full.
    make_agent(staff, 2, AgentStatus.ON_CALL)
    flow.sim.set_behaviour(CALLER, abandon_after=600)
    flow.sim.originate_inbound(CALLER, HOTLINE)
    play(flow, 5)
    with flow.at_now():
        second = new_lead(staff, away, "+8613800000032")
    play(flow, WAIT + 10)
    assert rung_first(flow, second) == []
    (job,) = flow.session.scalars(
        select(OutboxJob).where(OutboxJob.dedupe_key == f"customer-first-{second.id}")
    )
    assert job.done_at is not None  # it ran, and left the lead waiting for an agent


def test_the_dealer_may_turn_it_off(flow, staff):
    call_policy.save(staff.session, customer_first_after_seconds=0)
    agent = make_agent(staff, 1, AgentStatus.ON_CALL)
    lead = new_lead(staff, agent)
    play(flow, WAIT + 30)
    assert rung_first(flow, lead) == []
    jobs = flow.session.scalars(
        select(OutboxJob.dedupe_key).where(OutboxJob.task == "lead.customer_first")
    )
    assert list(jobs) == []


def test_a_customer_rung_first_may_press_1_in_the_queue_for_a_callback(flow, staff):
    call_policy.save(staff.session, queue_callback_after_seconds=10)
    agent = make_agent(staff, 1, AgentStatus.ON_CALL)
    lead = new_lead(staff, agent)
    flow.sim.set_behaviour(CUSTOMER, answer_after=3, abandon_after=600, press="1")
    play(flow, WAIT + 60)
    (call,) = rung_first(flow, lead)
    (owed,) = callbacks_of(flow, lead)
    assert (owed.reason, owed.call_id) == ("queue_callback", call.id)
    assert "保留位置" in answer_of(flow, "/voice/dial")  # told the callback is on record
    assert call.ended_at is not None


@pytest.mark.parametrize("query", ["", "?call_id=999", "?call_id=abc"])
def test_the_greeting_of_a_call_not_rung_first_hangs_up_and_changes_nothing(twilio, session, query):
    answer = twilio.post(
        f"/webhooks/twilio/voice/customer-first{query}", {"CallSid": "CA" + "1" * 32}
    )
    assert answer.status_code == 200 and "<Hangup" in answer.get_data(as_text=True)
    assert session.scalars(select(Call)).all() == []
