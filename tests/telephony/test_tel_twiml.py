"""The TwiML builders, checked by parsing their XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from telephony import twiml

EVENTS = "initiated ringing answered completed"


def parse(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return root


def test_inbound_route_says_notice_then_rings_every_target_at_once() -> None:
    root = parse(
        twiml.inbound_route(
            notice="本通话将被录音",
            targets=["+8613800138000", "client:agent_7"],
            action_url="https://dcc.example/voice/dial-action",
            status_callback="https://dcc.example/voice/status",
            caller_id="+864008123123",
            timeout=25,
            recording_callback="https://dcc.example/voice/recording",
        )
    )
    say, dial = list(root)
    assert say.tag == "Say" and say.text == "本通话将被录音"
    assert say.get("language") == "cmn-CN" and say.get("voice") == "Polly.Zhiyu"
    assert dial.tag == "Dial"
    assert dial.get("action") == "https://dcc.example/voice/dial-action"
    assert dial.get("timeout") == "25"
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == "https://dcc.example/voice/recording"
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("callerId") == "+864008123123"
    number, client = list(dial)
    assert (number.tag, number.text) == ("Number", "+8613800138000")
    assert (client.tag, client.text) == ("Client", "agent_7")
    for noun in (number, client):
        assert noun.get("statusCallback") == "https://dcc.example/voice/status"
        assert noun.get("statusCallbackEvent") == EVENTS


def test_inbound_route_without_recording_or_caller_id() -> None:
    root = parse(
        twiml.inbound_route(
            notice="",
            targets=["+8613800138000"],
            action_url="/a",
            status_callback="/s",
            caller_id=None,
            record=False,
        )
    )
    (dial,) = list(root)  # an empty notice is not spoken
    assert dial.get("record") is None and dial.get("callerId") is None
    assert dial.get("timeout") == "20"


def test_inbound_route_needs_targets() -> None:
    with pytest.raises(ValueError):
        twiml.inbound_route(
            notice="x", targets=[], action_url="/a", status_callback="/s", caller_id=None
        )


def test_enqueue_and_wait_message() -> None:
    root = parse(
        twiml.enqueue_caller(notice="请稍候", queue="inbound", wait_url="/wait", action_url="/left")
    )
    say, enqueue = list(root)
    assert say.text == "请稍候"
    assert enqueue.tag == "Enqueue" and enqueue.text == "inbound"
    assert enqueue.get("waitUrl") == "/wait" and enqueue.get("action") == "/left"
    wait = parse(twiml.queue_wait_message("坐席忙"))
    assert [v.tag for v in wait] == ["Say", "Pause"]
    assert wait[1].get("length") == "10"
    music = parse(twiml.queue_wait_message("坐席忙", hold_music_url="https://x/hold.mp3"))
    assert [v.tag for v in music] == ["Say", "Play"] and music[1].text == "https://x/hold.mp3"


def test_after_hours_says_and_hangs_up() -> None:
    assert [v.tag for v in parse(twiml.after_hours("下班了"))] == ["Say", "Hangup"]


def test_bridge_dials_the_customer_with_the_hotline_as_caller_id() -> None:
    root = parse(
        twiml.bridge(
            customer="+8613800138000",
            caller_id="+864008123123",
            action_url="/dial-action",
            status_callback="/status",
            recording_callback="/recording",
            whisper="客户 张先生",
            time_limit=600,
        )
    )
    say, dial = list(root)
    assert say.text == "客户 张先生"
    assert dial.get("callerId") == "+864008123123"
    assert dial.get("timeout") == "30" and dial.get("timeLimit") == "600"
    assert dial.get("record") == "record-from-answer-dual"
    (number,) = list(dial)
    assert number.text == "+8613800138000"
    assert number.get("statusCallbackEvent") == EVENTS
    plain = parse(
        twiml.bridge(
            customer="+1", caller_id="+2", action_url="/a", status_callback="/s", record=False
        )
    )
    assert [v.tag for v in plain] == ["Dial"] and plain[0].get("record") is None


def test_small_documents() -> None:
    assert [v.tag for v in parse(twiml.hangup())] == ["Hangup"]
    assert parse(twiml.say("你好"))[0].text == "你好"
    dial = parse(twiml.dequeue(queue="inbound", action_url="/a"))[0]
    assert dial.tag == "Dial" and dial[0].tag == "Queue" and dial[0].text == "inbound"
