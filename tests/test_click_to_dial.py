"""Click-to-dial end to end through the simulator, and the refusals that come before it."""

import datetime as dt

from sqlalchemy import select

from dcc import clock
from dcc.customers.models import Customer
from dcc.leads import intake
from dcc.leads.models import Channel, Lead
from dcc.users import service as users
from dcc.users.models import AgentStatus

AGENT_PHONE = "+8613900000001"
CUSTOMER = "+8613800138000"


def test_bridged_call_rings_agent_first_and_lands_in_history(live) -> None:
    with live.session() as session:
        agent = users.create_user(session, login="agent", role="dcc_agent", phone=AGENT_PHONE)
        agent.agent_status = AgentStatus.AVAILABLE
        lead = intake.receive(
            session, intake.LeadInput(phone="138 0013 8000", channel=Channel.PORTAL)
        ).lead
        token = users.create_token(session, agent)
        session.commit()
        lead_id = lead.id
    live.sim.set_behaviour(AGENT_PHONE, press="1")  # the agent takes the screened call
    live.sim.set_behaviour(CUSTOMER, answer_after=3, hangup_after=42)
    client = live.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    placed = client.post("/api/v1/calls", json={"lead_id": lead_id}, headers=auth)
    assert placed.status_code == 201, placed.get_json()
    live.sim.wait_idle(timeout=30)

    legs = sorted(live.sim.calls(), key=lambda leg: leg["requested_at"])
    assert [leg["to"] for leg in legs] == [AGENT_PHONE, CUSTOMER]
    assert legs[1]["parent_call_sid"] == legs[0]["sid"] == placed.get_json()["sid"]
    assert all(w["status"] < 300 for w in live.sim.webhooks())

    history = client.get(f"/api/v1/calls?lead_id={lead_id}", headers=auth).get_json()
    assert len(history) == 1
    call = history[0]
    assert call["direction"] == "outbound" and call["agent_id"] is not None
    assert call["status"] == "completed"
    # The agent leg lasts the conversation, and the screen and the customer's recording notice
    # before it (how long those take depends on the machine: not asserted).
    assert call["duration"] >= 42
    assert call["recording_url"]
    detail = client.get(f"/api/v1/leads/{lead_id}", headers=auth).get_json()
    assert detail["calls"] == history
    assert detail["attempt_count"] == 1 and detail["first_response_at"] is not None
    assert detail["status"] == "contacting"


def test_inbound_call_through_the_simulator_creates_one_lead(live) -> None:
    with live.session() as session:
        agent = users.create_user(session, login="agent", role="dcc_agent", phone=AGENT_PHONE)
        agent.agent_status = AgentStatus.AVAILABLE
        session.commit()
    live.sim.set_behaviour(AGENT_PHONE, answer_after=2, press="1", hangup_after=30)
    live.sim.originate_inbound("13800138000", "+864008123123")
    live.sim.wait_idle(timeout=30)
    live.sim.originate_inbound("+86 138-0013-8000", "+864008123123")
    live.sim.wait_idle(timeout=30)
    with live.session() as session:
        assert len(session.scalars(select(Customer)).all()) == 1
        lead = session.scalars(select(Lead)).one()
        assert lead.channel == Channel.HOTLINE
        assert lead.owner_id == agent.id
        assert lead.first_response_at is not None


def test_do_not_call_and_out_of_hours_are_refused_with_409(client, session, staff) -> None:
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    auth = staff.token(agent)
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.PORTAL)
    ).lead
    session.commit()
    at_night = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai
    with clock.frozen(at_night):
        late = client.post("/api/v1/calls", json={"lead_id": lead.id}, headers=auth)
    assert late.status_code == 409
    assert "calling hours" in late.get_json()["error"]["message"]

    session.get(Customer, lead.customer_id).do_not_call = True
    session.commit()
    at_noon = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)
    with clock.frozen(at_noon):
        refused = client.post("/api/v1/calls", json={"lead_id": lead.id}, headers=auth)
    assert refused.status_code == 409
    assert "do-not-call" in refused.get_json()["error"]["message"]
    session.refresh(lead)
    assert lead.attempt_count == 0


def test_another_agents_lead_cannot_be_dialled(client, session, staff) -> None:
    owner = staff.user("owner", "dcc_agent", phone="13900000001")
    other = staff.user("other", "dcc_agent", phone="13900000002")
    lead = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=owner.id),
    ).lead
    session.commit()
    answer = client.post("/api/v1/calls", json={"lead_id": lead.id}, headers=staff.token(other))
    assert answer.status_code == 404
