"""Twilio voice webhooks: signatures, the 400 hotline, call records, missed-call callbacks."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN
from twilio.request_validator import RequestValidator

from dcc import clock
from dcc.calls import service as calls
from dcc.calls.models import Call, CallEvent
from dcc.config import get_settings
from dcc.customers.models import Customer
from dcc.leads import intake
from dcc.leads.models import Callback, CallbackStatus, Channel, Lead
from dcc.users.models import AgentStatus

OPEN = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
NIGHT = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
HOTLINE = "+864008123123"


def rows(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def incoming(sid: str, caller: str = "+8613800138000") -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": caller,
        "To": HOTLINE,
        "Caller": caller,
        "Called": HOTLINE,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "CN",
    }


@pytest.fixture()
def agent(staff):
    user = staff.user("agent", "dcc_agent", phone="13900000001")
    user.agent_status = AgentStatus.AVAILABLE
    staff.session.commit()
    return user


def test_signed_inbound_call_dials_and_creates_customer_and_lead(twilio, session, agent):
    with clock.frozen(OPEN):
        answer = twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "a" * 32))
    assert answer.status_code == 200
    root = ET.fromstring(answer.data)
    assert root.tag == "Response"
    say = root.find("Say")
    assert say is not None and say.get("language") == "cmn-CN"
    number = root.find("Dial/Number")
    assert number is not None and number.text == "+8613900000001"
    lead = session.scalars(select(Lead)).one()
    assert lead.channel == Channel.HOTLINE and lead.owner_id == agent.id
    assert rows(session, Customer) == 1


def test_second_call_in_another_format_attaches(twilio, session, agent):
    with clock.frozen(OPEN):
        twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "a" * 32))
        twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "b" * 32, "008613800138000"))
    assert rows(session, Customer) == 1
    assert rows(session, Lead) == 1
    lead = session.scalars(select(Lead)).one()
    assert len(lead.touches) == 2
    assert {c.lead_id for c in session.scalars(select(Call))} == {lead.id}


def test_a_first_call_that_loses_the_race_for_a_new_number_attaches(
    twilio, session, agent, monkeypatch
):
    """Two first calls from one new number: the other call's customer was committed between
    this call's lookup and its insert. It runs again, finds that customer and rings."""
    from dcc.leads import intake

    with clock.frozen(OPEN):
        twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "a" * 32))
        session.commit()
        real_lookup, lookups = intake._lookup, []

        def lookup_missing_once(conn, phone):
            lookups.append(phone)
            return None if len(lookups) == 1 else real_lookup(conn, phone)

        monkeypatch.setattr(intake, "_lookup", lookup_missing_once)
        answer = twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "b" * 32))
    assert answer.status_code == 200 and len(lookups) == 2
    assert ET.fromstring(answer.data).find("Dial/Number") is not None
    assert rows(session, Customer) == 1 and rows(session, Lead) == 1
    lead = session.scalars(select(Lead)).one()
    assert {c.lead_id for c in session.scalars(select(Call))} == {lead.id}


@pytest.mark.parametrize("signature", ["", "forged+signature="])
def test_forged_or_missing_signature_is_403_and_leaves_no_trace(twilio, session, signature):
    answer = twilio.post(
        "/webhooks/twilio/voice/inbound", incoming("CA" + "c" * 32), signature=signature
    )
    assert answer.status_code == 403
    for model in (Call, CallEvent, Customer, Lead):
        assert rows(session, model) == 0


def test_signature_over_other_params_is_refused(twilio, session):
    params = incoming("CA" + "d" * 32)
    good = twilio.validator.compute_signature(
        "https://dcc.example.test/webhooks/twilio/voice/inbound", params
    )
    params["From"] = "+8613700000000"  # tampered after signing
    answer = twilio.post("/webhooks/twilio/voice/inbound", params, signature=good)
    assert answer.status_code == 403
    assert rows(session, Call) == 0


def test_nobody_available_queues_the_caller(twilio, session):
    with clock.frozen(OPEN):
        answer = twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "e" * 32))
    root = ET.fromstring(answer.data)
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "hotline"


def test_after_hours_plays_message_and_owes_a_callback_at_opening(twilio, session, agent):
    with clock.frozen(NIGHT):
        answer = twilio.post("/webhooks/twilio/voice/inbound", incoming("CA" + "f" * 32))
    root = ET.fromstring(answer.data)
    assert root.find("Hangup") is not None and root.find("Dial") is None
    callback = session.scalars(select(Callback)).one()
    assert callback.reason == "after_hours"
    assert callback.due_at == dt.datetime(2026, 11, 28, 0, 30, tzinfo=dt.UTC)  # 08:30 local


def status(sid: str, state: str, seq: int, at: dt.datetime, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": "+8613800138000",
        "To": HOTLINE,
        "CallStatus": state,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(seq),
        "Timestamp": at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        **extra,
    }


