"""Chaos on request: duplicated and reordered status callbacks, as Twilio may deliver them."""

from __future__ import annotations

from collections import Counter

AGENT = "client:alice"
CUSTOMER = "+8613800138000"
FULL = ["ringing", "in-progress", "completed"]


def test_duplicate_events_send_every_status_callback_twice(sim, bridge_app, place_call):
    sim.set_chaos(duplicate_events=True)
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    assert bridge_app.statuses(sid) == [s for s in FULL for _ in range(2)]
    events = bridge_app.received("status", CallSid=sid)
    assert events[0] == events[1]  # a true duplicate: same SequenceNumber and Timestamp
    copies = sim.webhooks(kind="status", call_sid=sid)
    assert [w["duplicate"] for w in copies] == [False, True] * 3
    # Only status callbacks are duplicated; the TwiML and action requests are not.
    assert len(bridge_app.received("bridge")) == len(bridge_app.received("dial-action")) == 1


def test_duplicates_for_one_party_only(sim, bridge_app, place_call):
    sim.set_behaviour(CUSTOMER, duplicate_events=1.0)
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    customer = sim.calls()[1]["sid"]
    assert bridge_app.statuses(sid) == FULL
    assert Counter(bridge_app.statuses(customer)) == Counter({s: 2 for s in FULL})


def test_reorder_events_delivers_them_all_at_the_end_shuffled(sim, bridge_app, place_call):
    sim.set_chaos(reorder_events=True)
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    customer = sim.calls()[1]["sid"]
    for leg in (sid, customer):
        events = bridge_app.received("status", CallSid=leg)
        assert sorted(e["SequenceNumber"] for e in events) == ["0", "1", "2"]
        assert sorted(bridge_app.statuses(leg)) == sorted(FULL)
    paths = [h.path for h in bridge_app.all_hits()]
    # Nothing is delivered while a leg lives: the agent's events all come after the bridge
    # TwiML request, the customer's after it too (they arrive when the customer hangs up).
    assert paths[0] == "bridge" and paths.count("status") == 2 * len(FULL)
    orders = [bridge_app.statuses(leg) for leg in (sid, customer)]
    assert any(order != FULL for order in orders)  # seeded: at least one leg is shuffled


def test_chaos_is_off_by_default(sim, bridge_app, place_call):
    sid = place_call(AGENT, CUSTOMER)
    sim.wait_idle(10)
    assert bridge_app.statuses(sid) == FULL
    assert not any(w["duplicate"] for w in sim.webhooks())
