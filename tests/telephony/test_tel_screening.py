"""Screened legs, key presses, TwiML Twilio refuses, the fallback URL and recordings."""

from __future__ import annotations

from flask import request

from telephony import TwilioTelephony, twiml
from telephony.simulator import Simulator
from tests.telephony import conftest
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE, SPEED, FakeApp, wait_for

CALLER = "+8613800138000"
VOICEMAIL = "+8613900139001"
AGENT = "+8613900139002"
WHISPER = "400 来电：王先生，凯美瑞，按 1 接听"


def screened_route(app: FakeApp, targets: list[str]) -> None:
    """The hotline rings ``targets`` at once, each screened with the whisper."""
    app.answers["voice/inbound"] = twiml.dial_stage(
        targets=targets,
        action_url=app.url("voice/dial-action"),
        status_callback=app.url("voice/leg"),
        caller_id=None,
        screen_url=app.url("screen"),
    )
    app.answers["screen"] = twiml.screen_prompt(whisper=WHISPER, action_url=app.url("screen/key"))
    app.answers["screen/key"] = lambda form: twiml.screen_decision(form.get("Digits"))
    app.answers["voice/dial-action"] = twiml.hangup()


def test_a_voicemail_answering_first_never_takes_the_call(virtual):
    # Virtual time: the exact moments below do not depend on the machine's speed.
    sim, app_server = virtual.sim, virtual.app
    screened_route(app_server, [VOICEMAIL, AGENT])
    sim.set_behaviour(VOICEMAIL, answer_after=1, voicemail=True, press="1")
    sim.set_behaviour(AGENT, answer_after=4, press="1", press_after=2, hangup_after=30)
    caller = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    legs = {c["to"]: c for c in sim.calls()}
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallSid"] == legs[AGENT]["sid"]
    assert action["DialCallStatus"] == "completed" and action["DialCallDuration"] == "30"
    # Both legs heard the whisper; only the agent pressed 1; the machine was hung up.
    assert {w["CallSid"] for w in app_server.received("screen")} == {
        legs[VOICEMAIL]["sid"],
        legs[AGENT]["sid"],
    }
    (key,) = app_server.received("screen/key")
    assert key["CallSid"] == legs[AGENT]["sid"] and key["Digits"] == "1"
    assert legs[VOICEMAIL]["status"] == "completed"
    assert legs[VOICEMAIL]["ended_sim_time"] == legs[AGENT]["answered_sim_time"] + 2
    assert sim.call(caller)["status"] == "completed"


def test_nobody_pressing_means_nobody_is_connected(virtual):
    sim, app_server = virtual.sim, virtual.app
    screened_route(app_server, [VOICEMAIL])
    sim.set_behaviour(VOICEMAIL, voicemail=True)
    sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallStatus"] == "no-answer" and action["DialBridged"] == "false"
    assert app_server.received("screen/key") == []
    (leg,) = [c for c in sim.calls() if c["to"] == VOICEMAIL]
    # Answered, heard the 1 s whisper, the 5 s Gather timed out: hung up, never bridged.
    assert leg["status"] == "completed" and leg["duration"] == 6


def test_a_wrong_key_is_not_an_accept(sim, app_server):
    screened_route(app_server, [AGENT])
    sim.set_behaviour(AGENT, press="9")
    sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    assert app_server.received("screen/key")[0]["Digits"] == "9"
    assert app_server.received("voice/dial-action")[0]["DialBridged"] == "false"


def test_click_to_dial_agent_leg_is_screened_before_the_customer_rings(sim, telephony, app_server):
    app_server.answers["agent"] = twiml.screen_prompt(
        whisper=WHISPER, action_url=app_server.url("agent/key")
    )
    app_server.answers["agent/key"] = twiml.bridge(
        customer=CALLER,
        caller_id=HOTLINE,
        action_url=app_server.url("dial-action"),
        status_callback=app_server.url("status"),
        customer_notice_url=app_server.url("notice"),
    )
    app_server.answers["notice"] = twiml.recording_notice("本通话将被录音")
    app_server.answers["dial-action"] = twiml.hangup()

    def place(agent: str) -> str:
        return telephony.place_bridged_call(
            agent=agent,
            customer=CALLER,
            caller_id=HOTLINE,
            bridge_url=app_server.url("agent"),
            status_callback=app_server.url("status"),
        )

    sim.set_behaviour(VOICEMAIL, voicemail=True)
    sim.set_behaviour(AGENT, press="1")
    unattended = place(VOICEMAIL)
    sim.wait_idle(10)
    assert [c["sid"] for c in sim.calls()] == [unattended]  # the customer never rang
    attended = place(AGENT)
    sim.wait_idle(10)
    customer = next(c for c in sim.calls() if c["parent_call_sid"] == attended)
    (notice,) = app_server.received("notice")
    assert notice["CallSid"] == customer["sid"]  # the customer heard the notice first
    assert app_server.received("dial-action")[0]["DialCallStatus"] == "completed"


def test_amd_result_is_scriptable(sim, bridge_app, place_call):
    sim.set_behaviour("client:alice", amd="machine_end_beep")
    sid = place_call("client:alice", CALLER, machine_detection=True)
    sim.wait_idle(10)
    assert bridge_app.received("bridge")[0]["AnsweredBy"] == "machine_end_beep"
    assert sim.call(sid)["answered_by"] == "machine_end_beep"


