"""The pages of the loop: orders on the lead page, the manager's loop check (闭环检查) and
the admin's vehicle catalogue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc import clock
from dcc.leads import intake, lifecycle
from dcc.leads.models import Channel, FollowUp, Lead, LeadStatus
from dcc.sales import catalogue
from dcc.sales.models import CatalogueEntry, Order, OrderStatus, Vehicle

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def arrived(session, staff):
    agent = staff.user("alice", "dcc_agent", password=PASSWORD, phone="13900000001")
    consultant = staff.user("liu", "consultant", password=PASSWORD, name="刘强")
    lead = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=agent.id),
    ).lead
    lifecycle.register_arrival(session, lead, clerk=None, consultant=consultant)
    catalogue.seed_demo(session)
    session.commit()
    return lead, consultant, agent


def test_a_consultant_records_delivers_and_the_page_lists_the_car(client, session, staff):
    lead, _consultant, _agent = arrived(session, staff)
    entry = session.scalars(
        select(CatalogueEntry).where(CatalogueEntry.series == "凯美瑞").limit(1)
    ).one()
    login(client, "liu")
    with clock.frozen(T0):
        page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
        assert 'id="order-form"' in page and "凯美瑞" in page
        bad = post(client, f"/leads/{lead.id}/orders", {"vin": "1HGCM82643A004352"})
        assert bad.status_code == 302
        assert session.scalar(select(Order.id)) is None
        made = post(
            client,
            f"/leads/{lead.id}/orders",
            {"catalogue_id": entry.id, "price": "199,800", "deposit": "5000"},
            follow_redirects=True,
        )
        assert made.status_code == 200
        order = session.scalars(select(Order)).one()
        assert (order.series, order.price_fen, order.deposit_fen) == ("凯美瑞", 19_980_000, 500_000)
        dated = post(client, f"/orders/{order.id}/delivery-due", {"delivery_due": "2026-12-20"})
        assert dated.status_code == 302
        session.expire_all()
        assert order.delivery_due == dt.date(2026, 12, 20)
        done = post(client, f"/orders/{order.id}/deliver", follow_redirects=True)
    text = done.get_data(as_text=True)
    assert 'id="customer-vehicles"' in text and "凯美瑞" in text
    session.expire_all()
    assert order.status == OrderStatus.DELIVERED
    assert session.scalars(select(Vehicle)).one().customer_id == lead.customer_id


def test_cancel_from_the_page_needs_a_reason(client, session, staff):
    lead, _consultant, _agent = arrived(session, staff)
    login(client, "liu")
    with clock.frozen(T0):
        post(client, f"/leads/{lead.id}/orders", {"vin": "1HGCM82633A004352"})
        order = session.scalars(select(Order)).one()
        refused = post(client, f"/orders/{order.id}/cancel", {"reason": ""}, follow_redirects=True)
        assert "请说明取消订单的原因" in refused.get_data(as_text=True)
        session.expire_all()
        assert order.status == OrderStatus.ORDERED
        post(client, f"/orders/{order.id}/cancel", {"reason": "客户资金未到位"})
    session.expire_all()
    assert order.status == OrderStatus.CANCELED and lead.status == LeadStatus.ARRIVED
    # The DCC agent owning the lead reads the page but may not act on orders.
    client.post("/logout", data={})
    login(client, "alice")
    assert "order-form" not in client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert post(client, f"/orders/{order.id}/deliver").status_code == 403


def test_the_loop_check_page_lists_and_fixes(client, session, staff):
    boss = staff.user("boss", "manager", password=PASSWORD)
    agent = staff.user("alice", "dcc_agent", password=PASSWORD)
    lead = intake.receive(
        session,
        intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=agent.id),
    ).lead
    twin = Lead(
        customer_id=lead.customer_id,
        channel=Channel.WEB,
        value_tier=lead.value_tier,
        owner_id=agent.id,
    )
    session.add(twin)
    closed = intake.receive(
        session,
        intake.LeadInput(phone="13900139000", channel=Channel.PORTAL, owner_id=agent.id),
    ).lead
    closed.status = LeadStatus.LOST  # closed without releasing its plan
    session.commit()
    assert boss.id
    login(client, "boss")
    page = client.get("/manager/loop").get_data(as_text=True)
    assert 'id="loop-customer_with_two_open_leads"' in page
    assert 'id="loop-job_for_closed_lead"' in page
    assert f"/leads/{lead.id}" in page
    post(client, f"/manager/loop/leads/{closed.id}/release")
    post(client, f"/manager/loop/customers/{lead.customer_id}/keep-one")
    page = client.get("/manager/loop").get_data(as_text=True)
    assert "loop-customer_with_two_open_leads" not in page
    assert "loop-job_for_closed_lead" not in page
    session.expire_all()
    assert sorted([lead.status, twin.status]) == sorted([LeadStatus.NEW, LeadStatus.DUPLICATE])
    open_plan = session.scalars(
        select(FollowUp).where(FollowUp.lead_id == closed.id, FollowUp.status == "open")
    ).all()
    assert open_plan == []
    client.post("/logout", data={})
    login(client, "alice")
    assert client.get("/manager/loop").status_code == 403


def test_the_admin_keeps_the_catalogue(client, session, staff):
    staff.user("root", "admin", password=PASSWORD)
    staff.user("liu", "consultant", password=PASSWORD)
    login(client, "root")
    form = {
        "brand": "丰田",
        "series": "威兰达",
        "model": "2024款 2.0L",
        "configuration": "豪华版",
        "guide_price": "189800",
    }
    assert post(client, "/admin/catalogue", form).status_code == 302
    again = post(client, "/admin/catalogue", form, follow_redirects=True)
    assert "车型库中已有此配置" in again.get_data(as_text=True)
    entry = session.scalars(select(CatalogueEntry)).one()
    assert entry.guide_price_fen == 18_980_000 and entry.active
    post(client, f"/admin/catalogue/{entry.id}/disable")
    session.expire_all()
    assert not entry.active
    assert "威兰达" in client.get("/admin/catalogue").get_data(as_text=True)
    client.post("/logout", data={})
    login(client, "liu")
    assert client.get("/admin/catalogue").status_code == 403
