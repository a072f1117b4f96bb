"""Live parts of the web UI: the event stream, recordings through the proxy, the script data."""

from __future__ import annotations

import datetime as dt
import json

import redis as redis_lib
from web_support import PASSWORD, login, read_events

from dcc import clock, live
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.callscripts import context
from dcc.leads import intake, lifecycle
from dcc.leads.models import Channel
from dcc.users import service as users
from dcc.users.models import AgentStatus
from dcc.web.stream import format_event, sse_events

AGENT_PHONE = "+8613900000001"
CUSTOMER = "+8613800138000"


def test_stream_relays_the_users_events_after_saying_ready(client, staff, redis_url) -> None:
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    other = staff.user("other", "dcc_agent")
    login(client, "agent")
    response = client.get("/stream", buffered=False)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    chunks = response.response
    assert read_events(chunks, 1)[0][0] == "ready"
    publisher = redis_lib.Redis.from_url(redis_url)
    publisher.publish(live.user_channel(other.id), json.dumps({"event": "call", "data": {}}))
    publisher.publish(
        live.user_channel(agent.id),
        json.dumps({"event": "screen_pop", "data": {"call_id": 7, "lead_id": None}}),
    )
    assert read_events(chunks, 1) == [("screen_pop", {"call_id": 7, "lead_id": None})]
    response.close()


def test_stream_keeps_alive_and_unsubscribes_when_closed(redis_url) -> None:
    conn = redis_lib.Redis.from_url(redis_url)
    events = sse_events(conn, ["dcc:user:424242"], keepalive=0.0)
    assert next(events).endswith(format_event("ready", {"channels": 1}))
    assert next(events) == ": keep-alive\n\n"
    assert conn.pubsub_numsub("dcc:user:424242")[0][1] == 1
    events.close()
    assert conn.pubsub_numsub("dcc:user:424242")[0][1] == 0


def test_stream_needs_a_login(client) -> None:
    assert client.get("/stream").status_code == 302


def test_offered_visit_times_skip_the_consultants_booked_half_days(session, staff) -> None:
    consultant = staff.user("consultant", "consultant", name="刘强")
    agent = staff.user("agent", "dcc_agent")
    friday_morning = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)  # 07:30 in Shanghai
    with clock.frozen(friday_morning):
        lead = intake.receive(
            session, intake.LeadInput(phone=CUSTOMER, channel=Channel.WEB, name="王先生")
        ).lead
        first = context.free_slots(session, consultant, timezone="Asia/Shanghai")
        assert [s.label for s in first] == ["11月27日(周五)上午10:00", "11月27日(周五)下午3:00"]
        lifecycle.book_appointment(
            session, lead, at=first[0].at, consultant=consultant, actor=agent
        )
        later = context.free_slots(session, consultant, timezone="Asia/Shanghai")
        assert [s.label for s in later] == ["11月27日(周五)下午3:00", "11月28日(周六)上午10:00"]


def test_model_of_interest_says_each_name_once(session) -> None:
    lead = intake.receive(
        session,
        intake.LeadInput(phone=CUSTOMER, channel=Channel.WEB, series="凯美瑞", model="凯美瑞 2.0G"),
    ).lead
    assert context.model_of_interest(lead) == "凯美瑞 2.0G"
    lead.model = "双擎"
    assert context.model_of_interest(lead) == "凯美瑞 双擎"


def test_recording_is_served_through_the_access_controlled_proxy(live) -> None:
    with live.session() as session:
        agent = users.create_user(
            session, login="agent", role="dcc_agent", phone=AGENT_PHONE, password=PASSWORD
        )
        agent.agent_status = AgentStatus.AVAILABLE
        users.create_user(session, login="other", role="dcc_agent", password=PASSWORD)
        lead = intake.receive(
            session, intake.LeadInput(phone=CUSTOMER, channel=Channel.PORTAL, owner_id=agent.id)
        ).lead
        lead_id = lead.id
        stray = Call(
            direction=CallDirection.OUTBOUND,
            status=CallStatus.COMPLETED,
            lead_id=lead_id,
            recording_url="https://evil.example/steal",
        )
        session.add(stray)
        session.commit()
        stray_id = stray.id
    live.sim.set_behaviour(AGENT_PHONE, press="1")  # the agent takes the screened call
    live.sim.set_behaviour(CUSTOMER, answer_after=2, hangup_after=20)
    client = live.app.test_client()
    login(client, "agent")
    from web_support import post

    placed = post(client, f"/leads/{lead_id}/call")
    assert placed.status_code == 302, placed.get_data(as_text=True)
    live.sim.wait_idle(timeout=30)
    with live.session() as session:
        call = session.query(Call).filter(Call.recording_url.like("http://127.0.0.1%")).one()
        call_id = call.id
    audio = client.get(f"/calls/{call_id}/recording")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.data[:4] == b"RIFF"
    page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert f"/calls/{call_id}/recording" in page
    # The credentials never go to a host other than the provider's.
    assert client.get(f"/calls/{stray_id}/recording").status_code == 404
    other = live.app.test_client()
    login(other, "other")
    assert other.get(f"/calls/{call_id}/recording").status_code == 404