def test_a_dial_of_eleven_fails_the_document_as_twilio_does(sim, app_server):
    agents = [f"+86139001390{i:02d}" for i in range(11)]
    numbers = "".join(f"<Number>{a}</Number>" for a in agents)
    app_server.answers["voice/inbound"] = f"<Response><Dial>{numbers}</Dial></Response>"
    sid = sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    assert [c["sid"] for c in sim.calls()] == [sid]  # nobody rang
    assert sim.call(sid)["status"] == "failed"
    (alert,) = sim.alerts()
    assert alert["code"] == 12200 and "at most 10" in alert["message"]
    assert alert["call_sid"] == sid and alert["url"] == app_server.url("voice/inbound")
    ten = "".join(f"<Number>{a}</Number>" for a in agents[:10])
    app_server.answers["voice/inbound"] = f"<Response><Dial>{ten}</Dial></Response>"
    sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    assert len(sim.calls()) == 1 + 1 + 10


def test_a_whisper_may_not_dial(sim, app_server):
    screened_route(app_server, [AGENT])
    app_server.answers["screen"] = "<Response><Dial>+8613700137000</Dial></Response>"
    sim.originate_inbound(CALLER, HOTLINE)
    sim.wait_idle(10)
    assert [a["code"] for a in sim.alerts()] == [13201]
    assert app_server.received("voice/dial-action")[0]["DialBridged"] == "false"


def fallback_sim(app: FakeApp) -> Simulator:
    simulator = Simulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        speed=SPEED,
        hotline=HOTLINE,
        voice_url=app.url("voice/broken"),
        voice_fallback_url=app.url("voice/fallback"),
    )
    simulator.start()
    return simulator


def test_a_failing_voice_url_goes_to_the_fallback_without_retrying(app_server):
    app_server.answers["voice/fallback"] = twiml.fallback_apology(
        "很抱歉，系统繁忙，我们会尽快回电。"
    )
    app_server.answers["voice/broken"] = "<Response><Dial>"  # not XML
    simulator = fallback_sim(app_server)
    try:
        sid = simulator.originate_inbound(CALLER, HOTLINE)
        simulator.wait_idle(10)
        (fallback,) = app_server.received("voice/fallback")
        assert fallback["ErrorCode"] == "12100"
        assert fallback["ErrorUrl"] == app_server.url("voice/broken")
        assert simulator.call(sid)["status"] == "completed"  # apologised, then hung up
    finally:
        simulator.stop()


def test_a_5xx_is_not_retried(app_server):
    app_server.answers["voice/fallback"] = twiml.fallback_apology("很抱歉")
    simulator = fallback_sim(app_server)
    try:
        simulator.own_number(
            HOTLINE,
            voice_url="http://127.0.0.1:9/nobody-listens",
            voice_fallback_url=app_server.url("voice/fallback"),
        )
        sid = simulator.originate_inbound(CALLER, HOTLINE)
        simulator.wait_idle(10)
        first = simulator.webhooks(call_sid=sid)[0]
        assert first["kind"] == "incoming" and first["status"] is None
        assert app_server.received("voice/fallback")[0]["ErrorCode"] == "11200"
    finally:
        simulator.stop()


def test_server_errors_get_one_attempt(monkeypatch):
    real = conftest.FakeApp.wsgi

    def failing(self: FakeApp):
        app = real(self)

        @app.before_request
        def explode():
            if request.path == "/voice/inbound":
                return "boom", 503
            return None

        return app

    monkeypatch.setattr(conftest.FakeApp, "wsgi", failing)
    rig = conftest.make_virtual_rig()
    try:
        sid = rig.sim.originate_inbound(CALLER, HOTLINE)
        rig.sim.wait_idle()
        (hook,) = rig.sim.webhooks(call_sid=sid, kind="incoming")
        assert hook["status"] == 503 and hook["attempts"] == 1
        assert rig.sim.call(sid)["status"] == "failed"
        assert [a["code"] for a in rig.sim.alerts()] == [11200]
    finally:
        rig.sim.stop()


def test_recordings_are_processing_then_completed(app_server):
    simulator = Simulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        speed=SPEED,
        voice_url=app_server.url("voice/inbound"),
        recording_processing=200,  # simulated seconds: 1 s of real time at this speed
    )
    simulator.start()
    try:
        app_server.answers["voice/inbound"] = twiml.inbound_route(
            notice="",
            targets=[AGENT],
            action_url=app_server.url("voice/dial-action"),
            status_callback=app_server.url("voice/leg"),
            caller_id=None,
            recording_callback=app_server.url("voice/recording"),
        )
        app_server.answers["voice/dial-action"] = twiml.hangup()
        sid = simulator.originate_inbound(CALLER, HOTLINE)
        wait_for(lambda: simulator.call(sid)["status"] == "completed")
        action = app_server.received("voice/dial-action")[0]
        recording_sid = action["RecordingSid"]
        assert simulator.recording(recording_sid)["status"] == "processing"
        assert app_server.received("voice/recording") == []
        simulator.wait_idle(10)
        assert simulator.recording(recording_sid)["status"] == "completed"
        (callback,) = app_server.received("voice/recording")
        assert callback["RecordingStatus"] == "completed"
        assert callback["RecordingSid"] == recording_sid
        adapter = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base_url=simulator.base_url)
        fetched = adapter.client.recordings(recording_sid).fetch()
        assert fetched.status == "completed" and fetched.call_sid == sid
    finally:
        simulator.stop()
