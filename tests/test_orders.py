"""Sales orders and delivery through the API: VIN or catalogue, permissions, cancel, owned
vehicles, and the repurchase (续购) lead a delivered customer starts through every channel."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import LEAD_SECRET, deliver

from dcc import clock, reception
from dcc.leads import followups, intake, lifecycle, sources
from dcc.leads.models import Channel, Grade, Lead, LeadStatus
from dcc.sales import catalogue, orders
from dcc.sales.models import Order, Vehicle
from dcc.users.models import AgentStatus

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
VIN = "1HGCM82633A004352"  # check digit 3 is right
BAD_VIN = "1HGCM82643A004352"  # the same with a wrong check digit
HOTLINE = "+864008123123"


@pytest.fixture()
def people(staff):
    agent = staff.user("agent", "dcc_agent", phone="13900000001")
    agent.agent_status = AgentStatus.AVAILABLE
    consultant = staff.user("liu", "consultant", name="刘强")
    staff.session.commit()
    return {
        "agent": agent,
        "consultant": consultant,
        "clerk": staff.user("clerk", "clerk"),
        "manager": staff.user("boss", "manager"),
    }


def arrived_lead(session: Session, people, phone: str = "13800138000") -> Lead:
    lead = intake.receive(
        session, intake.LeadInput(phone=phone, channel=Channel.PORTAL, name="王先生")
    ).lead
    lifecycle.register_arrival(
        session, lead, clerk=people["clerk"], consultant=people["consultant"]
    )
    session.commit()
    return lead


def incoming(sid: str, caller: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": caller,
        "To": HOTLINE,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def test_order_by_vin_delivery_then_a_hotline_call_starts_a_repurchase_lead(
    client, twilio, session, staff, people
) -> None:
    auth = staff.token(people["consultant"])
    with clock.frozen(T0):
        lead = arrived_lead(session, people)
        bad = client.post(f"/api/v1/leads/{lead.id}/orders", json={"vin": BAD_VIN}, headers=auth)
        assert bad.status_code == 422
        assert bad.get_json()["error"]["field"] == "vin"
        assert "check digit" in bad.get_json()["error"]["message"]
        assert session.scalar(select(func.count()).select_from(Order)) == 0

        placed = client.post(
            f"/api/v1/leads/{lead.id}/orders",
            json={
                "vin": VIN.lower(),
                "price": 189800,
                "deposit": 5000.5,
                "delivery_due": "2026-12-20",
            },
            headers=auth,
        )
        assert placed.status_code == 201, placed.get_json()
        body = placed.get_json()
        assert {body["order_id"], body["lead_id"], body["status"]} >= {lead.id, "ordered"}
        assert body["vin"] == VIN and body["price"] == 189800 and body["deposit"] == 5000.5
    session.expire_all()
    assert lead.status == LeadStatus.ORDERED and lead.grade == Grade.O
    plan = followups.open_follow_ups(session, lead)
    assert [f.purpose for f in plan] == ["delivery"]
    assert plan[0].due_at == T0 + dt.timedelta(days=7)  # grade O: weekly until delivery

    with clock.frozen(T0 + dt.timedelta(days=20)):
        delivered = client.post(
            f"/api/v1/orders/{body['order_id']}/delivery", json={}, headers=auth
        )
        assert delivered.status_code == 200, delivered.get_json()
        assert delivered.get_json()["status"] == "delivered"
        again = client.post(f"/api/v1/orders/{body['order_id']}/delivery", json={}, headers=auth)
        assert again.status_code == 409
    session.expire_all()
    assert lead.status == LeadStatus.DELIVERED and lead.close_reason == "delivered"
    assert followups.open_follow_ups(session, lead) == []
    vehicles = client.get(f"/api/v1/customers/{lead.customer_id}/vehicles", headers=auth)
    assert vehicles.status_code == 200
    assert [v["vin"] for v in vehicles.get_json()] == [VIN]

    # The owner calls the hotline from the same number written another way: 续购.
    with clock.frozen(T0 + dt.timedelta(days=400)):
        answer = twilio.post(
            "/webhooks/twilio/voice/inbound", incoming("CA" + "c" * 32, "008613800138000")
        )
    assert answer.status_code == 200
    newest = session.scalars(select(Lead).order_by(Lead.id.desc()).limit(1)).one()
    assert newest.id != lead.id and newest.customer_id == lead.customer_id
    assert newest.is_repurchase and newest.sub_source == "续购"
    assert newest.channel == Channel.HOTLINE and newest.status == LeadStatus.NEW


def test_order_by_the_catalogue_names_the_level_it_lacks(client, session, staff, people) -> None:
    catalogue.seed_demo(session)
    session.commit()
    auth = staff.token(people["manager"])
    lead = arrived_lead(session, people)
    vehicle = {
        "brand": "丰田",
        "series": "凯美瑞",
        "model": "2024款 2.0G",
        "configuration": "豪华版",
    }
    for level, wrong in (("series", "皇冠"), ("configuration", "火星版")):
        answer = client.post(
            f"/api/v1/leads/{lead.id}/orders", json={**vehicle, level: wrong}, headers=auth
        )
        assert answer.status_code == 422
        assert answer.get_json()["error"]["field"] == level
    missing = client.post(f"/api/v1/leads/{lead.id}/orders", json={}, headers=auth)
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "vin"
    dearer = client.post(
        f"/api/v1/leads/{lead.id}/orders",
        json={**vehicle, "price": 100, "deposit": 200},
        headers=auth,
    )
    assert dearer.status_code == 422 and dearer.get_json()["error"]["field"] == "deposit"
    past = client.post(
        f"/api/v1/leads/{lead.id}/orders",
        json={**vehicle, "delivery_due": "2000-01-01"},
        headers=auth,
    )
    assert past.status_code == 422 and past.get_json()["error"]["field"] == "delivery_due"
    text = client.post(
        f"/api/v1/leads/{lead.id}/orders", json={**vehicle, "price": "lots"}, headers=auth
    )
    assert text.status_code == 422 and text.get_json()["error"]["field"] == "price"
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    ok = client.post(f"/api/v1/leads/{lead.id}/orders", json=vehicle, headers=auth)
    assert ok.status_code == 201
    assert ok.get_json()["configuration"] == "豪华版"


def test_orders_follow_the_pages_permissions(client, session, staff, people) -> None:
    lead = arrived_lead(session, people)
    other = staff.user("zhao", "consultant")
    for user, status in ((people["agent"], 403), (people["clerk"], 403), (other, 404)):
        answer = client.post(
            f"/api/v1/leads/{lead.id}/orders", json={"vin": VIN}, headers=staff.token(user)
        )
        assert answer.status_code == status, (user.login, answer.get_json())
    never = client.post(
        f"/api/v1/leads/{lead.id}/orders",
        json={"vin": VIN},
        headers=staff.token(staff.user("new", "consultant")),
    )
    assert never.status_code == 404
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    # An agent learns nothing of a customer it does not work with.
    outsider = staff.token(staff.user("agent2", "dcc_agent"))
    assert (
        client.get(f"/api/v1/customers/{lead.customer_id}/vehicles", headers=outsider).status_code
        == 404
    )


def test_cancel_needs_a_reason_and_returns_the_lead_to_follow_up(
    client, session, staff, people
) -> None:
    auth = staff.token(people["consultant"])
    with clock.frozen(T0):
        lead = arrived_lead(session, people)
        order_id = client.post(
            f"/api/v1/leads/{lead.id}/orders", json={"vin": VIN}, headers=auth
        ).get_json()["order_id"]
        nothing = client.post(f"/api/v1/orders/{order_id}/cancel", json={}, headers=auth)
        assert nothing.status_code == 422 and nothing.get_json()["error"]["field"] == "reason"
        blank = client.post(
            f"/api/v1/orders/{order_id}/cancel", json={"reason": "  "}, headers=auth
        )
        assert blank.status_code == 422 and blank.get_json()["error"]["field"] == "reason"
        canceled = client.post(
            f"/api/v1/orders/{order_id}/cancel", json={"reason": "贷款未批"}, headers=auth
        )
        assert canceled.status_code == 200
        assert canceled.get_json()["status"] == "canceled"
        assert canceled.get_json()["cancel_reason"] == "贷款未批"
        twice = client.post(
            f"/api/v1/orders/{order_id}/cancel", json={"reason": "again"}, headers=auth
        )
        assert twice.status_code == 409
        deliver = client.post(f"/api/v1/orders/{order_id}/delivery", json={}, headers=auth)
        assert deliver.status_code == 409
    session.expire_all()
    assert lead.status == LeadStatus.ARRIVED and lead.grade == Grade.H
    plan = followups.open_follow_ups(session, lead)
    assert [f.due_at for f in plan] == [T0] and lead.next_action_at == T0
    assert session.scalar(select(func.count()).select_from(Vehicle)) == 0


def test_the_orders_are_in_the_openapi_document(client, staff) -> None:
    token = staff.token(staff.user("reader", "manager"))
    paths = client.get("/api/v1/openapi.json", headers=token).get_json()["paths"]
    for path in (
        "/api/v1/leads/{lead_id}/orders",
        "/api/v1/orders/{order_id}/delivery",
        "/api/v1/orders/{order_id}/cancel",
        "/api/v1/customers/{customer_id}/vehicles",
    ):
        assert path in paths, path
    order = paths["/api/v1/leads/{lead_id}/orders"]["post"]
    assert "201" in order["responses"] and "422" in order["responses"]


def delivered_customer(session: Session, people) -> Lead:
    lead = arrived_lead(session, people)
    order = lifecycle_order(session, lead, people)
    orders.deliver(session, order, actor=people["consultant"])
    session.commit()
    return lead


def lifecycle_order(session: Session, lead: Lead, people) -> Order:
    return orders.place(
        session,
        lead,
        orders.OrderInput(vin=VIN),
        actor=people["consultant"],
        timezone="Asia/Shanghai",
    )


@pytest.mark.parametrize("channel", ["webhook", "api", "walk_in"])
def test_an_owner_enquiring_again_starts_a_repurchase_lead(
    client, session, staff, people, channel
) -> None:
    lead = delivered_customer(session, people)
    if channel == "webhook":
        sources.create(
            session, slug="autohome", name="汽车之家", channel="portal", secret=LEAD_SECRET
        )
        session.commit()
        answer = deliver(client, {"phone": "+86 138-0013-8000", "series": "汉兰达"})
        assert answer.status_code == 201, answer.get_json()
        new_id = answer.get_json()["lead_id"]
    elif channel == "api":
        answer = client.post(
            "/api/v1/leads",
            json={"phone": "138 0013 8000", "channel": "showroom_phone"},
            headers=staff.token(people["manager"]),
        )
        assert answer.status_code == 201
        new_id = answer.get_json()["lead_id"]
    else:
        visit = reception.walk_in(
            session,
            reception.WalkIn(consultant=people["consultant"], phone="13800138000"),
            clerk=people["clerk"],
        )
        new_id = visit.lead_id
    fresh = session.get_one(Lead, new_id)
    assert fresh.id != lead.id and fresh.customer_id == lead.customer_id
    assert fresh.is_repurchase and fresh.sub_source == "续购"
