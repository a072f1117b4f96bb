"""The manager's pages: who may open them, CSRF, the customer list's filters and bulk actions,
lost-request decisions, follow-up comments (批复) and the escalation queues."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc import clock
from dcc.audit import AuditEntry
from dcc.customers.models import CustomerKind
from dcc.leads import escalations, followups, intake, lifecycle
from dcc.leads.models import Channel, Grade, Lead, LeadStatus, LostRequestStatus
from dcc.sales.models import Order

MANAGER_PAGES = (
    "/wallboard",
    "/wallboard/stream",
    "/manager/customers",
    "/manager/lost-requests",
    "/manager/follow-ups",
    "/manager/escalations",
    "/reports",
    "/reports/funnel",
)


@pytest.fixture()
def boss(staff):
    return staff.user("boss", "manager", password=PASSWORD, name="赵经理")


@pytest.fixture()
def alice(staff):
    return staff.user("alice", "dcc_agent", password=PASSWORD, name="Alice", phone="13900000001")


@pytest.fixture()
def bob(staff):
    return staff.user("bob", "dcc_agent", password=PASSWORD, name="Bob", phone="13900000002")


def _lead(session, phone, owner, name="王先生", **kw):
    kw.setdefault("channel", Channel.PORTAL)
    lead = intake.receive(
        session, intake.LeadInput(phone=phone, name=name, owner_id=owner.id, **kw)
    ).lead
    session.commit()
    return lead


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _audits(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_an_agent_gets_403_on_every_manager_page_and_action(client, session, alice) -> None:
    lead = _lead(session, "13800138000", alice)
    login(client, "alice")
    for path in MANAGER_PAGES:
        assert client.get(path).status_code == 403, path
    actions = {
        "/manager/customers/reassign": {"customer_ids": lead.customer_id, "owner_id": alice.id},
        "/manager/customers/merge": {"customer_ids": lead.customer_id},
        "/manager/customers/fleet": {"customer_ids": lead.customer_id},
        "/manager/lost-requests/1": {"decision": "approve"},
        "/manager/follow-ups/1/comment": {"comment": "x"},
        f"/manager/leads/{lead.id}/reassign": {"owner_id": alice.id},
    }
    for path, data in actions.items():
        assert post(client, path, data).status_code == 403, path
    assert "实时大屏" not in _text(client.get("/"))  # no link either
    assert session.scalars(select(AuditEntry)).all() == []


def test_pages_need_a_login(client) -> None:
    for path in MANAGER_PAGES:
        assert client.get(path).headers["Location"].startswith("/login"), path


def test_a_supervisor_reads_the_lists_but_cannot_act(client, session, staff, alice, bob) -> None:
    staff.user("sup", "supervisor", password=PASSWORD)
    lead = _lead(session, "13800138000", alice)
    login(client, "sup")
    for path in MANAGER_PAGES[:1] + MANAGER_PAGES[2:]:
        assert client.get(path).status_code == 200, path
    page = _text(client.get("/manager/customers"))
    assert "王先生" in page and "13800138000" in page  # the DCC sees full numbers
    assert 'name="customer_ids"' not in page and "export-customers" not in page
    answer = post(
        client,
        "/manager/customers/reassign",
        {"customer_ids": lead.customer_id, "owner_id": bob.id},
    )
    assert answer.status_code == 403
    assert session.get(Lead, lead.id).owner_id == alice.id


def test_manager_actions_need_the_csrf_token(client, session, boss, alice, bob) -> None:
    lead = _lead(session, "13800138000", alice)
    login(client, "boss")
    form = {"customer_ids": lead.customer_id, "owner_id": bob.id}
    for path in ("/manager/customers/reassign", "/manager/customers/fleet"):
        assert client.post(path, data=form).status_code == 400
    assert client.post(f"/manager/leads/{lead.id}/reassign", data=form).status_code == 400
    session.expire_all()
    assert session.get(Lead, lead.id).owner_id == alice.id
    assert session.get(Lead, lead.id).customer.kind == CustomerKind.INDIVIDUAL
    assert session.scalars(select(AuditEntry)).all() == []


def test_the_customer_list_filters_and_masks(client, session, boss, alice, bob) -> None:
    wang = _lead(session, "13800138000", alice, name="王先生", series="凯美瑞")
    li = _lead(session, "13912345678", bob, name="李女士", channel=Channel.HOTLINE)
    li.grade = Grade.H
    session.commit()
    login(client, "boss")

    def rows(query: str) -> list[int]:
        answer = client.get(f"/manager/customers?{query}")
        assert answer.status_code == 200, _text(answer)[-2000:]
        return [int(i) for i in re.findall(r'data-customer-id="(\d+)"', _text(answer))]

    assert rows("") == [li.customer_id, wang.customer_id]
    assert rows("q=%2B86+138-0013-8000") == [wang.customer_id]
    assert rows("q=王") == [wang.customer_id]
    assert rows("grade=H") == [li.customer_id]
    assert rows(f"owner={alice.id}") == [wang.customer_id]
    assert rows("channel=hotline_400&status=new") == [li.customer_id]
    today = clock.local(clock.now(), "Asia/Shanghai").date()
    assert rows(f"from={today}&to={today}") == [li.customer_id, wang.customer_id]
    page = _text(client.get("/manager/customers?grade=H"))
    assert 'href="/api/v1/customers/export.xlsx?grade=H"' in page


def test_bad_filters_name_their_field(client, boss) -> None:
    login(client, "boss")
    answer = client.get("/manager/customers?from=2026-13-01&grade=Z")
    assert answer.status_code == 422
    text = _text(answer)
    assert "开始日期：" in text and "意向级别：" in text
    late = client.get("/manager/customers?from=2026-03-02&to=2026-03-01")
    assert late.status_code == 422 and "开始日期：不能晚于结束日期" in _text(late)


def test_bulk_reassign_moves_open_leads_and_says_what_it_could_not(
    client, session, boss, alice, bob
) -> None:
    first = _lead(session, "13800138000", alice, name="王先生")
    second = _lead(session, "13800138001", alice, name="李女士")
    closed = _lead(session, "13800138002", alice, name="张三")
    lifecycle.mark_invalid(session, closed, actor=boss, reason="空号")
    session.commit()
    login(client, "boss")
    chosen = [first.customer_id, second.customer_id, closed.customer_id]
    missing = post(
        client, "/manager/customers/reassign", {"customer_ids": chosen}, follow_redirects=True
    )
    assert "新负责人：请选择新负责人。" in _text(missing)
    none = post(client, "/manager/customers/reassign", {"owner_id": bob.id}, follow_redirects=True)
    assert "客户：请至少勾选一位客户。" in _text(none)
    answer = post(
        client,
        "/manager/customers/reassign",
        {"customer_ids": chosen, "owner_id": bob.id, "next": "/manager/customers?grade=N"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/manager/customers?grade=N"
    text = _text(client.get("/manager/customers"))
    assert "已将 2 位客户重新分配给 Bob。" in text
    assert f"张三 (#{closed.customer_id}) 没有可重新分配的进行中线索。" in text
    session.expire_all()
    assert [session.get(Lead, i).owner_id for i in (first.id, second.id, closed.id)] == [
        bob.id,
        bob.id,
        alice.id,
    ]
    assert [f.owner_id for f in followups.open_follow_ups(session, first)] == [bob.id]
    assert len(_audits(session, "lead.reassign")) == 2


def test_merge_asks_which_customer_to_keep_then_merges(client, session, boss, alice) -> None:
    first = _lead(session, "13800138000", alice, name="王先生")
    second = _lead(session, "13800138001", alice, name="")
    login(client, "boss")
    chosen = {"customer_ids": [first.customer_id, second.customer_id]}
    one = post(
        client,
        "/manager/customers/merge",
        {"customer_ids": first.customer_id},
        follow_redirects=True,
    )
    assert "合并至少需要勾选两位客户" in _text(one)
    confirm = post(client, "/manager/customers/merge", chosen)
    assert confirm.status_code == 200 and "请选择保留的客户" in _text(confirm)
    assert f'value="{first.customer_id}" checked' in _text(confirm)  # the oldest, by default
    assert _audits(session, "customer.merge") == []
    done = post(
        client,
        "/manager/customers/merge",
        {**chosen, "confirm": "1", "survivor_id": first.customer_id},
        follow_redirects=True,
    )
    assert "已将 1 位客户合并到 王先生" in _text(done)
    session.expire_all()
    assert session.get(Lead, second.id).customer_id == first.customer_id
    assert len(_audits(session, "customer.merge")) == 1


def test_merge_refusals_name_the_customer_and_the_rule(client, session, boss, alice) -> None:
    fleet = _lead(session, "13800138000", alice, name="车队客户")
    fleet.customer.kind = CustomerKind.FLEET
    ordered = _lead(session, "13800138001", alice, name="订单客户")
    plain = _lead(session, "13800138002", alice, name="普通客户")
    session.add(Order(lead_id=ordered.id, customer_id=ordered.customer_id, series="凯美瑞"))
    session.commit()
    login(client, "boss")
    for refused, rule in (
        (fleet, "是批售客户：批售客户不能合并"),
        (ordered, "已有订单：有订单的客户不能合并"),
    ):
        form = {
            "customer_ids": [plain.customer_id, refused.customer_id],
            "confirm": "1",
            "survivor_id": plain.customer_id,
        }
        text = _text(post(client, "/manager/customers/merge", form, follow_redirects=True))
        assert f"未合并：{refused.customer.name} (#{refused.customer_id}) {rule}" in text
    session.expire_all()
    assert session.get(Lead, fleet.id).customer_id == fleet.customer_id
    assert _audits(session, "customer.merge") == []


def test_upgrade_to_fleet(client, session, boss, alice) -> None:
    lead = _lead(session, "13800138000", alice)
    login(client, "boss")
    answer = post(
        client,
        "/manager/customers/fleet",
        {"customer_ids": lead.customer_id},
        follow_redirects=True,
    )
    assert "已将 1 位客户升级为批售客户" in _text(answer)
    session.expire_all()
    assert session.get(Lead, lead.id).customer.kind == CustomerKind.FLEET
    assert len(_audits(session, "customer.fleet")) == 1
    assert "批售" in _text(client.get("/manager/customers"))


def test_a_team_manager_cannot_touch_another_teams_customers(client, session, staff) -> None:
    staff.user("north", "manager", password=PASSWORD, team="北区")
    south_agent = staff.user("carol", "dcc_agent", team="南区")
    lead = _lead(session, "13800138000", south_agent)
    login(client, "north")
    assert "data-customer-id" not in _text(client.get("/manager/customers"))
    post(client, "/manager/customers/fleet", {"customer_ids": lead.customer_id})
    session.expire_all()
    assert session.get(Lead, lead.id).customer.kind == CustomerKind.INDIVIDUAL
    assert post(client, f"/manager/leads/{lead.id}/reassign", {"owner_id": 1}).status_code == 404


def test_lost_requests_are_confirmed_or_rejected(client, session, boss, alice) -> None:
    lost = _lead(session, "13800138000", alice, name="王先生")
    kept = _lead(session, "13800138001", alice, name="李女士")
    to_lose = lifecycle.request_lost(session, lost, reason="competitor", actor=alice)
    to_keep = lifecycle.request_lost(session, kept, reason="price", actor=alice, note="再争取")
    session.commit()
    login(client, "boss")
    page = _text(client.get("/manager/lost-requests"))
    assert "购买竞品" in page and "再争取" in page
    bad = post(
        client, f"/manager/lost-requests/{to_lose.id}", {"decision": "maybe"}, follow_redirects=True
    )
    assert "审批：请确认或驳回该申请。" in _text(bad)
    post(client, f"/manager/lost-requests/{to_lose.id}", {"decision": "approve"})
    post(client, f"/manager/lost-requests/{to_keep.id}", {"decision": "reject", "note": "继续跟进"})
    session.expire_all()
    assert session.get(Lead, lost.id).status == LeadStatus.LOST
    assert session.get(Lead, lost.id).grade == Grade.F
    assert session.get(Lead, kept.id).status != LeadStatus.LOST
    rejected = session.get(type(to_keep), to_keep.id)
    assert rejected.status == LostRequestStatus.REJECTED and rejected.decision_note == "继续跟进"
    assert (
        len(_audits(session, "lead.lost.approve")) == len(_audits(session, "lead.lost.reject")) == 1
    )
    again = post(
        client,
        f"/manager/lost-requests/{to_lose.id}",
        {"decision": "reject"},
        follow_redirects=True,
    )
    assert "该申请已审批" in _text(again)
    assert "没有待审批的战败申请" in _text(client.get("/manager/lost-requests"))
    assert post(client, "/manager/lost-requests/99999", {"decision": "approve"}).status_code == 404


def test_follow_up_review_with_comments(client, session, boss, alice) -> None:
    lead = _lead(session, "13800138000", alice)
    [planned] = followups.open_follow_ups(session, lead)
    followups.complete(session, planned, result="客户周末来店", actor=alice)
    session.commit()
    login(client, "boss")
    page = _text(client.get("/manager/follow-ups"))
    assert "客户周末来店" in page and f'data-follow-up-id="{planned.id}"' in page
    empty = post(
        client, f"/manager/follow-ups/{planned.id}/comment", {"comment": " "}, follow_redirects=True
    )
    assert "批复：请填写批复内容。" in _text(empty)
    saved = post(
        client,
        f"/manager/follow-ups/{planned.id}/comment",
        {"comment": "记得提醒带驾照", "next": "/manager/follow-ups?uncommented="},
    )
    assert saved.headers["Location"] == "/manager/follow-ups?uncommented="
    session.expire_all()
    assert session.get(type(planned), planned.id).manager_comment == "记得提醒带驾照"
    assert len(_audits(session, "followup.comment")) == 1
    assert f'data-follow-up-id="{planned.id}"' not in _text(client.get("/manager/follow-ups"))
    assert "记得提醒带驾照" in _text(client.get("/manager/follow-ups?uncommented="))
    bad = client.get("/manager/follow-ups?from=nonsense")
    assert bad.status_code == 422 and "开始日期：" in _text(bad)
    login(client, "alice")
    assert "记得提醒带驾照" in _text(client.get(f"/leads/{lead.id}"))  # the agent reads it


def test_escalation_queues_and_their_reassign(client, session, boss, alice, bob) -> None:
    unreachable = _lead(session, "13800138000", alice, name="未接通客户")
    unreachable.escalation, unreachable.escalated_at = escalations.UNREACHABLE, clock.now()
    long_ago = clock.now() - dt.timedelta(days=35)
    with clock.frozen(long_ago):
        invited = _lead(session, "13800138001", alice, name="邀约未到客户")
        lifecycle.book_appointment(
            session, invited, at=long_ago + dt.timedelta(days=1), consultant=None, actor=alice
        )
    invited.escalation = escalations.NO_SHOW
    session.commit()
    login(client, "boss")
    html = client.get("/manager/escalations").get_data(as_text=True)
    page = _text(client.get("/manager/escalations"))
    assert "未接通客户" in page and "邀约未到客户" in page
    assert html.count('class="reassign"') == 2  # one form a row, in each queue
    missing = post(
        client, f"/manager/leads/{unreachable.id}/reassign", {"owner_id": ""}, follow_redirects=True
    )
    assert "新负责人：请选择新负责人。" in _text(missing)
    done = post(
        client,
        f"/manager/leads/{unreachable.id}/reassign",
        {"owner_id": bob.id},
        follow_redirects=True,
    )
    assert "未接通客户 已重新分配给 Bob" in _text(done)
    post(client, f"/manager/leads/{invited.id}/reassign", {"owner_id": bob.id})
    session.expire_all()
    for lead_id in (unreachable.id, invited.id):
        lead = session.get(Lead, lead_id)
        assert (lead.owner_id, lead.escalation) == (bob.id, None)
    assert len(_audits(session, "lead.escalation.clear")) == 2
    assert "未接通客户" not in _text(client.get("/manager/escalations"))


def test_a_lost_customer_is_reopened_for_the_new_owner(client, session, boss, alice, bob) -> None:
    lost = _lead(session, "13800138000", alice, name="王先生", series="凯美瑞")
    request = lifecycle.request_lost(session, lost, reason="price", actor=alice)
    lifecycle.decide_lost(session, request, approve=True, manager=boss)
    session.commit()
    login(client, "boss")
    post(
        client,
        "/manager/customers/reassign",
        {"customer_ids": [lost.customer_id], "owner_id": bob.id},
    )
    assert "1 位战败客户已重新分配给 Bob。" in _text(client.get("/manager/customers"))
    session.expire_all()
    leads = session.scalars(
        select(Lead).where(Lead.customer_id == lost.customer_id).order_by(Lead.id)
    ).all()
    assert [(lead.status, lead.owner_id) for lead in leads] == [
        (LeadStatus.LOST, alice.id),  # the loss stays on record
        (LeadStatus.NEW, bob.id),
    ]
    fresh = leads[1]
    assert fresh.grade == Grade.C and fresh.series == "凯美瑞" and fresh.sub_source == "战败再激活"
    assert [f.owner_id for f in followups.open_follow_ups(session, fresh)] == [bob.id]
    [entry] = _audits(session, "lead.reactivate")
    assert entry.details["lost_lead_id"] == lost.id
    again = post(
        client,
        "/manager/customers/reassign",
        {"customer_ids": [lost.customer_id], "owner_id": alice.id},
    )
    assert again.status_code == 302  # now an open lead: an ordinary reassignment
    session.expire_all()
    assert session.get(Lead, fresh.id).owner_id == alice.id
