"""Virtual time: the same engine and play-out, a clock that jumps, everything in-process."""

from __future__ import annotations

from datetime import timedelta

import pytest

from telephony import twiml
from tests.telephony.conftest import HOTLINE, VIRTUAL_START, VirtualRig, make_virtual_rig

CALLER = "+8613800138000"
AGENT = "+8613900139000"
CUSTOMER = "+8613700137000"


def route(rig: VirtualRig, targets: list[str]) -> None:
    app = rig.app
    app.answers["voice/inbound"] = lambda form: twiml.inbound_route(
        notice="本通话将被录音",
        targets=targets,
        action_url=app.url("voice/dial-action"),
        status_callback=app.url("voice/leg-status"),
        caller_id=None,
        recording_callback=app.url("voice/recording"),
    )
    app.answers["voice/dial-action"] = twiml.hangup()


def test_nothing_happens_until_the_clock_is_advanced(virtual: VirtualRig) -> None:
    route(virtual, [AGENT])
    virtual.sim.set_behaviour(AGENT, answer_after=10)
    sid = virtual.sim.originate_inbound(CALLER, HOTLINE)
    assert virtual.app.all_hits() == []

    virtual.sim.run_until(5)
    # Due by 5 s: the incoming request, the notice (1 s), the agent's leg ringing.
    assert [h.path for h in virtual.app.all_hits()] == ["voice/inbound", "voice/leg-status"]
    assert virtual.sim.now() == VIRTUAL_START + timedelta(seconds=5)
    caller, agent = virtual.sim.calls()
    assert caller["sid"] == sid and agent["to"] == AGENT and agent["status"] == "ringing"
    assert virtual.app.received("voice/dial-action") == []

    virtual.sim.run_until(100)  # answer at 11 s, talk 5 s
    (action,) = virtual.app.received("voice/dial-action")
    assert action["DialCallStatus"] == "completed" and action["DialCallDuration"] == "5"
    assert virtual.sim.call(sid)["status"] == "completed"
    assert virtual.sim.call(sid)["ended_sim_time"] == 16
    assert all(hit.valid for hit in virtual.app.all_hits())


def test_webhooks_carry_simulated_dates_and_the_driver_sees_them_first(
    virtual: VirtualRig,
) -> None:
    route(virtual, [AGENT])
    virtual.sim.run_until(3600)  # an hour of nothing
    virtual.sim.originate_inbound(CALLER, HOTLINE)
    virtual.sim.wait_idle()
    start = VIRTUAL_START + timedelta(hours=1)
    assert virtual.delivered_at[0] == start  # the incoming call, before the app answers
    assert virtual.delivered_at == sorted(virtual.delivered_at)
    (final,) = virtual.app.received("voice/status")
    assert final["Timestamp"] == "Tue, 01 Dec 2026 02:00:07 +0000"  # notice 1, ring 1, talk 5
    assert virtual.delivered_at[-1] == start + timedelta(seconds=7)


def test_rest_requests_reach_the_engine_in_process(virtual: VirtualRig) -> None:
    app = virtual.app
    app.answers["bridge"] = twiml.bridge(
        customer=CUSTOMER,
        caller_id=HOTLINE,
        action_url=app.url("dial-action"),
        status_callback=app.url("status"),
    )
    sids = [
        virtual.telephony.place_bridged_call(
            agent=AGENT,
            customer=CUSTOMER,
            caller_id=HOTLINE,
            bridge_url=app.url("bridge"),
            status_callback=app.url("status"),
        )
        for _ in range(3)
    ]
    assert [virtual.sim.call(sid)["status"] for sid in sids] == ["queued"] * 3
    virtual.sim.wait_idle()
    # One call per second (the account's pace): each agent leg starts a second later.
    starts = [virtual.sim.call(sid)["history"][0]["sim_time"] for sid in sids]
    assert starts == [0, 1, 2]
    assert all(virtual.sim.call(sid)["status"] == "completed" for sid in sids)
    assert len(app.received("dial-action")) == 3


def scenario(rig: VirtualRig, calls: int) -> list[tuple]:
    """Callers every 90 s, two agents with scripted talk times; the order of every webhook."""
    route(rig, [AGENT, "client:alice"])
    rig.sim.set_behaviour(AGENT, answer_after=3, hangup_after=200)
    rig.sim.set_behaviour("client:alice", answer_after=2, hangup_after=130)
    for i in range(calls):
        rig.sim.run_until(i * 90)
        rig.sim.originate_inbound(f"+86138{i:08d}", HOTLINE)
    rig.sim.wait_idle()
    return [
        (h.path, h.params.get("CallSid"), h.params.get("CallStatus"), h.params.get("Timestamp"))
        for h in rig.app.all_hits()
    ]


def test_the_same_seed_gives_the_same_events_in_the_same_order() -> None:
    first, second = make_virtual_rig(), make_virtual_rig()
    try:
        one, two = scenario(first, 20), scenario(second, 20)
    finally:
        first.sim.stop()
        second.sim.stop()
    assert len(one) > 150
    assert one == two  # sids included: they come from the seed too


def test_hours_of_calls_play_out_without_waiting_for_them() -> None:
    rig = make_virtual_rig()
    try:
        hits = scenario(rig, 4 * 40)  # a call every 90 s for four hours
        inbound = [c for c in rig.sim.calls() if c["direction"] == "inbound"]
        assert len(inbound) == 160 and all(c["status"] == "completed" for c in inbound)
        assert rig.sim.clock.now() >= 4 * 3600 - 90
        # Every caller was bridged to the quicker agent for the scripted 130 s.
        actions = rig.app.received("voice/dial-action")
        assert len(actions) == 160
        assert {(a["DialCallStatus"], a["DialCallDuration"]) for a in actions} == {
            ("completed", "130")
        }
        assert {rig.sim.call(a["DialCallSid"])["to"] for a in actions} == {"client:alice"}
        assert len(hits) > 1000
    finally:
        rig.sim.stop()


def test_wait_idle_refuses_to_run_forever(virtual: VirtualRig) -> None:
    virtual.app.answers["voice/inbound"] = twiml.enqueue_caller(
        notice="", queue="q", wait_url=None, action_url=virtual.app.url("left")
    )
    virtual.sim.set_behaviour(CALLER, abandon_after=float("inf"))
    virtual.sim.originate_inbound(CALLER, HOTLINE)
    with pytest.raises(TimeoutError):
        virtual.sim.run_until_idle(limit=3600)
    virtual.sim.end_call(virtual.sim.calls()[0]["sid"])
    virtual.sim.wait_idle()
    assert virtual.sim.calls()[0]["status"] == "completed"
