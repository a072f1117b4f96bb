"""What the simulated account refuses, as Twilio does: caller IDs, geography, unregistered
clients, and the calls-per-second pace; each also set through ``/sim``."""

from __future__ import annotations

import pytest
import requests

from telephony import TelephonyError, twiml
from telephony.simulator import Simulator
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE, SPEED, FakeApp

AGENT = "client:alice"
CUSTOMER = "+8613800138000"
US_CUSTOMER = "+14155550100"


@pytest.fixture
def owned(sim: Simulator) -> Simulator:
    """The simulator with the hotline as the account's one number."""
    sim.own_number(HOTLINE)
    return sim


def test_a_from_the_account_does_not_own_is_refused(owned, telephony, place_call):
    with pytest.raises(TelephonyError) as refused:
        telephony.place_bridged_call(
            agent=AGENT,
            customer=CUSTOMER,
            caller_id="+8613911112222",
            bridge_url="http://x/b",
            status_callback="http://x/s",
        )
    assert refused.value.code == 21210 and refused.value.status == 400
    assert owned.calls() == []
    place_call(AGENT, CUSTOMER)  # the hotline is owned
    owned.verify_caller_id("+8613911112222")
    telephony.place_bridged_call(
        agent=AGENT,
        customer=CUSTOMER,
        caller_id="+8613911112222",
        bridge_url="http://x/b",
        status_callback="http://x/s",
    )
    assert len({c["from"] for c in owned.calls() if c["direction"] == "outbound-api"}) == 2


def test_without_numbers_every_caller_id_passes(sim, telephony):
    sid = telephony.place_bridged_call(
        agent=AGENT,
        customer=CUSTOMER,
        caller_id="+8613911112222",
        bridge_url="http://x/b",
        status_callback="http://x/s",
    )
    assert sim.call(sid)["from"] == "+8613911112222"


def test_numbers_must_be_e164(sim, telephony):
    with pytest.raises(TelephonyError) as refused:
        telephony.place_bridged_call(
            agent="13800138000",
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url="http://x/b",
            status_callback="http://x/s",
        )
    assert refused.value.code == 21211


def test_geo_permissions_refuse_calls_and_messages(sim, telephony):
    sim.set_geo_permissions(blocked=["+86"])
    with pytest.raises(TelephonyError) as call:
        telephony.place_bridged_call(
            agent=CUSTOMER,
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url="http://x/b",
            status_callback="http://x/s",
        )
    assert call.value.code == 21215
    with pytest.raises(TelephonyError) as sms:
        telephony.send_sms(to=CUSTOMER, from_=HOTLINE, body="hi")
    assert sms.value.code == 21408
    telephony.send_sms(to=US_CUSTOMER, from_=HOTLINE, body="hi")  # elsewhere is allowed
    sim.set_geo_permissions(allowed=["+852"])
    with pytest.raises(TelephonyError):
        telephony.send_sms(to=US_CUSTOMER, from_=HOTLINE, body="hi")


def test_a_geo_blocked_dial_target_fails_its_leg_only(sim, app_server, place_call, bridge_app):
    sim.set_geo_permissions(blocked=["+1"])
    app_server.answers["voice/inbound"] = twiml.inbound_route(
        notice="",
        targets=[US_CUSTOMER, "+8613900139000"],
        action_url=app_server.url("voice/dial-action"),
        status_callback=app_server.url("voice/leg"),
        caller_id=None,
    )
    app_server.answers["voice/dial-action"] = twiml.hangup()
    sim.originate_inbound(CUSTOMER, HOTLINE)
    sim.wait_idle(10)
    legs = {c["to"]: c for c in sim.calls()}
    assert legs[US_CUSTOMER]["status"] == "failed"
    assert legs["+8613900139000"]["status"] == "completed"
    assert [a["code"] for a in sim.alerts()] == [13227]
    (action,) = app_server.received("voice/dial-action")
    assert action["DialCallSid"] == legs["+8613900139000"]["sid"]


def test_sms_from_a_number_the_account_does_not_own(owned, telephony):
    with pytest.raises(TelephonyError) as refused:
        telephony.send_sms(to=CUSTOMER, from_="+8613911112222", body="hi")
    assert refused.value.code == 21606
    assert telephony.send_sms(to=CUSTOMER, from_=HOTLINE, body="hi").startswith("SM")


def test_dial_caller_id_must_be_the_call_s_own_or_the_account_s(owned, app_server):
    def inbound(form: dict[str, str]) -> str:
        return twiml.inbound_route(
            notice="",
            targets=["+8613900139000"],
            action_url=app_server.url("voice/dial-action"),
            status_callback=app_server.url("voice/leg"),
            caller_id=form["callerId"],
        )

    app_server.answers["voice/dial-action"] = twiml.hangup()
    for caller_id, bridged in (("+8613911112222", False), (HOTLINE, True), (CUSTOMER, True)):
        app_server.answers["voice/inbound"] = lambda form, c=caller_id: inbound({"callerId": c})
        sid = owned.originate_inbound(CUSTOMER, HOTLINE)
        owned.wait_idle(10)
        action = app_server.received("voice/dial-action", CallSid=sid)[0]
        assert (action["DialCallStatus"] == "completed") is bridged
    assert [a["code"] for a in owned.alerts()] == [13214]


