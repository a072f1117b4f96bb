"""Inbound hotline calls: the incoming-call webhook, simultaneous ringing, queues."""

from __future__ import annotations

import time

from telephony import twiml

HOTLINE = "+864008123123"
CALLER = "+8613800138000"
AGENT_PHONE = "+8613900139000"
AGENT_CLIENT = "client:alice"


def route_to_agents(app, targets, timeout=20):
    app.answers["voice/inbound"] = lambda form: twiml.inbound_route(
        notice="本通话将被录音",
        targets=targets,
        action_url=app.url("voice/dial-action"),
        status_callback=app.url("voice/leg-status"),
        caller_id=None,
        timeout=timeout,
        recording_callback=app.url("voice/recording"),
    )
    app.answers["voice/dial-action"] = twiml.hangup()


def test_incoming_call_rings_agents_at_once_and_the_first_wins(sim, app_server):
    route_to_agents(app_server, [AGENT_CLIENT, AGENT_PHONE])
    sim.set_behaviour(AGENT_CLIENT, answer_after=3)
    sim.set_behaviour(AGENT_PHONE, answer_after=2)
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    assert all(hit.valid for hit in app_server.all_hits())

    (incoming,) = app_server.received("voice/inbound")
    assert incoming["CallSid"] == sid and incoming["CallStatus"] == "ringing"
    assert incoming["Direction"] == "inbound"
    assert (incoming["From"], incoming["To"]) == (CALLER, HOTLINE)
    assert (incoming["Caller"], incoming["Called"]) == (CALLER, HOTLINE)
    assert incoming["FromCountry"] == "CN" and incoming["ToCountry"] == "CN"

    inbound, client, phone = sim.calls()
    assert (client["to"], phone["to"]) == (AGENT_CLIENT, AGENT_PHONE)
    for child in (client, phone):
        assert child["parent_call_sid"] == sid and child["direction"] == "outbound-dial"
        assert child["from"] == CALLER  # no callerId: the caller's number is shown
    assert app_server.statuses(phone["sid"], "voice/leg-status") == [
        "ringing",
        "in-progress",
        "completed",
    ]
    assert app_server.statuses(client["sid"], "voice/leg-status") == [
        "ringing",
        "canceled",
    ]
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallStatus"] == "completed" and action["DialCallSid"] == phone["sid"]
    assert action["CallSid"] == sid and action["Direction"] == "inbound"
    assert app_server.received("voice/recording")[0]["CallSid"] == sid
    # The number's status callback gets the final status only, as at Twilio.
    (final,) = app_server.received("voice/status")
    assert final["CallSid"] == sid and final["CallStatus"] == "completed"
    # Notice 1 s, ringing 2 s, talk 5 s.
    assert final["CallDuration"] == "8"
    assert inbound["status"] == "completed"


def test_nobody_answers(sim, app_server):
    route_to_agents(app_server, [AGENT_PHONE], timeout=15)
    sim.set_behaviour(AGENT_PHONE, no_answer=True)
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallStatus"] == "no-answer" and action["DialBridged"] == "false"
    assert sim.call(sid)["status"] == "completed"


def test_caller_gives_up_while_agents_ring(sim, app_server):
    route_to_agents(app_server, [AGENT_PHONE, AGENT_CLIENT], timeout=60)
    sim.set_behaviour(CALLER, abandon_after=8)
    sim.set_behaviour(AGENT_PHONE, no_answer=True)
    sim.set_behaviour(AGENT_CLIENT, no_answer=True)
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    _, phone, client = sim.calls()
    assert phone["status"] == client["status"] == "canceled"
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallStatus"] == "canceled" and action["CallStatus"] == "completed"
    assert sim.call(sid)["status"] == "completed"


def test_after_hours_message_then_hangup(sim, app_server):
    app_server.answers["voice/inbound"] = twiml.after_hours("现在是非工作时间")
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(5)
    assert [h["status"] for h in sim.call(sid)["history"]] == [
        "ringing",
        "in-progress",
        "completed",
    ]
    assert app_server.received("voice/status")[0]["CallDuration"] == "1"


def test_app_failure_fails_the_call(sim, app_server):
    app_server.answers["voice/inbound"] = "this is not TwiML"
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(5)
    assert sim.call(sid)["status"] == "failed"


def test_queued_caller_is_bridged_to_an_agent_who_dequeues(sim, app_server, telephony):
    app_server.answers["voice/inbound"] = twiml.enqueue_caller(
        notice="请稍候",
        queue="sales",
        wait_url=app_server.url("voice/wait"),
        action_url=app_server.url("voice/left-queue"),
    )
    app_server.answers["voice/wait"] = twiml.queue_wait_message("坐席忙，请稍候")
    app_server.answers["voice/left-queue"] = twiml.say("感谢来电")
    app_server.answers["agent/dequeue"] = twiml.dequeue(
        queue="sales",
        action_url=app_server.url("agent/dial-action"),
        recording_callback=app_server.url("agent/recording"),
    )
    app_server.answers["agent/dial-action"] = twiml.hangup()
    sim.set_behaviour(AGENT_CLIENT, hangup_after=12)  # the agent ends the conversation
    sim.set_behaviour(CALLER, abandon_after=600)  # plenty of patience, even on a slow machine
    caller = sim.originate_inbound(CALLER, HOTLINE)
    deadline = time.monotonic() + 5
    while not app_server.received("voice/wait"):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    wait = app_server.received("voice/wait")[0]
    assert wait["QueuePosition"] == "1" and wait["CurrentQueueSize"] == "1"

    agent = telephony.place_bridged_call(
        agent=AGENT_CLIENT,
        customer=CALLER,
        caller_id=HOTLINE,
        bridge_url=app_server.url("agent/dequeue"),
        status_callback=app_server.url("agent/status"),
    )
    sim.wait_idle(10)
    (dial_action,) = app_server.received("agent/dial-action")
    assert dial_action["CallSid"] == agent and dial_action["DialCallSid"] == caller
    assert dial_action["DialCallStatus"] == "completed" and dial_action["DialCallDuration"] == "12"
    assert app_server.received("agent/recording")[0]["RecordingDuration"] == "12"
    (left,) = app_server.received("voice/left-queue")
    assert left["CallSid"] == caller and left["QueueResult"] == "bridged"
    assert sim.call(caller)["status"] == sim.call(agent)["status"] == "completed"


def test_queued_caller_hangs_up_when_patience_runs_out(sim, app_server):
    app_server.answers["voice/inbound"] = twiml.enqueue_caller(
        notice="请稍候", queue="sales", wait_url=None, action_url=app_server.url("voice/left")
    )
    sim.set_behaviour(CALLER, abandon_after=30)
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(5)
    (left,) = app_server.received("voice/left")
    assert left["QueueResult"] == "hangup" and left["CallStatus"] == "completed"
    assert sim.call(sid)["duration"] == 30
