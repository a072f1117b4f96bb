"""The TwiML builders, checked by parsing their XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from telephony import twiml

EVENTS = "ringing answered completed"


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


def test_screen_prompt_gathers_one_key_then_hangs_up() -> None:
    root = parse(
        twiml.screen_prompt(whisper="400 来电：王先生，凯美瑞，按 1 接听", action_url="/key")
    )
    gather, hangup = list(root)
    assert gather.tag == "Gather" and hangup.tag == "Hangup"
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"
    assert gather.get("action") == "/key" and gather.get("timeout") == "5"
    (say,) = list(gather)
    assert say.text == "400 来电：王先生，凯美瑞，按 1 接听" and say.get("language") == "cmn-CN"
    with pytest.raises(ValueError):
        twiml.screen_prompt(whisper="x", action_url="/k", key="12")


def test_screen_decision_connects_only_on_the_key() -> None:
    assert list(parse(twiml.screen_decision("1"))) == []
    for digits in ("2", "", None):
        assert [v.tag for v in parse(twiml.screen_decision(digits))] == ["Hangup"]


def test_bridge_can_play_a_notice_to_the_customer_first() -> None:
    root = parse(
        twiml.bridge(
            customer="+8613800138000",
            caller_id="+864008123123",
            action_url="/a",
            status_callback="/s",
            customer_notice_url="/notice",
        )
    )
    (number,) = list(root.find("Dial"))
    assert number.get("url") == "/notice" and number.get("method") == "POST"
    assert [v.tag for v in parse(twiml.recording_notice("本通话将被录音"))] == ["Say"]
    with pytest.raises(ValueError):
        twiml.recording_notice("")


def test_dial_stage_rings_at_most_ten_screened_targets() -> None:
    targets = [f"client:agent_{i}" for i in range(10)]
    root = parse(
        twiml.dial_stage(
            targets=targets,
            action_url="/next-stage",
            status_callback="/s",
            caller_id=None,
            screen_url="/screen",
        )
    )
    (dial,) = list(root)
    assert dial.get("action") == "/next-stage" and dial.get("timeout") == "15"
    assert dial.get("answerOnBridge") == "true"
    assert [n.text for n in dial] == [f"agent_{i}" for i in range(10)]
    assert {n.get("url") for n in dial} == {"/screen"}
    with pytest.raises(ValueError, match="at most 10"):
        twiml.dial_stage(
            targets=[*targets, "+8613800138000"],
            action_url="/a",
            status_callback="/s",
            caller_id=None,
        )
    with pytest.raises(ValueError, match="at most 10"):
        twiml.inbound_route(
            notice="",
            targets=[f"+86138001380{i:02d}" for i in range(11)],
            action_url="/a",
            status_callback="/s",
            caller_id=None,
        )
    assert twiml.stages([str(i) for i in range(23)]) == [
        [str(i) for i in range(10)],
        [str(i) for i in range(10, 20)],
        ["20", "21", "22"],
    ]


def test_queue_wait_says_place_and_wait_then_offers_a_callback() -> None:
    early = parse(
        twiml.queue_wait(
            position=3, expected_wait=130, waited=30, callback_after=90, callback_url="/cb"
        )
    )
    assert [v.tag for v in early] == ["Say", "Pause"]
    assert early[0].text == "您前面还有2位客户，预计等待约3分钟。"
    late = parse(
        twiml.queue_wait(
            position=1, expected_wait=0, waited=95, callback_after=90, callback_url="/cb"
        )
    )
    say, gather, pause = list(late)
    assert say.text == "您是下一位，请稍候，马上为您接通。"
    assert gather.get("numDigits") == "1" and gather.get("action") == "/cb"
    assert "按1" in gather[0].text and pause.tag == "Pause"
    music = parse(
        twiml.queue_wait(
            position=2,
            expected_wait=10,
            waited=0,
            callback_after=90,
            callback_url="/cb",
            hold_music_url="https://x/hold.mp3",
        )
    )
    assert music[0].text.endswith("约1分钟。") and music[1].tag == "Play"


def test_leave_queue_and_fallback_apology() -> None:
    assert [v.tag for v in parse(twiml.leave_queue("好的"))] == ["Say", "Leave"]
    assert [v.tag for v in parse(twiml.leave_queue())] == ["Leave"]
    assert [v.tag for v in parse(twiml.fallback_apology("很抱歉"))] == ["Say", "Hangup"]
    with pytest.raises(ValueError):
        twiml.fallback_apology("")
