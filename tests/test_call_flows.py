"""Call flows that never drop a customer, through the simulator (the real Twilio adapter,
signed webhooks, virtual time): the served queue, routing in stages, screened agent legs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from flow_support import HOTLINE, Flow, agent_phone, make_agent, play, running_flow
from sqlalchemy import select
from support import run_due
from web_support import login, post

from dcc import clock, messaging
from dcc.audit import AuditEntry
from dcc.calls import agents, dialer, policy
from dcc.calls import service as calls_service
from dcc.calls.models import Call
from dcc.config import get_settings
from dcc.jobs import tasks
from dcc.jobs.models import OutboxJob
from dcc.jobs.outbox import open_work
from dcc.leads import callbacks, intake
from dcc.leads.models import Callback, Channel
from dcc.users.models import AgentStatus
from telephony import TWILIO, TelephonyUnavailable

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Shanghai
CALLERS = ("+8613800000001", "+8613800000002", "+8613800000003")


@pytest.fixture()
def flow(app, session):
    with running_flow(app, session, START) as made:
        yield made


def pickups(flow: Flow) -> list[Call]:
    flow.session.expire_all()
    return list(flow.session.scalars(select(Call).where(Call.kind == "pickup").order_by(Call.id)))


def callers(flow: Flow) -> dict[str, Call]:
    flow.session.expire_all()
    rows = flow.session.scalars(select(Call).where(Call.queued_at.is_not(None)))
    return {c.from_number or "": c for c in rows}


def test_three_callers_one_agent_in_wrap_up_are_served_in_arrival_order(flow, staff):
    agent = make_agent(staff, 1, AgentStatus.WRAP_UP)  # ends by itself after 60 s
    assert agent.wrap_up_until == START + dt.timedelta(seconds=60)
    sim = flow.sim
    sim.set_behaviour(agent_phone(1), answer_after=2, press="1", press_after=1, hangup_after=30)
    for number in CALLERS:
        sim.set_behaviour(number, abandon_after=1800)
    for number in CALLERS:
        sim.originate_inbound(number, HOTLINE)
        play(flow, 2)
    waiting = callers(flow)
    assert [waiting[n].queued_at is not None for n in CALLERS] == [True] * 3
    # Callers hear their place and the expected wait.
    waits = flow.webhooks("/voice/queue-wait")
    assert waits and all("QueuePosition" in w["params"] for w in waits)

    play(flow, 500)
    taken = pickups(flow)
    by_caller = callers(flow)
    assert [by_caller[n].agent_id for n in CALLERS] == [agent.id] * 3
    # Each caller was taken by a pickup leg, in arrival order.
    parents = [p.parent_sid for p in taken if p.accepted_at is not None]
    assert parents == [by_caller[n].sid for n in CALLERS]
    # No caller waited while the agent was ready: each pickup was asked for the moment the
    # agent's wrap-up ended (the job), not at the next hold announcement.
    ready_at = [START + dt.timedelta(seconds=60)]
    ready_at += [p.ended_at + dt.timedelta(seconds=60) for p in taken[:-1] if p.ended_at]
    assert [p.requested_at for p in taken] == ready_at
    assert all(sim.call(c.sid)["status"] == "completed" for c in by_caller.values())
    assert [a for a in sim.alerts()] == []
    # Nobody is owed a callback: everybody was answered.
    assert flow.session.scalars(select(Callback)).all() == []


def test_a_queued_caller_who_presses_1_gets_a_callback_at_once(flow, staff):
    with clock.frozen(START):
        policy.save(staff.session, queue_callback_after_seconds=30)
        staff.session.commit()
    make_agent(staff, 1, AgentStatus.AWAY)
    flow.sim.set_behaviour(CALLERS[0], press="1", press_after=1, abandon_after=600)
    flow.sim.originate_inbound(CALLERS[0], HOTLINE)
    flow.run(120)
    (callback,) = flow.session.scalars(select(Callback)).all()
    assert callback.reason == "queue_callback"
    waited = (callback.due_at - START).total_seconds()
    assert 30 <= waited <= 60  # offered after the dealer-set wait, due at once
    (left,) = flow.webhooks("/voice/dial")
    assert left["params"]["QueueResult"] == "leave"
    caller = flow.session.get_one(Call, callback.call_id)
    assert flow.sim.call(caller.sid)["status"] == "completed"


def lead_of(staff, phone: str, owner, **details: str):
    """A lead for ``phone`` owned by ``owner`` (made before the customer calls)."""
    enquiry = intake.LeadInput(phone=phone, channel=Channel.PORTAL, **details)
    lead = intake.receive(staff.session, enquiry).lead
    lead.owner_id = owner.id
    staff.session.commit()
    return lead


def dial_nouns(flow: Flow) -> list[int]:
    """For every TwiML document the app answered with a <Dial>: how many parties it rings."""
    counts = []
    for _path, body in flow.answers:
        if "<Dial" not in body:
            continue
        for dial in ET.fromstring(body).iter("Dial"):
            counts.append(sum(1 for n in dial if n.tag in {"Number", "Client", "Sip"}))
    return counts


def test_the_owner_does_not_answer_and_a_team_agent_answers_in_the_same_call(flow, staff):
    owner = make_agent(staff, 1)
    teammate = make_agent(staff, 2)
    lead_of(staff, CALLERS[0], owner, name="王先生", series="凯美瑞")
    sim = flow.sim
    sim.set_behaviour(agent_phone(1), no_answer=True)
    sim.set_behaviour(agent_phone(2), answer_after=2, press="1", hangup_after=40)
    caller = sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 120)
    stages = flow.webhooks("/voice/dial")
    first = stages[0]["params"]
    assert first["DialCallStatus"] == "no-answer"  # the owner rang 15 s, nobody took it
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.agent_id == teammate.id and parent.queued_at is None
    legs = {c["to"]: c for c in sim.calls() if c["parent_call_sid"] == caller}
    assert legs[agent_phone(1)]["status"] == "no-answer"
    assert legs[agent_phone(2)]["status"] == "completed"
    assert sim.call(caller)["status"] == "completed"
    # No goodbye was said: the caller went from the owner's ring to the teammate's.
    assert "很抱歉" not in "".join(body for _path, body in flow.answers)
    # Each agent heard who calls before pressing 1.
    screens = [body for path, body in flow.answers if path.endswith("/voice/screen")]
    assert screens and all("400 来电：王先生，凯美瑞，按 1 接听" in body for body in screens)
    # The owner let it ring: skipped for a while.
    flow.session.refresh(owner)
    assert owner.skip_until is not None and owner.skip_until > flow.now()
    assert flow.session.scalars(select(Callback)).all() == []
    assert sim.alerts() == []


def test_twelve_ready_agents_ring_in_stages_of_at_most_ten(flow, staff):
    team = [make_agent(staff, n) for n in range(1, 13)]
    sim = flow.sim
    for n in range(1, 12):
        sim.set_behaviour(agent_phone(n), no_answer=True)
    sim.set_behaviour(agent_phone(12), answer_after=1, press="1", hangup_after=20)
    caller = sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 120)
    # The new lead's owner (assigned as the call came in) first, then ten, then the last one.
    assert dial_nouns(flow) == [1, 10, 1]
    assert sim.alerts() == []  # the simulator accepted every document the app sent
    assert all(h["status"] < 300 for h in sim.webhooks())
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.agent_id == team[11].id


def test_an_agent_leg_answered_by_voicemail_never_connects_the_customer(flow, staff):
    machine = make_agent(staff, 1)
    person = make_agent(staff, 2)
    lead_of(staff, CALLERS[0], make_agent(staff, 3, AgentStatus.AWAY))  # both ring at once
    sim = flow.sim
    sim.set_behaviour(agent_phone(1), answer_after=1, voicemail=True)
    sim.set_behaviour(agent_phone(2), answer_after=4, press="1", press_after=2, hangup_after=30)
    caller = sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 90)
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.agent_id == person.id
    legs = {c["to"]: c for c in sim.calls() if c["parent_call_sid"] == caller}
    (stage,) = [h["params"] for h in flow.webhooks("/voice/dial")]
    assert stage["DialCallSid"] == legs[agent_phone(2)]["sid"] and stage["DialBridged"] == "true"
    # The machine answered and heard the whisper, but never pressed: its leg was hung up.
    assert legs[agent_phone(1)]["answered_sim_time"] is not None
    assert legs[agent_phone(1)]["status"] == "completed"
    flow.session.refresh(machine)
    assert machine.agent_status == AgentStatus.AVAILABLE  # a machine is no call to wrap up
    # Click-to-dial to an agent whose voicemail answers: the customer's phone never rings.
    lead = lead_of(staff, CALLERS[1], machine)
    with flow.at_now():
        call = dialer.dial(
            staff.session,
            lead,
            agent=machine,
            settings=get_settings(),
            telephony=flow.telephony,
        )
    play(flow, 60)
    assert [c["to"] for c in sim.calls() if c["to"] == CALLERS[1]] == []
    flow.session.expire_all()
    placed = flow.session.get_one(Call, call.id)
    assert placed.accepted_at is None and placed.status.value == "completed"


def test_a_rest_time_out_after_acceptance_reaches_the_customer_exactly_once(flow, staff):
    agent = make_agent(staff, 1)
    lead = lead_of(staff, CALLERS[0], agent)
    sim = flow.sim
    sim.set_behaviour(agent_phone(1), answer_after=2, press="1", hangup_after=30)
    sim.set_behaviour(CALLERS[0], answer_after=3)
    with flow.at_now():
        owed = callbacks.owe(staff.session, lead, reason="scheduled", due_at=flow.now())
        staff.session.commit()
    # The provider accepts the next call but answers after the client's 10 s time-out.
    sim.respond_late(15)
    results = run_due(flow.session, flow.now())
    assert any("dialled" in r for r in results)
    flow.session.expire_all()
    (attempt,) = flow.session.scalars(select(Call).where(Call.lead_id == lead.id)).all()
    assert attempt.sid is not None and attempt.placement is None  # found at the provider
    # A retry of the same placement (a job run again) dials nobody a second time.
    with flow.at_now():
        dialer.place(flow.session, attempt, settings=get_settings(), telephony=flow.telephony)
        again = callbacks_fired(flow, owed.id)
    assert again == "not pending"
    play(flow, 120)
    assert [c["to"] for c in sim.calls()].count(CALLERS[0]) == 1
    assert [c["to"] for c in sim.calls()].count(agent_phone(1)) == 1
    customer = next(c for c in sim.calls() if c["to"] == CALLERS[0])
    assert customer["status"] == "completed" and customer["parent_call_sid"] == attempt.sid


def callbacks_fired(flow: Flow, callback_id: int) -> str:
    return tasks.fire_callback(flow.session, callback_id=callback_id)


def test_an_attempt_whose_outcome_is_unknown_is_looked_up_before_any_retry(flow, staff):
    agent = make_agent(staff, 1)
    lead = lead_of(staff, CALLERS[0], agent)
    with flow.at_now():
        call = calls_service.start_click_to_dial(
            staff.session, lead, actor=agent, settings=get_settings()
        )
        call.placement = dialer.UNKNOWN  # the request timed out and nothing was found yet
        staff.session.commit()
        # Nothing at the provider: the later look-up says so and the attempt fails honestly.
        assert dialer.settle_unknown(staff.session, call.id, telephony=flow.telephony) == (
            "not placed"
        )
    assert call.status.value == "failed" and flow.sim.calls() == []


def test_an_sms_time_out_after_acceptance_sends_exactly_one_message(flow, staff):
    flow.sim.respond_late(15)

    def send():
        return messaging.send_once(
            flow.session,
            flow.telephony,
            key="confirm-1",
            to=CALLERS[0],
            body="试驾确认",
            from_=HOTLINE,
        )

    with flow.at_now():
        sent = send()
        assert sent.status == "sent" and sent.sid == flow.sim.messages()[0]["sid"]
        again = send()  # the job's retry: the same key finds the message already sent
    assert again.id == sent.id and len(flow.sim.messages()) == 1


def test_wrap_up_counts_down_can_be_extended_and_ends_by_itself(client, session, staff):
    agent = make_agent(staff, 1, AgentStatus.WRAP_UP)
    login(client, "agent1")
    page = client.get("/").get_data(as_text=True)
    until = START + dt.timedelta(seconds=60)
    assert f'data-until="{until.isoformat()}"' in page
    assert 'value="wrap_up" class="status-btn current"' in page
    assert post(client, "/wrap-up/extend").status_code == 302
    session.refresh(agent)
    assert agent.wrap_up_until == until + dt.timedelta(seconds=60)
    timers = session.scalars(
        select(OutboxJob).where(OutboxJob.task == agents.WRAP_UP_END_TASK).order_by(OutboxJob.id)
    ).all()
    # The extended wrap-up keeps one timer: the first one never runs.
    assert [(t.run_at, t.canceled_at is None) for t in timers] == [
        (until, False),
        (until + dt.timedelta(seconds=60), True),
    ]
    with clock.frozen(until + dt.timedelta(seconds=30)):
        run_due(session)
    session.refresh(agent)
    assert agent.agent_status == AgentStatus.WRAP_UP  # extended: not over yet
    with clock.frozen(until + dt.timedelta(seconds=60)):
        run_due(session)
    session.refresh(agent)
    assert agent.agent_status == AgentStatus.AVAILABLE and agent.wrap_up_until is None
    with clock.frozen(until + dt.timedelta(seconds=61)):
        page = client.get("/").get_data(as_text=True)
    assert 'value="available" class="status-btn current"' in page
    assert 'id="wrap-up" data-until=""' in page
    # Saving an outcome ends the wrap-up early: its timer is canceled with it.
    with clock.frozen(until + dt.timedelta(seconds=120)):
        agents.set_status(session, agent, AgentStatus.WRAP_UP)
        session.commit()
        (timer,) = session.scalars(
            select(OutboxJob).where(OutboxJob.task == agents.WRAP_UP_END_TASK, *open_work())
        ).all()
        agents.set_status(session, agent, AgentStatus.AVAILABLE)
        session.commit()
    session.refresh(timer)
    assert timer.canceled_at is not None and timer.done_at is None
    # Extending is for wrap-up only.
    refused = post(client, "/wrap-up/extend", follow_redirects=True)
    assert "不在话后整理状态" in refused.get_data(as_text=True)


def test_a_call_the_provider_would_refuse_is_refused_up_front(flow, staff, client):
    agent = make_agent(staff, 1)
    lead = lead_of(staff, CALLERS[0], agent)
    flow.telephony.rules = TWILIO  # the real Twilio adapter's rules: no calls to +86
    answer = client.post("/api/v1/calls", json={"lead_id": lead.id}, headers=staff.token(agent))
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "call.provider_rules" and "mainland China" in error["message"]
    assert flow.sim.calls() == []
    assert flow.session.scalars(select(Call)).all() == []  # no attempt left half-made
    login(client, "agent1")
    page = post(client, f"/leads/{lead.id}/call", follow_redirects=True).get_data(as_text=True)
    assert "电话服务商会拒绝这通呼叫" in page


def test_the_customer_hears_the_recording_notice_with_the_dealers_name(flow, staff):
    agent = make_agent(staff, 1)
    lead = lead_of(staff, CALLERS[0], agent)
    flow.sim.set_behaviour(agent_phone(1), press="1", hangup_after=20)
    with flow.at_now():
        policy.save(staff.session, recording_notice="您好，这里是{dealer}，本次通话将被录音。")
        call = dialer.dial(
            staff.session, lead, agent=agent, settings=get_settings(), telephony=flow.telephony
        )
    play(flow, 60)
    customer = next(c for c in flow.sim.calls() if c["to"] == CALLERS[0])
    (notice,) = [h for h in flow.webhooks("/voice/notice")]
    assert notice["params"]["CallSid"] == customer["sid"]  # played on the customer's leg
    (body,) = [b for path, b in flow.answers if path.endswith("/voice/notice")]
    assert f"这里是{get_settings().dealer_name}" in body
    assert customer["parent_call_sid"] == call.sid


def test_in_the_browser_softphone_answering_is_taking_the_call(flow, staff, app):
    settings = app.extensions["dcc.settings"]
    app.extensions["dcc.settings"] = dataclasses.replace(
        settings, twilio_api_key_sid="SK" + "1" * 32, twilio_api_key_secret="s"
    )
    agent = staff.user("browser", "dcc_agent")  # no phone: rung in the browser
    agents.set_status(staff.session, agent, AgentStatus.AVAILABLE)
    staff.session.commit()
    caller = flow.sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 30)
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.agent_id == agent.id
    (leg,) = [c for c in flow.sim.calls() if c["parent_call_sid"] == caller]
    assert leg["to"].startswith("client:u")
    assert flow.sim.alerts() == []


def test_a_caller_who_hangs_up_while_the_owner_rings_is_not_queued_and_is_called_back(flow, staff):
    owner = make_agent(staff, 1)
    lead_of(staff, CALLERS[0], owner)
    flow.sim.set_behaviour(agent_phone(1), no_answer=True)
    flow.sim.set_behaviour(CALLERS[0], abandon_after=5)
    caller = flow.sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 60)
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.queued_at is None and pickups(flow) == []
    (callback,) = flow.session.scalars(select(Callback)).all()
    assert callback.reason == "missed_call"


def test_a_pickup_answered_by_voicemail_skips_that_agent_and_the_next_one_takes_the_caller(
    flow, staff
):
    machine = make_agent(staff, 1, AgentStatus.AWAY)
    person = make_agent(staff, 2, AgentStatus.AWAY)
    sim = flow.sim
    sim.set_behaviour(agent_phone(1), answer_after=1, voicemail=True)
    sim.set_behaviour(agent_phone(2), answer_after=2, press="1", hangup_after=20)
    sim.set_behaviour(CALLERS[0], abandon_after=600)
    caller = sim.originate_inbound(CALLERS[0], HOTLINE)
    play(flow, 5)
    # Both come back from away (the status buttons); the longest idle is rung first.
    with flow.at_now():
        for agent in (machine, person):
            agents.set_status(staff.session, agent, AgentStatus.AVAILABLE)
            staff.session.commit()
            dialer.serve_queue(staff.session, settings=get_settings(), telephony=flow.telephony)
    play(flow, 90)
    legs = pickups(flow)
    assert [p.agent_id for p in legs] == [machine.id, person.id]
    assert legs[0].accepted_at is None and legs[1].accepted_at is not None
    parent = flow.session.scalar(select(Call).where(Call.sid == caller))
    assert parent.agent_id == person.id and legs[1].parent_sid == caller
    flow.session.refresh(machine)
    assert machine.skip_until is not None and machine.agent_status == AgentStatus.AVAILABLE


def test_the_dealer_sets_the_call_flow_times_from_the_command_line(app, session):
    cli = app.test_cli_runner()
    shown = cli.invoke(args=["calls", "settings"])
    assert shown.exit_code == 0 and "owner_ring_seconds = 15" in shown.output
    changed = cli.invoke(args=["calls", "settings", "owner_ring_seconds=20", "wrap_up_seconds=90"])
    assert changed.exit_code == 0, changed.output
    assert policy.load(session).owner_ring_seconds == 20
    assert policy.load(session).wrap_up_seconds == 90
    for bad, words in (("owner_ring=3", "owner_ring"), ("wrap_up_seconds=soon", "wrap_up_seconds")):
        refused = cli.invoke(args=["calls", "settings", bad])
        assert refused.exit_code != 0 and words in refused.output
    assert policy.load(session).wrap_up_seconds == 90  # nothing changed
    # The change is audit-logged, as one from the admin page is; no person made it.
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "call_policy.update"))
    assert entry.actor_id is None
    assert entry.details["changes"] == {"owner_ring_seconds": [15, 20], "wrap_up_seconds": [60, 90]}


def test_when_the_look_up_fails_too_the_status_callback_settles_the_attempt(
    flow, staff, monkeypatch
):
    agent = make_agent(staff, 1)
    lead = lead_of(staff, CALLERS[0], agent)
    flow.sim.set_behaviour(agent_phone(1), answer_after=2, press="1", hangup_after=10)

    def unreachable(**_: object) -> list[object]:
        raise TelephonyUnavailable("look-up failed (test)")

    monkeypatch.setattr(flow.telephony, "find_calls", unreachable)
    flow.sim.respond_late(15)
    with flow.at_now():
        call = dialer.dial(
            staff.session, lead, agent=agent, settings=get_settings(), telephony=flow.telephony
        )
    assert call.placement == dialer.UNKNOWN and call.sid is None  # not failed, not retried
    play(flow, 60)  # the agent leg's status callbacks carry our call id
    flow.session.expire_all()
    settled = flow.session.get_one(Call, call.id)
    assert settled.placement is None and settled.sid is not None
    # The later look-up (due 30 s after the time-out, run while time played) found it settled.
    assert settled.status.value == "completed" and settled.outcome is None
    assert [c["to"] for c in flow.sim.calls()].count(agent_phone(1)) == 1
    assert [c["to"] for c in flow.sim.calls()].count(CALLERS[0]) == 1