def test_unanswered_inbound_call_is_missed_and_owes_a_callback(twilio, session, agent):
    sid = "CA" + "1" * 32
    with clock.frozen(OPEN):
        twilio.post("/webhooks/twilio/voice/inbound", incoming(sid))
        call_id = session.scalars(select(Call)).one().id
        twilio.post(
            f"/webhooks/twilio/voice/dial?call_id={call_id}",
            {**incoming(sid), "DialCallStatus": "no-answer", "CallStatus": "in-progress"},
        )
        twilio.post(
            "/webhooks/twilio/voice/status",
            status(sid, "completed", 3, OPEN + dt.timedelta(seconds=30), CallDuration="30"),
        )
    callback = session.scalars(select(Callback)).one()
    assert callback.reason == "missed_call" and callback.owner_id == agent.id
    assert callback.status == CallbackStatus.PENDING


def test_answered_inbound_call_names_the_agent_and_owes_nothing(twilio, session, agent):
    sid, child = "CA" + "2" * 32, "CA" + "3" * 32
    with clock.frozen(OPEN):
        twilio.post("/webhooks/twilio/voice/inbound", incoming(sid))
        parent_id = session.scalars(select(Call)).one().id
        path = f"/webhooks/twilio/voice/status?parent_call_id={parent_id}&leg=agent"
        leg = {"ParentCallSid": sid, "To": "+8613900000001", "Direction": "outbound-dial"}
        # The parent ends first; the agent leg's answer arrives late and still counts.
        twilio.post(
            "/webhooks/twilio/voice/status",
            status(sid, "completed", 2, OPEN + dt.timedelta(seconds=90), CallDuration="90"),
        )
        twilio.post(
            path, {**status(child, "in-progress", 1, OPEN + dt.timedelta(seconds=4)), **leg}
        )
        # The agent heard the whisper and pressed 1: only now is the caller theirs.
        key = f"/webhooks/twilio/voice/screen-key?parent_call_id={parent_id}"
        pressed = twilio.post(
            key,
            {
                **status(child, "in-progress", 2, OPEN + dt.timedelta(seconds=5)),
                **leg,
                "Digits": "1",
            },
        )
        assert pressed.status_code == 200
    session.expire_all()
    parent = session.get(Call, parent_id)
    assert parent.agent_id == agent.id
    callbacks = session.scalars(select(Callback)).all()
    assert all(c.status == CallbackStatus.CANCELED for c in callbacks)
    lead = session.scalars(select(Lead)).one()
    assert lead.first_response_at == OPEN + dt.timedelta(seconds=5)
    assert lead.status.value == "contacting"


def test_the_bridge_rings_the_customer_unless_the_lead_closed_meanwhile(twilio, session, agent):
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=agent.id)
    ).lead
    call = calls.start_click_to_dial(session, lead, actor=agent, settings=get_settings())
    session.commit()
    path = f"/webhooks/twilio/voice/bridge?call_id={call.id}"
    params = {"CallSid": "CA" + "c" * 32, "CallStatus": "in-progress"}
    number = ET.fromstring(twilio.post(path, params).data).find("Dial/Number")
    assert number is not None and number.text == "+8613800138000"

    lead.customer.do_not_call = True  # the customer opted out while the agent's phone rang
    session.commit()
    root = ET.fromstring(twilio.post(path, params).data)
    assert root.find("Dial") is None and root.find("Say") is not None
    unknown = twilio.post("/webhooks/twilio/voice/bridge?call_id=999999", params)
    assert unknown.status_code == 404


def test_the_signature_covers_the_mount_prefix(app, session, agent):
    """Served under /dcc (SCRIPT_NAME), Twilio signed https://…/dcc/webhooks/…: that URL is
    checked, and the URLs the app gives Twilio carry the prefix too."""
    client = app.test_client()
    params = incoming("CA" + "e" * 32)
    validator = RequestValidator(TWILIO_AUTH_TOKEN)
    mounted = PUBLIC_BASE_URL + "/dcc/webhooks/twilio/voice/inbound"
    headers = {"X-Twilio-Signature": validator.compute_signature(mounted, params)}
    with clock.frozen(OPEN):
        answer = client.post(
            "/webhooks/twilio/voice/inbound",
            data=params,
            headers=headers,
            environ_overrides={"SCRIPT_NAME": "/dcc"},
        )
        assert answer.status_code == 200
        action = ET.fromstring(answer.data).find("Dial").get("action")
        assert action.startswith(PUBLIC_BASE_URL + "/dcc/webhooks/twilio/voice/dial")
        unmounted = {"X-Twilio-Signature": validator.compute_signature(mounted[:-1], params)}
        refused = client.post(
            "/webhooks/twilio/voice/inbound",
            data=params,
            headers=unmounted,
            environ_overrides={"SCRIPT_NAME": "/dcc"},
        )
    assert refused.status_code == 403


def test_the_numbers_fallback_url_apologises_and_owes_a_callback(twilio, session):
    with clock.frozen(OPEN):
        answer = twilio.post(
            "/webhooks/twilio/voice/fallback",
            {**incoming("CA" + "f" * 32), "ErrorCode": "11200", "ErrorUrl": "https://x/y"},
        )
    assert answer.status_code == 200
    root = ET.fromstring(answer.data)
    assert "很抱歉" in (root.find("Say").text or "") and root.find("Hangup") is not None
    (callback,) = session.scalars(select(Callback)).all()
    assert callback.reason == "fallback" and callback.due_at == OPEN
    assert session.scalars(select(Lead)).one().customer.phone == "+8613800138000"
