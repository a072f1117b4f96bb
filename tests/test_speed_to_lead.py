"""Speed-to-lead end to end: a portal lead for an auto-dial source rings its agent at once."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

from rq import Queue, SimpleWorker
from support import RecordingTelephony, run_due
from web_support import PORTAL_SECRET, auto_dial_portal

from dcc.broker import get_redis
from dcc.calls import routing
from dcc.leads import sources
from dcc.queues import QUEUE_NAMES
from dcc.users import service as users
from dcc.users.models import AgentStatus

AGENT_PHONE = "+8613900000001"
SECRET = PORTAL_SECRET


def test_auto_dial_source_rings_the_agent_leg_for_a_new_lead(live) -> None:
    with live.session() as session:
        agent = users.create_user(session, login="agent", role="dcc_agent", phone=AGENT_PHONE)
        agent.agent_status = AgentStatus.AVAILABLE
        auto_dial_portal(session)
        session.commit()
    live.sim.set_behaviour(AGENT_PHONE, press="1")  # the agent takes the screened call
    body = json.dumps({"phone": "138 0013 8000", "name": "王先生", "series": "凯美瑞"}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = live.app.test_client().post(
        "/webhooks/leads/autohome",
        data=body,
        content_type="application/json",
        headers={"X-DCC-Signature": f"sha256={signature}"},
    )
    assert answer.status_code == 201, answer.get_json()

    conn = get_redis()
    SimpleWorker([Queue(n, connection=conn) for n in QUEUE_NAMES], connection=conn).work(burst=True)
    live.sim.wait_idle(timeout=30)
    legs = sorted(live.sim.calls(), key=lambda leg: leg["requested_at"])
    assert [leg["to"] for leg in legs][:2] == [AGENT_PHONE, "+8613800138000"]
    assert legs[0]["direction"] == "outbound-api"


def _deliver(client, body: dict[str, str]) -> None:
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = client.post(
        "/webhooks/leads/autohome",
        data=raw,
        content_type="application/json",
        headers={"X-DCC-Signature": f"sha256={signature}"},
    )
    assert answer.status_code == 201, answer.get_json()


def test_in_softphone_mode_an_agent_without_a_phone_is_auto_dialled(
    app, client, session, staff
) -> None:
    settings = app.extensions["dcc.settings"]
    app.extensions["dcc.settings"] = dataclasses.replace(
        settings, twilio_api_key_sid="SK" + "0" * 32
    )
    phone = app.extensions["dcc.telephony"] = RecordingTelephony()
    agent = staff.user("agent", "dcc_agent")  # no phone number: the browser rings
    agent.agent_status = AgentStatus.AVAILABLE
    sources.create(
        session, slug="autohome", name="汽车之家", channel="portal", secret=SECRET, auto_dial=True
    )
    session.commit()
    _deliver(client, {"phone": "138 0013 8000", "name": "王先生"})

    run_due(session)
    assert [c["agent"] for c in phone.calls] == ["client:" + routing.client_identity(agent)]
    assert phone.calls[0]["customer"] == "+8613800138000"