def test_an_unregistered_client_does_not_answer(sim, bridge_app, place_call):
    sim.register_client("bob")  # the registry is on: only bob has a device
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    assert bridge_app.statuses(sid) == ["no-answer"]
    assert bridge_app.received("bridge") == []
    sim.register_client("alice")
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    assert bridge_app.statuses(sid)[-1] == "completed" and len(bridge_app.received("bridge")) == 1
    sim.register_client("alice", registered=False)
    assert sim.call(place_call(AGENT, CUSTOMER))  # accepted by the REST API all the same
    sim.wait_idle(10)
    assert len(bridge_app.received("bridge")) == 1


def test_calls_beyond_the_pace_wait_queued(sim, telephony, bridge_app, place_call):
    sim.set_calls_per_second(0.05)  # one call every 20 simulated seconds
    sids = [place_call(AGENT, CUSTOMER) for _ in range(3)]
    assert sim.call(sids[2])["status"] == "queued"
    sim.wait_idle(10)
    starts = [sim.call(sid)["history"][0]["sim_time"] for sid in sids]
    assert starts[1] - starts[0] == pytest.approx(20) and starts[2] - starts[1] == pytest.approx(20)
    assert [sim.call(sid)["history"][0]["status"] for sid in sids] == ["initiated"] * 3
    # Milliseconds spent queued: from the request to its slot (about 40 s, less the simulated
    # time that placing the three calls took, which a busy machine makes longer).
    queued = starts[2] - sim.call(sids[2])["created_sim_time"]
    assert queued > 0
    fetched = telephony.client.calls(sids[2]).fetch()
    assert int(fetched.queue_time) == pytest.approx(1000 * queued, abs=1)


def test_a_call_canceled_while_queued_never_rings(app_server):
    simulator = Simulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=SPEED, calls_per_second=0.01
    )
    base = simulator.start()
    try:
        url = f"{base}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        auth = (ACCOUNT_SID, AUTH_TOKEN)
        data = {"To": AGENT, "From": HOTLINE, "Url": app_server.url("x")}
        first = requests.post(url, data=data, auth=auth, timeout=5).json()["sid"]
        second = requests.post(url, data=data, auth=auth, timeout=5).json()
        assert second["status"] == "queued" and second["start_time"] is None
        requests.post(
            url.replace(".json", f"/{second['sid']}.json"),
            data={"Status": "canceled"},
            auth=auth,
            timeout=5,
        )
        simulator.end_call(first)
        simulator.wait_idle(10)
        history = [h["status"] for h in simulator.call(second["sid"])["history"]]
        assert history == ["canceled"]
    finally:
        simulator.stop()


def test_account_settings_through_sim(sim, app_server: FakeApp):
    base = sim.base_url

    def post(path: str, body: dict) -> requests.Response:
        return requests.post(f"{base}/sim/{path}", json=body, timeout=5)

    state = post(
        "numbers",
        {"number": HOTLINE, "voice_url": app_server.url("v"), "voice_fallback_url": "http://f/"},
    ).json()
    assert state["numbers"][0]["voice_fallback_url"] == "http://f/"
    assert post("caller-ids", {"number": "+8613911112222"}).json()["verified_caller_ids"] == [
        "+8613911112222"
    ]
    assert post("clients", {"identity": "alice"}).json()["clients"] == ["alice"]
    assert post("clients", {"identity": "alice", "registered": False}).json()["clients"] == []
    assert post("clients", {"all": True}).json()["clients"] is None
    geo = post("geo", {"allowed": ["+1", "+852"], "blocked": ["+86"]}).json()
    assert geo["geo_allowed"] == ["+1", "+852"] and geo["geo_blocked"] == ["+86"]
    assert post("pacing", {"calls_per_second": 5}).json()["calls_per_second"] == 5
    assert post("faults", {"respond_late": 1.5, "count": 2}).json()["count"] == 2
    assert requests.get(f"{base}/sim/account", timeout=5).json()["numbers"][0]["number"] == HOTLINE
    for path, body, field in (
        ("numbers", {"number": "4008123123"}, "number"),
        ("numbers", {}, "number"),
        ("clients", {"identity": "no spaces"}, "identity"),
        ("geo", {"allowed": "+1"}, "allowed"),
        ("geo", {"blocked": ["86"]}, "prefixes"),
        ("pacing", {"calls_per_second": 0}, "calls_per_second"),
        ("faults", {"respond_late": "soon"}, "respond_late"),
        ("faults", {"respond_late": 1, "count": 0}, "count"),
    ):
        bad = post(path, body)
        assert bad.status_code == 400, (path, body)
        assert field in bad.json()["message"]
