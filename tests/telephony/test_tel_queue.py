"""The hotline queue as the app will serve it: wait music in a loop with the caller's place,
press 1 for a callback, ``<Leave>``, a REST update of a waiting caller, agents taking the
longest waiter with ``<Dial><Queue>``, and the Queue resources. Virtual time throughout."""

from __future__ import annotations

from telephony import twiml
from tests.telephony.conftest import HOTLINE, VirtualRig

AGENT = "client:alice"
FIRST, SECOND, THIRD = "+8613800000001", "+8613800000002", "+8613800000003"


def park_callers(rig: VirtualRig, *, callback_after: float = 1e9) -> None:
    """Every caller is queued; the wait URL says their place and, after a while, offers 1."""
    app = rig.app
    app.answers["voice/inbound"] = twiml.enqueue_caller(
        notice="请稍候",
        queue="hotline",
        wait_url=app.url("voice/wait"),
        action_url=app.url("voice/left"),
    )
    app.answers["voice/wait"] = lambda form: twiml.queue_wait(
        position=int(form["QueuePosition"]),
        expected_wait=float(form["AvgQueueTime"]) * int(form["QueuePosition"]),
        waited=float(form["QueueTime"]),
        callback_after=callback_after,
        callback_url=app.url("voice/callback"),
    )
    app.answers["voice/callback"] = lambda form: twiml.leave_queue("好的，我们会尽快回电。")
    app.answers["voice/left"] = twiml.hangup()
    app.answers["agent/take"] = twiml.dequeue(queue="hotline", action_url=app.url("agent/done"))
    app.answers["agent/done"] = twiml.hangup()


def agent_takes_next(rig: VirtualRig) -> str:
    return rig.telephony.place_bridged_call(
        agent=AGENT,
        customer="queue",
        caller_id=HOTLINE,
        bridge_url=rig.app.url("agent/take"),
        status_callback=rig.app.url("agent/status"),
    )


def test_agents_take_callers_in_arrival_order_with_their_place_announced(virtual):
    park_callers(virtual)
    sim = virtual.sim
    sim.set_default_behaviour(abandon_after=900)
    sim.set_behaviour(AGENT, hangup_after=60)
    callers = []
    for i, number in enumerate((FIRST, SECOND, THIRD)):
        sim.run_until(i * 5)
        callers.append(sim.originate_inbound(number, HOTLINE))
    sim.run_until(30)
    waits = virtual.app.received("voice/wait")
    assert [(w["From"], w["QueuePosition"]) for w in waits[:3]] == [
        (FIRST, "1"),
        (SECOND, "2"),
        (THIRD, "3"),
    ]
    assert waits[2]["CurrentQueueSize"] == "3" and waits[0]["AvgQueueTime"] == "0"
    # The wait URL is requested again each time its document runs out (1 s + 10 s pause).
    assert len(virtual.app.received("voice/wait", CallSid=callers[0])) == 3

    (queue,) = virtual.telephony.client.queues.list()
    assert queue.friendly_name == "hotline" and queue.current_size == 3
    members = virtual.telephony.client.queues(queue.sid).members.list()
    assert [m.call_sid for m in members] == callers and [m.position for m in members] == [1, 2, 3]

    taken = []
    for _ in callers:
        agent = agent_takes_next(virtual)
        sim.run_until(sim.clock.now() + 120)
        (done,) = virtual.app.received("agent/done", CallSid=agent)
        taken.append(done["DialCallSid"])
        assert done["DialCallStatus"] == "completed" and done["DialCallDuration"] == "60"
    assert taken == callers
    lefts = [virtual.app.received("voice/left", CallSid=c)[0] for c in callers]
    assert [left["QueueResult"] for left in lefts] == ["bridged"] * 3
    assert [int(left["QueueTime"]) for left in lefts] == sorted(int(x["QueueTime"]) for x in lefts)
    # Later announcements carry the average wait of the callers already taken.
    assert any(w["AvgQueueTime"] != "0" for w in virtual.app.received("voice/wait"))
    assert virtual.telephony.client.queues(queue.sid).fetch().current_size == 0


def test_pressing_1_after_the_offer_leaves_the_queue_for_a_callback(virtual):
    park_callers(virtual, callback_after=20)
    sim = virtual.sim
    sim.set_behaviour(FIRST, press="1", press_after=2, abandon_after=900)
    sid = sim.originate_inbound(FIRST, HOTLINE)
    sim.wait_idle()
    (callback,) = virtual.app.received("voice/callback")
    assert callback["Digits"] == "1" and callback["CallSid"] == sid
    assert int(callback["QueueTime"]) >= 20  # the offer came only after the dealer-set wait
    (left,) = virtual.app.received("voice/left")
    assert left["QueueResult"] == "leave"
    assert sim.call(sid)["status"] == "completed" and sim.queues()[0]["members"] == []


def test_a_caller_who_presses_nothing_keeps_waiting(virtual):
    park_callers(virtual, callback_after=0)
    virtual.sim.set_behaviour(FIRST, abandon_after=100)
    virtual.sim.originate_inbound(FIRST, HOTLINE)
    virtual.sim.wait_idle()
    assert virtual.app.received("voice/callback") == []
    assert virtual.app.received("voice/left")[0]["QueueResult"] == "hangup"


def test_a_rest_update_takes_a_waiting_caller_out_of_the_queue(virtual):
    park_callers(virtual)
    sim = virtual.sim
    sim.set_behaviour(FIRST, abandon_after=900)
    sid = sim.originate_inbound(FIRST, HOTLINE)
    sim.run_until(30)
    virtual.telephony.update_call(sid, twiml=twiml.say("正在为您转接"))
    sim.wait_idle()
    assert sim.call(sid)["status"] == "completed"
    assert sim.call(sid)["ended_sim_time"] == 31  # the 1 s message, then the document ended
    assert virtual.app.received("voice/left") == []  # redirected: no Enqueue action
    assert sim.queues()[0]["members"] == []

    second = sim.originate_inbound(SECOND, HOTLINE)
    sim.run_until(sim.clock.now() + 30)
    virtual.app.answers["moved"] = twiml.hangup()
    virtual.telephony.update_call(second, url=virtual.app.url("moved"))
    sim.wait_idle()
    assert virtual.app.received("moved")[0]["CallSid"] == second
