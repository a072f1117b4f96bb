"""The wallboard's figures from a hand-built day, and its one-publisher-for-all-tabs design."""

from __future__ import annotations

import datetime as dt
import json
import time

from sqlalchemy.orm import Session

from dcc import clock, wallboard
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.leads import intake, lifecycle
from dcc.leads.models import Channel
from dcc.users.models import AgentStatus

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai
TZ = "Asia/Shanghai"


def at(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def test_snapshot_figures(session: Session, staff) -> None:
    zhang = staff.user("zhang", "dcc_agent", name="张")
    chen = staff.user("chen", "dcc_agent", name="陈")
    zhang.agent_status, chen.agent_status = AgentStatus.ON_CALL, AgentStatus.AVAILABLE
    leads = []
    for n, (created, first_response) in enumerate(
        [(at(120), at(119.5)), (at(100), at(97)), (at(90), at(80)), (at(60), None), (at(2), None)]
    ):
        with clock.frozen(created):
            lead = intake.receive(
                session,
                intake.LeadInput(phone=f"1380013800{n}", channel=Channel.PORTAL, owner_id=zhang.id),
            ).lead
        lead.first_response_at = first_response
        leads.append(lead)
    with clock.frozen(at(100)):
        yesterday_lead = intake.receive(
            session, intake.LeadInput(phone="13900000009", channel=Channel.PORTAL, owner_id=chen.id)
        ).lead
    yesterday_lead.created_at = NOW - dt.timedelta(days=1)

    def call(sid, **kw):
        session.add(Call(sid=sid, created_at=at(30), **kw))

    # zhang: two dialled calls, one answered by the customer (90 s), and one live now
    call(
        "CA01",
        direction=CallDirection.OUTBOUND,
        leg="agent",
        agent_id=zhang.id,
        status=CallStatus.COMPLETED,
    )
    call(
        "CA02",
        parent_sid="CA01",
        direction=CallDirection.OUTBOUND,
        leg="customer",
        agent_id=zhang.id,
        status=CallStatus.COMPLETED,
        answered_at=at(29),
        duration=90,
    )
    call(
        "CA03",
        direction=CallDirection.OUTBOUND,
        leg="agent",
        agent_id=zhang.id,
        status=CallStatus.IN_PROGRESS,
    )
    # chen answered a hotline call (60 s); another caller waits in the queue for 45 s
    call(
        "CA04",
        direction=CallDirection.INBOUND,
        leg="customer",
        agent_id=chen.id,
        status=CallStatus.COMPLETED,
    )
    call(
        "CA05",
        parent_sid="CA04",
        direction=CallDirection.INBOUND,
        leg="agent",
        agent_id=chen.id,
        status=CallStatus.COMPLETED,
        answered_at=at(28),
        duration=60,
    )
    call(
        "CA06",
        direction=CallDirection.INBOUND,
        leg="customer",
        status=CallStatus.IN_PROGRESS,
        started_at=NOW - dt.timedelta(seconds=50),
        queued_at=NOW - dt.timedelta(seconds=45),
    )
    with clock.frozen(at(20)):
        booked = lifecycle.book_appointment(
            session, leads[0], at=NOW + dt.timedelta(hours=1), consultant=None, actor=zhang
        )
    with clock.frozen(at(5)):
        lifecycle.register_arrival(session, leads[0], clerk=None, appointment=booked)
    session.flush()

    board = wallboard.snapshot(session, timezone=TZ, now=NOW)
    by_login = {a["name"]: a for a in board["agents"]}
    assert {
        k: by_login["张"][k]
        for k in ("status", "calls", "connects", "talk_seconds", "appointments", "arrivals")
    } == {
        "status": "on_call",
        "calls": 2,
        "connects": 1,
        "talk_seconds": 90,
        "appointments": 1,
        "arrivals": 1,
    }
    assert by_login["张"]["call_id"] is not None
    assert {k: by_login["陈"][k] for k in ("calls", "connects", "talk_seconds")} == {
        "calls": 1,
        "connects": 1,
        "talk_seconds": 60,
    }
    assert board["calls_in_progress"] == 2  # zhang's live call and the waiting caller
    assert board["queue"] == {"length": 1, "longest_wait_seconds": 45}
    assert board["leads_today"] == 5
    assert board["speed_to_lead"] == {"<1m": 1, "1-5m": 1, "5-30m": 1, ">30m": 0, "waiting": 2}
    assert board["sla_breaches"] == 2  # one answered after 10 min, one waiting for an hour


def test_one_publisher_serves_every_viewer(app, redis) -> None:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(wallboard.SNAPSHOTS)
    wallboard.watching(redis)
    first, second = wallboard.Publisher(app), wallboard.Publisher(app)
    first.ensure_running()
    second.ensure_running()
    deadline = time.monotonic() + 10
    received = []
    while time.monotonic() < deadline and len(received) < 3:
        message = pubsub.get_message(timeout=1)
        if message:
            received.append(json.loads(message["data"]))
    pubsub.close()
    first.stop()
    second.stop()
    assert len(received) == 3
    assert all(r["event"] == "wallboard" and "agents" in r["data"] for r in received)
    assert redis.get(wallboard.LEADER) in {first.token, second.token}
    assert json.loads(redis.get(wallboard.LAST))["data"]["generated_at"]
