"""The adapter's new duties: an unknown outcome is not a failure, calls and messages can be
found again, Twilio's dialling rules are checked up front, and calls are paced."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from telephony import (
    TelephonyError,
    TelephonyTimeout,
    TelephonyUnavailable,
    TwilioTelephony,
    check_dial,
    make_telephony,
)
from telephony.pacing import FilePacer, TokenBucket
from telephony.rules import ANYWHERE
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE

AGENT = "client:alice"
CUSTOMER = "+8613800138000"


def test_a_time_out_after_acceptance_is_an_unknown_outcome_and_the_call_is_found(
    sim, bridge_app, telephony
):
    # Only the request that times out is impatient; the look-ups that follow wait as usual,
    # so a loaded machine cannot make them time out too.
    impatient = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base_url=sim.base_url, timeout=0.3)
    since = sim.now() - timedelta(seconds=1)
    sim.respond_late(1.5)  # the call is created, the answer comes after the client gave up
    with pytest.raises(TelephonyTimeout) as unknown:
        impatient.place_bridged_call(
            agent=AGENT,
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url=bridge_app.url(f"bridge?customer={CUSTOMER.replace('+', '%2B')}"),
            status_callback=bridge_app.url("status"),
        )
    assert not isinstance(unknown.value, TelephonyUnavailable)  # not "safe to retry"
    assert "unknown" in str(unknown.value)
    found = telephony.find_calls(to=AGENT, since=since)
    assert len(found) == 1  # exactly one call exists: reconcile, do not dial again
    (call,) = found
    assert call.to == AGENT and call.from_ == HOTLINE and call.direction == "outbound-api"
    sim.wait_idle(10)
    assert [c["sid"] for c in sim.calls() if c["direction"] == "outbound-api"] == [call.sid]
    assert bridge_app.statuses(call.sid)[-1] == "completed"  # it went ahead at the provider
    assert telephony.find_calls(to=CUSTOMER, since=since)[0].parent_sid == call.sid
    assert telephony.find_calls(to="+8613911112222", since=since) == []


def test_a_queued_call_is_found_too(sim, telephony, place_call):
    sim.set_calls_per_second(0.01)
    since = sim.now() - timedelta(seconds=1)
    place_call(AGENT, CUSTOMER)
    second = place_call(AGENT, CUSTOMER)
    assert sim.call(second)["status"] == "queued"
    found = {c.sid: c for c in telephony.find_calls(to=AGENT, since=since)}
    assert second in found and found[second].started_at is None
    assert len(found) == 2


def test_an_sms_time_out_is_an_unknown_outcome_and_the_message_is_found(sim, telephony):
    impatient = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base_url=sim.base_url, timeout=0.3)
    since = sim.now() - timedelta(seconds=1)
    sim.respond_late(1.5)
    with pytest.raises(TelephonyTimeout):
        impatient.send_sms(to=CUSTOMER, from_=HOTLINE, body="试驾确认")
    (message,) = telephony.find_messages(to=CUSTOMER, since=since)
    assert message.from_ == HOTLINE and message.sid == sim.messages()[0]["sid"]


def test_in_process_time_outs_need_no_waiting(virtual):
    virtual.sim.respond_late(30)  # longer than the client's 10 s: reported, not slept
    with pytest.raises(TelephonyTimeout):
        virtual.telephony.send_sms(to=CUSTOMER, from_=HOTLINE, body="x")
    assert len(virtual.sim.messages()) == 1
    assert virtual.telephony.send_sms(to=CUSTOMER, from_=HOTLINE, body="y").startswith("SM")


def test_a_provider_that_cannot_be_reached_is_safe_to_retry():
    closed = TwilioTelephony("AC1", "t", api_base_url="http://127.0.0.1:9")
    with pytest.raises(TelephonyUnavailable) as unreachable:
        closed.send_sms(to=CUSTOMER, from_=HOTLINE, body="x")
    assert not isinstance(unreachable.value, TelephonyTimeout)


def test_update_call_needs_exactly_one_document(telephony):
    with pytest.raises(ValueError):
        telephony.update_call("CA" + "0" * 32)
    with pytest.raises(ValueError):
        telephony.update_call("CA" + "0" * 32, url="http://x", twiml="<Response/>")
    with pytest.raises(TelephonyError) as missing:
        telephony.update_call("CA" + "0" * 32, twiml="<Response/>")
    assert missing.value.code == 20404


@pytest.mark.parametrize(
    ("destination", "caller_id", "refused"),
    [
        ("+8613800138000", "+14155550100", "mainland China"),
        ("+861012345678", None, "mainland China"),
        ("+14155550100", "+864008123123", None),
        ("+85291234567", "+864008123123", None),
        ("+14155550100", "+14155550199", None),
        ("13800138000", None, "E.164"),
        ("+14155550100", "400-812-3123", "E.164"),
        ("client:alice", "+864008123123", None),
    ],
)
def test_twilio_dialling_rules(destination, caller_id, refused):
    reason = check_dial(destination, caller_id)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_chinese_caller_id_to_china_has_its_own_reason():
    from telephony.rules import DialRules

    no_block = DialRules(
        provider="Twilio",
        blocked_caller_ids=(("+86", "+86", "Chinese caller ID to China"),),
    )
    assert check_dial("+8613800138000", "+864008123123", no_block) == "Chinese caller ID to China"
    assert check_dial("+8613800138000", "+14155550100", no_block) is None


def test_each_adapter_knows_its_provider_s_rules(sim):
    real = make_telephony("twilio", account_sid="AC1", auth_token="t")
    simulated = make_telephony("sim", account_sid="AC1", auth_token="t", api_base_url=sim.base_url)
    assert real.check_dial(CUSTOMER, HOTLINE) is not None
    assert simulated.check_dial(CUSTOMER, HOTLINE) is None  # the simulator's geo decides
    assert isinstance(simulated, TwilioTelephony) and simulated.rules is ANYWHERE


def test_twilio_settings_are_passed_through(monkeypatch):
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    chosen = make_telephony(
        "twilio",
        account_sid="AC1",
        auth_token="t",
        api_base_url="https://api.twilio.com",
        edge="singapore",
        region="sg1",
    )
    assert isinstance(chosen, TwilioTelephony)
    assert (chosen.client.edge, chosen.client.region) == ("singapore", "sg1")
    assert chosen.client.get_hostname("https://api.twilio.com/x") == (
        "https://api.singapore.sg1.twilio.com/x"
    )
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    from_env = make_telephony("twilio", account_sid="AC1", auth_token="t")
    assert isinstance(from_env, TwilioTelephony) and from_env.client.edge == "sydney"
    proxied = make_telephony(
        "twilio", account_sid="AC1", auth_token="t", api_base_url="https://twilio-proxy.example"
    )
    assert isinstance(proxied, TwilioTelephony)
    assert proxied.client.api.base_url == "https://twilio-proxy.example"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_token_bucket_spaces_calls_and_refuses_a_long_wait():
    fake = FakeTime()
    pacer = TokenBucket(2.0, max_wait=1.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        fake.now = 1000.0  # three calls at the same instant
        pacer()
    assert fake.slept == [0.5, 1.0]
    fake.now = 1000.0
    with pytest.raises(TelephonyUnavailable):
        pacer()  # the next slot is 1.5 s away: nothing sent, retry later


def test_file_pacer_is_shared_by_every_process(tmp_path: Path):
    path = tmp_path / "pace" / "calls"
    fake = FakeTime()
    one = FilePacer(str(path), 1.0, clock=fake.clock, sleep=fake.sleep)
    other = FilePacer(str(path), 1.0, clock=fake.clock, sleep=fake.sleep)
    one()
    fake.now = 1000.0
    other()  # another pacer (another process) on the same file waits for the next slot
    assert fake.slept == [1.0]
    script = (
        "import sys, time\n"
        "from telephony.pacing import FilePacer\n"
        "FilePacer(sys.argv[1], 1.0, clock=lambda: 1000.0, sleep=lambda s: print(s))()\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(out.stdout) == pytest.approx(2.0)  # a separate process got the third slot


def test_the_adapter_asks_the_pacer_before_each_call(sim, bridge_app):
    asked: list[int] = []
    paced = TwilioTelephony(
        ACCOUNT_SID,
        AUTH_TOKEN,
        api_base_url=sim.base_url,
        pacer=lambda: asked.append(len(sim.calls())),
    )
    for _ in range(2):
        paced.place_bridged_call(
            agent=AGENT,
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url=bridge_app.url("bridge"),
            status_callback=bridge_app.url("status"),
        )
    assert asked[0] == 0 and len(asked) == 2  # asked before the first call existed

    def refuse() -> None:
        raise TelephonyUnavailable("no slot")

    before = len(sim.calls())
    with pytest.raises(TelephonyUnavailable):
        TwilioTelephony(
            ACCOUNT_SID, AUTH_TOKEN, api_base_url=sim.base_url, pacer=refuse
        ).place_bridged_call(
            agent=AGENT,
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url=bridge_app.url("bridge"),
            status_callback=bridge_app.url("status"),
        )
    assert len(sim.calls()) == before
