"""Click-to-dial through the real twilio Client against the simulator: the agent leg first,
then the customer, with signed webhooks all the way."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest
import requests

from telephony import TelephonyError, TelephonyUnavailable, TwilioTelephony
from telephony.simulator import Simulator

HOTLINE = "+864008123123"  # the caller_id the place_call fixture uses
AGENT = "client:alice"
CUSTOMER = "+8613800138000"


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def legs(sim: Simulator) -> tuple[dict, dict]:
    agent, customer = sim.calls()
    return agent, customer


def test_agent_leg_first_then_customer_with_full_event_trail(sim, bridge_app, place_call):
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)

    assert all(hit.valid for hit in bridge_app.all_hits())
    agent, customer = legs(sim)
    assert agent["sid"] == sid and agent["direction"] == "outbound-api"
    assert (agent["to"], agent["from"], agent["parent_call_sid"]) == (AGENT, HOTLINE, None)
    assert customer["direction"] == "outbound-dial" and customer["parent_call_sid"] == sid
    assert (customer["to"], customer["from"]) == (CUSTOMER, HOTLINE)
    assert agent["requested_at"] < customer["requested_at"]

    full = ["ringing", "in-progress", "completed"]
    assert bridge_app.statuses(sid) == full
    assert bridge_app.statuses(customer["sid"]) == full

    (fetch,) = bridge_app.received("bridge")
    assert fetch["CallSid"] == sid and fetch["CallStatus"] == "in-progress"
    assert fetch["Direction"] == "outbound-api" and fetch["To"] == AGENT

    child_events = bridge_app.received("status", CallSid=customer["sid"])
    assert [e["SequenceNumber"] for e in child_events] == ["0", "1", "2"]
    for event in child_events:
        assert event["ParentCallSid"] == sid
        assert event["Direction"] == "outbound-dial"
        assert event["CallbackSource"] == "call-progress-events"
        assert event["ApiVersion"] == "2010-04-01"
        assert event["AccountSid"] == sim.config.account_sid
        assert parsedate_to_datetime(event["Timestamp"]).tzinfo is not None
    # Durations are the simulated seconds: agent answers at 1 s, hears a 1 s whisper, the
    # customer answers 1 s later and talks 5 s.
    assert child_events[-1]["CallDuration"] == "5" and child_events[-1]["Duration"] == "1"
    agent_done = bridge_app.received("status", CallSid=sid, CallStatus="completed")[0]
    assert agent_done["CallDuration"] == "7"
    assert "ParentCallSid" not in agent_done

    (action,) = bridge_app.received("dial-action")
    assert action["CallSid"] == sid
    assert action["DialCallStatus"] == "completed" and action["DialBridged"] == "true"
    assert action["DialCallSid"] == customer["sid"] and action["DialCallDuration"] == "5"
    assert action["RecordingUrl"].startswith(sim.base_url)
    assert action["RecordingSid"].startswith("RE") and len(action["RecordingSid"]) == 34

    (recording,) = bridge_app.received("recording")
    assert recording["CallSid"] == sid
    assert recording["RecordingSid"] == action["RecordingSid"]
    assert recording["RecordingStatus"] == "completed"
    assert recording["RecordingDuration"] == "5" and recording["RecordingChannels"] == "2"
    assert recording["RecordingSource"] == "DialVerb"
    audio = requests.get(recording["RecordingUrl"], timeout=5)
    assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/wav"

    # The agent leg's final event comes after the Dial action has been answered.
    paths = [h.path for h in bridge_app.all_hits() if h.params.get("CallSid") == sid]
    assert paths.index("dial-action") < len(paths) - 1 and paths[-1] == "status"


def test_rest_resources_parse_in_the_twilio_client(sim, telephony, place_call):
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    call = telephony.client.calls(sid).fetch()
    assert call.sid == sid and call.status == "completed" and call.direction == "outbound-api"
    assert call.to == AGENT and call.duration == "7" and call.date_created is not None


def test_scripted_durations_are_reported_exactly(sim, bridge_app, place_call):
    sim.set_behaviour(AGENT, answer_after=4)
    sim.set_behaviour(CUSTOMER, answer_after=6, hangup_after=42)
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    (action,) = bridge_app.received("dial-action")
    assert action["DialCallDuration"] == "42"
    done = bridge_app.received("status", CallSid=sid, CallStatus="completed")[0]
    assert done["CallDuration"] == str(1 + 6 + 42)  # whisper, ringing, talk


def test_customer_busy(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, busy=True)
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    _, customer = legs(sim)
    assert bridge_app.statuses(customer["sid"]) == ["busy"]
    busy = bridge_app.received("status", CallSid=customer["sid"], CallStatus="busy")[0]
    assert busy["CallDuration"] == "0" and busy["SipResponseCode"] == "486"
    (action,) = bridge_app.received("dial-action")
    assert action["DialCallStatus"] == "busy" and action["DialBridged"] == "false"
    assert "RecordingUrl" not in action
    assert bridge_app.received("recording") == []
    assert bridge_app.statuses(sid)[-1] == "completed"


def test_customer_does_not_answer(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, no_answer=True)
    place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    _, customer = legs(sim)
    assert bridge_app.statuses(customer["sid"]) == ["ringing", "no-answer"]
    assert bridge_app.received("dial-action")[0]["DialCallStatus"] == "no-answer"
    ended = customer["history"][-1]["sim_time"] - customer["history"][0]["sim_time"]
    assert ended == pytest.approx(30)  # the bridge TwiML's Dial timeout


def test_customer_number_fails(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, fail=True)
    place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    _, customer = legs(sim)
    assert bridge_app.statuses(customer["sid"]) == ["failed"]
    assert bridge_app.received("dial-action")[0]["DialCallStatus"] == "failed"


def test_agent_busy_or_unanswered_never_dials_the_customer(sim, bridge_app, place_call):
    sim.set_behaviour("+8613700137000", busy=True)
    sim.set_behaviour(AGENT, no_answer=True)
    busy = place_call("+8613700137000", CUSTOMER)
    unanswered = place_call(AGENT, CUSTOMER, timeout=10)
    sim.wait_idle(10)
    assert bridge_app.statuses(busy) == ["busy"]
    assert bridge_app.statuses(unanswered) == ["ringing", "no-answer"]
    assert bridge_app.received("bridge") == []
    assert len(sim.calls()) == 2


def test_voicemail_is_reported_with_machine_detection(sim, bridge_app, place_call):
    sim.set_behaviour(AGENT, voicemail=True)
    sid = place_call(AGENT, CUSTOMER, machine_detection=True)
    sim.wait_idle(10)
    answered = bridge_app.received("status", CallSid=sid, CallStatus="in-progress")[0]
    assert answered["AnsweredBy"] == "machine_start"
    assert bridge_app.received("bridge")[0]["AnsweredBy"] == "machine_start"
    assert sim.call(sid)["answered_by"] == "machine_start"


def test_voicemail_without_detection_answers_like_anyone(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, voicemail=True)
    place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    _, customer = legs(sim)
    assert bridge_app.statuses(customer["sid"])[-2:] == ["in-progress", "completed"]
    assert all("AnsweredBy" not in e for e in bridge_app.received("status"))


def test_human_answer_with_machine_detection(sim, bridge_app, place_call):
    sid = place_call(AGENT, CUSTOMER, machine_detection=True)
    sim.wait_idle(10)
    assert bridge_app.received("bridge")[0]["AnsweredBy"] == "human"
    _, customer = legs(sim)
    assert "AnsweredBy" not in bridge_app.received("status", CallSid=customer["sid"])[-1]
    assert sid


def test_end_call_during_the_conversation(sim, telephony, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, hangup_after=10_000)
    sid = place_call(AGENT, CUSTOMER)
    wait_for(lambda: len(sim.calls()) == 2 and sim.calls()[1]["status"] == "in-progress")
    telephony.end_call(sid)
    sim.wait_idle(5)
    agent, customer = legs(sim)
    assert agent["status"] == customer["status"] == "completed"
    (action,) = bridge_app.received("dial-action")
    assert action["DialCallStatus"] == "completed" and action["CallStatus"] == "completed"
    assert int(action["DialCallDuration"]) < 10_000


def test_end_call_while_ringing_cancels(sim, telephony, bridge_app, place_call):
    sim.set_behaviour(AGENT, no_answer=True)
    sid = place_call(AGENT, CUSTOMER, timeout=600)
    wait_for(lambda: sim.call(sid)["status"] == "ringing")
    telephony.end_call(sid)
    sim.wait_idle(5)
    assert bridge_app.statuses(sid) == ["ringing", "canceled"]


def test_redirect_takes_the_agent_out_of_the_bridge(sim, telephony, bridge_app, place_call):
    from telephony import twiml

    bridge_app.answers["wrap-up"] = twiml.say("请填写通话结果")
    sim.set_behaviour(CUSTOMER, hangup_after=10_000)
    sid = place_call(AGENT, CUSTOMER)
    wait_for(lambda: len(sim.calls()) == 2 and sim.calls()[1]["status"] == "in-progress")
    telephony.redirect_call(sid, bridge_app.url("wrap-up"))
    sim.wait_idle(5)
    _, customer = legs(sim)
    assert customer["status"] == "completed"
    assert bridge_app.received("dial-action") == []  # a redirect skips the action URL
    (wrap_up,) = bridge_app.received("wrap-up")
    assert wrap_up["CallSid"] == sid and wrap_up["CallStatus"] == "in-progress"
    assert bridge_app.statuses(sid)[-1] == "completed"
    with pytest.raises(TelephonyError) as refused:
        telephony.redirect_call(sid, bridge_app.url("wrap-up"))
    assert refused.value.code == 21220


def test_time_limit_ends_the_call(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, hangup_after=10_000)
    sid = place_call(AGENT, CUSTOMER, time_limit=20)
    sim.wait_idle(5)
    done = bridge_app.received("status", CallSid=sid, CallStatus="completed")[0]
    assert done["CallDuration"] == "20"


def test_recording_of_the_whole_agent_leg_when_asked(sim, bridge_app, place_call):
    sid = place_call(AGENT, CUSTOMER, recording_callback=bridge_app.url("leg-recording"))
    sim.wait_idle(5)
    (leg_recording,) = bridge_app.received("leg-recording")
    assert leg_recording["CallSid"] == sid and leg_recording["RecordingSource"] == "OutboundAPI"
    assert leg_recording["RecordingDuration"] == "7"


def test_wrong_credentials_are_refused(sim):
    intruder = TwilioTelephony(sim.config.account_sid, "wrong-token", api_base_url=sim.base_url)
    with pytest.raises(TelephonyError) as refused:
        intruder.send_sms(to=CUSTOMER, from_=HOTLINE, body="hi")
    assert refused.value.code == 20003 and refused.value.status == 401
    with pytest.raises(TelephonyError):
        intruder.end_call("CA" + "0" * 32)
    assert sim.calls() == [] and sim.messages() == []


def test_unknown_call_and_unreachable_provider(sim, telephony):
    with pytest.raises(TelephonyError) as missing:
        telephony.end_call("CA" + "0" * 32)
    assert missing.value.code == 20404 and missing.value.status == 404
    closed = TwilioTelephony("AC1", "t", api_base_url="http://127.0.0.1:9")
    with pytest.raises(TelephonyUnavailable):
        closed.end_call("CA" + "0" * 32)


def test_hanging_up_the_customer_ends_the_dial_normally(sim, telephony, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, hangup_after=10_000)
    sid = place_call(AGENT, CUSTOMER)
    wait_for(lambda: len(sim.calls()) == 2 and sim.calls()[1]["status"] == "in-progress")
    telephony.end_call(sim.calls()[1]["sid"])
    sim.wait_idle(5)
    (action,) = bridge_app.received("dial-action")
    assert action["DialCallStatus"] == "completed" and action["CallStatus"] == "in-progress"
    assert bridge_app.statuses(sid)[-1] == "completed"


def test_redirecting_the_customer_leaves_the_agent_with_the_action(
    sim, telephony, bridge_app, place_call
):
    from telephony import twiml

    bridge_app.answers["survey"] = twiml.say("请为本次服务评分")
    sim.set_behaviour(CUSTOMER, hangup_after=10_000)
    sid = place_call(AGENT, CUSTOMER)
    wait_for(lambda: len(sim.calls()) == 2 and sim.calls()[1]["status"] == "in-progress")
    customer = sim.calls()[1]["sid"]
    telephony.redirect_call(customer, bridge_app.url("survey"))
    sim.wait_idle(5)
    (survey,) = bridge_app.received("survey")
    assert survey["CallSid"] == customer and survey["ParentCallSid"] == sid
    assert bridge_app.received("dial-action")[0]["DialCallStatus"] == "completed"
    assert sim.call(customer)["status"] == sim.call(sid)["status"] == "completed"
    # The customer heard the 1 s survey prompt after leaving the bridge.
    assert sim.call(customer)["ended_sim_time"] > sim.call(sid)["ended_sim_time"]
