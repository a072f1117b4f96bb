"""The staff web UI: login, CSRF, roles, the worklist, the lead page, wrap-up and reception."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
from flask import session as flask_session
from sqlalchemy import select
from support import RecordingTelephony
from web_support import PASSWORD, csrf_token, login, post

from dcc import clock, worklist
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.callscripts import service as callscripts
from dcc.callscripts.models import Offer
from dcc.jobs import tasks
from dcc.jobs.models import OutboxJob
from dcc.leads import followups, intake, lifecycle
from dcc.leads.models import Callback, CallbackStatus, Channel, FollowUpStatus, Grade, Lead
from dcc.notifications import Notification
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.users.models import AgentStatus
from dcc.web import reports as web_reports

CUSTOMER = "13800138000"


def _lead(session, phone=CUSTOMER, **kw):
    data = intake.LeadInput(
        phone=phone, channel=Channel.PORTAL, name="王先生", series="凯美瑞", **kw
    )
    lead = intake.receive(session, data).lead
    session.commit()
    return lead


@pytest.fixture()
def agent(staff):
    return staff.user("agent", "dcc_agent", password=PASSWORD, phone="13900000001", name="张晓婷")


@pytest.fixture()
def telephony(app):
    fake = RecordingTelephony()
    app.extensions["dcc.telephony"] = fake
    return fake


def test_pages_need_login_and_login_needs_the_password(client, agent) -> None:
    assert client.get("/").status_code == 302
    assert client.get("/leads/1").headers["Location"].startswith("/login")
    token = csrf_token(client)
    wrong = client.post("/login", data={"login": "agent", "password": "x", "csrf_token": token})
    assert wrong.status_code == 200 and "账号或密码错误" in wrong.get_data(as_text=True)
    login(client, "agent")
    page = client.get("/")
    assert page.status_code == 200
    assert "工作台" in page.get_data(as_text=True)  # Simplified Chinese by default


def test_form_post_without_csrf_token_is_refused(client, session, agent) -> None:
    login(client, "agent")
    answer = client.post("/status", data={"status": "away"})
    assert answer.status_code == 400
    session.refresh(agent)
    assert agent.agent_status != AgentStatus.AWAY
    assert post(client, "/status", {"status": "away"}).status_code == 302
    session.refresh(agent)
    assert agent.agent_status == AgentStatus.AWAY


def test_the_api_and_webhooks_need_no_csrf_token(client, staff) -> None:
    user = staff.user("api", "dcc_agent")
    answer = client.post(
        "/api/v1/leads", json={"phone": CUSTOMER, "channel": "web"}, headers=staff.token(user)
    )
    assert answer.status_code == 201


def test_english_switch(client, agent) -> None:
    login(client, "agent")
    post(client, "/locale/en")
    text = client.get("/").get_data(as_text=True)
    assert "Worklist" in text and "工作台" not in text
    post(client, "/locale/zh_Hans")
    assert "工作台" in client.get("/").get_data(as_text=True)


def test_an_agent_cannot_open_another_agents_lead_page(client, session, staff, agent) -> None:
    lead = _lead(session)  # round-robin gives it to the only agent
    assert lead.owner_id == agent.id
    staff.user("other", "dcc_agent", password=PASSWORD, phone="13900000002")
    login(client, "other")
    assert client.get(f"/leads/{lead.id}").status_code == 404
    assert client.get("/leads/999999").status_code == 404
    assert post(client, f"/leads/{lead.id}/call").status_code == 404


def test_a_consultant_reads_the_number_of_their_own_walk_in(client, session, staff, agent) -> None:
    consultant = staff.user("consultant", "consultant", password=PASSWORD, name="刘强")
    lead = intake.receive(
        session,
        intake.LeadInput(phone=CUSTOMER, channel=Channel.WALK_IN, owner_id=consultant.id),
    ).lead
    session.commit()
    login(client, "consultant")
    text = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "138****8000" not in text and "13800138000" in text
    worklist = client.get("/").get_data(as_text=True)
    assert "138****8000" not in worklist and "13800138000" in worklist


def test_worklist_orders_new_leads_callbacks_and_follow_ups(client, session, agent) -> None:
    start = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    with clock.frozen(start):
        old = _lead(session, phone="13800138001")
    with clock.frozen(start + dt.timedelta(minutes=20)):
        fresh = _lead(session, phone="13800138002")
        invited = _lead(session, phone="13800138003")
        invited.status = lifecycle.S.CONTACTING
        session.add(
            Callback(
                lead_id=invited.id,
                owner_id=agent.id,
                reason="scheduled",
                due_at=clock.now() - dt.timedelta(minutes=1),
            )
        )
        session.commit()
    with clock.frozen(start + dt.timedelta(minutes=22)):
        work = worklist.build(session, agent, timezone="Asia/Shanghai")
        login(client, "agent")
        page = client.get("/").get_data(as_text=True)
    kinds = [(item.kind, item.lead.id) for item in work.items]
    assert kinds[0] == ("new_lead", old.id) and work.items[0].overdue
    assert ("new_lead", fresh.id) in kinds and not work.items[1].overdue
    assert ("callback", invited.id) in kinds
    assert work.grade_counts["N"] == 3 and set(work.grade_counts) == set("HABCNO")
    assert 'data-sla="300"' in page and "回电" in page


def test_taking_a_released_team_callback_places_the_call(
    client, session, staff, agent, telephony
) -> None:
    lead = _lead(session)
    mate = staff.user("mate", "dcc_agent", password=PASSWORD, phone="13900000002", team="DCC")
    agent.team_id = mate.team_id
    callback = Callback(
        lead_id=lead.id,
        owner_id=agent.id,
        team_id=mate.team_id,
        reason="missed_call",
        due_at=clock.now(),
    )
    session.add(callback)
    session.commit()
    login(client, "mate")
    assert post(client, f"/callbacks/{callback.id}/take").status_code == 302
    session.refresh(callback)
    assert callback.status == CallbackStatus.PENDING  # not released yet: not the mate's
    assert telephony.calls == []
    callback.released_at = clock.now()
    session.commit()
    assert "回电" in client.get("/").get_data(as_text=True)
    answer = post(client, f"/callbacks/{callback.id}/take")
    assert answer.status_code == 302
    session.refresh(callback)
    assert callback.status == CallbackStatus.DONE and callback.placed_call_id is not None
    assert [c["agent"] for c in telephony.calls] == ["+8613900000002"]
    assert post(client, f"/callbacks/{callback.id}/take").status_code == 302
    assert len(telephony.calls) == 1  # taken once


def test_click_to_dial_refusals_come_back_as_messages(client, session, agent, telephony) -> None:
    lead = _lead(session)
    lead.customer.do_not_call = True
    session.commit()
    login(client, "agent")
    answer = post(client, f"/leads/{lead.id}/call", follow_redirects=True)
    assert "拒绝来电名单" in answer.get_data(as_text=True)
    lead.customer.do_not_call = False
    session.commit()
    at_night = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)
    with clock.frozen(at_night):
        late = post(client, f"/leads/{lead.id}/call", follow_redirects=True)
    assert "不在可外呼时间内" in late.get_data(as_text=True)
    assert telephony.calls == []
    with clock.frozen(at_night - dt.timedelta(hours=6)):
        placed = post(client, f"/leads/{lead.id}/call")
    assert placed.status_code == 302 and "call=" in placed.headers["Location"]
    assert len(telephony.calls) == 1


def test_sms_is_sent_and_kept(client, session, agent, telephony) -> None:
    lead = _lead(session)
    login(client, "agent")
    assert post(client, f"/leads/{lead.id}/sms", {"body": "地址：XX路1号"}).status_code == 302
    assert telephony.messages[0]["to"] == "+8613800138000"
    from dcc.messaging import SentMessage

    assert session.scalars(select(SentMessage)).one().lead_id == lead.id
    history = client.get(f"/leads/{lead.id}").get_data(as_text=True).split('id="messages"')[1]
    assert "地址：XX路1号" in history.split("</table>")[0]  # the lead's history shows it


def _inbound_call(session, lead, agent) -> Call:
    call = Call(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        agent_id=agent.id,
        direction=CallDirection.INBOUND,
        leg="customer",
        status=CallStatus.IN_PROGRESS,
        sid="CA" + "7" * 32,
        from_number="+8613800138000",
    )
    session.add(call)
    session.commit()
    return call


def test_the_panel_fills_the_script_and_keeps_the_furthest_step(
    client, session, staff, agent
) -> None:
    staff.user("consultant", "consultant", name="刘强")
    lead = _lead(session)
    call = _inbound_call(session, lead, agent)
    login(client, "agent")
    panel = client.get(f"/calls/{call.id}/panel").get_data(as_text=True)
    assert "王先生您好" in panel and "凯美瑞" in panel and "张晓婷" in panel and "刘强" in panel
    assert "{" not in panel.split('class="script"')[1].split("</section>")[0]
    token = csrf_token(client, "/")
    for step in (3, 5, 2):
        answer = client.post(
            f"/calls/{call.id}/script-step", json={"step": step}, headers={"X-CSRFToken": token}
        )
        assert answer.status_code == 200
    assert answer.get_json()["script_step"] == 5
    bad = client.post(
        f"/calls/{call.id}/script-step", json={"step": 9}, headers={"X-CSRFToken": token}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "field.out_of_range"
    word = client.post(
        f"/calls/{call.id}/script-step", json={"step": "five"}, headers={"X-CSRFToken": token}
    )
    assert word.status_code == 422 and word.get_json()["error"]["code"] == "field.not_integer"
    session.refresh(call)
    assert call.script_step == 5


def test_outcome_needs_a_result_then_books_the_visit(client, session, staff, agent) -> None:
    consultant = staff.user("consultant", "consultant", name="刘强")
    lead = _lead(session)
    call = _inbound_call(session, lead, agent)
    agent.agent_status = AgentStatus.WRAP_UP
    session.commit()
    login(client, "agent")
    visit = (clock.now() + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    form = {
        "call_id": str(call.id),
        "result": "",
        "grade": "H",
        "action": "appointment",
        "appointment_at": visit.strftime("%Y-%m-%dT%H:%M"),
        "consultant": str(consultant.id),
        "lost_reason": "",
    }
    empty = post(client, f"/leads/{lead.id}/outcome", form, follow_redirects=True)
    assert "没有结果的跟进不算完成" in empty.get_data(as_text=True)
    assert session.scalars(select(Appointment)).all() == []
    saved = post(client, f"/leads/{lead.id}/outcome", {**form, "result": "周六来看车"})
    assert saved.status_code == 302
    session.expire_all()
    appointment = session.scalars(select(Appointment)).one()
    assert appointment.consultant_id == consultant.id
    assert session.get(Lead, lead.id).grade.value == "H"
    assert session.get(Lead, lead.id).status.value == "invited"
    assert session.get(Call, call.id).outcome == "周六来看车"
    assert agent.agent_status == AgentStatus.AVAILABLE
    done = [f for f in session.get(Lead, lead.id).follow_ups if f.status == FollowUpStatus.DONE]
    assert [f.result for f in done] == ["周六来看车"]
    tasks = session.scalars(select(OutboxJob.task)).all()
    assert "appointment.sms" in tasks  # the confirmation SMS is on its way


def test_outcome_with_a_lost_request(client, session, agent) -> None:
    lead = _lead(session)
    login(client, "agent")
    form = {"result": "已在别家购车", "grade": "C", "action": "lost", "lost_reason": "competitor"}
    assert post(client, f"/leads/{lead.id}/outcome", form).status_code == 302
    from dcc.leads.models import LostRequest

    assert session.scalars(select(LostRequest)).one().reason.value == "competitor"


def test_reception_registers_an_arrival_by_phone_and_reminds_the_consultant(
    client, session, staff, agent
) -> None:
    clerk = staff.user("clerk", "clerk", password=PASSWORD)
    consultant = staff.user("consultant", "consultant", password=PASSWORD, name="刘强")
    lead = _lead(session)
    lifecycle.book_appointment(
        session, lead, at=clock.now() + dt.timedelta(hours=3), consultant=consultant, actor=agent
    )
    session.commit()
    login(client, "clerk")
    assert client.get("/").headers["Location"].endswith("/reception")
    answer = post(
        client,
        "/reception/arrival",
        {"phone": "+86 138-0013-8000", "consultant": "0", "party_size": "2"},
    )
    assert answer.status_code == 302
    visit = session.scalars(select(ShowroomVisit)).one()
    assert visit.consultant_id == consultant.id and visit.party_size == 2
    assert visit.clerk_id == clerk.id
    note = session.scalars(select(Notification).where(Notification.user_id == consultant.id)).one()
    assert note.kind == "arrival"
    again = post(
        client,
        "/reception/arrival",
        {"phone": "13800138000", "consultant": "0", "party_size": "1"},
        follow_redirects=True,
    )
    assert "没有到店预约" in again.get_data(as_text=True)


def test_walk_ins_and_the_retention_rate(client, session, staff) -> None:
    staff.user("clerk", "clerk", password=PASSWORD)
    consultant = staff.user("consultant", "consultant", name="刘强")
    login(client, "clerk")
    base = {"consultant": str(consultant.id), "party_size": "1", "visit": "first"}
    post(client, "/reception/walk-in", {**base, "phone": "139 1234 5678", "name": "李女士"})
    post(client, "/reception/walk-in", {**base, "phone": ""})
    post(client, "/reception/walk-in", {**base, "phone": "", "visit": "return"})
    visits = session.scalars(select(ShowroomVisit).order_by(ShowroomVisit.id)).all()
    assert [(v.left_contact, v.first_visit) for v in visits] == [
        (True, True),
        (False, True),
        (False, False),
    ]
    lead = session.get(Lead, visits[0].lead_id)
    assert lead.owner_id == consultant.id and lead.channel == Channel.WALK_IN
    page = client.get("/reception").get_data(as_text=True)
    assert 'id="kpi-visits">3<' in page and 'id="kpi-retention">50%<' in page


def test_roles_decide_the_pages(client, staff, agent) -> None:
    login(client, "agent")
    assert client.get("/reception").status_code == 403
    assert client.get("/admin/script").status_code == 403
    assert client.get("/admin/rq/").status_code == 403
    assert "展厅接待" not in client.get("/").get_data(as_text=True)


def test_admin_edits_the_script_as_a_new_version(client, session, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    page = client.get("/admin/script").get_data(as_text=True)
    assert "{customer_name}" in page
    steps = {f"steps-{i}-title": f"第{i + 1}步" for i in range(7)}
    steps.update({f"steps-{i}-text": f"{{customer_name}}您好 {i}" for i in range(7)})
    assert post(client, "/admin/script", steps).status_code == 302

    active = callscripts.active(session)
    assert active is not None and active.steps[0]["title"] == "第1步"
    bad = post(
        client, "/admin/script", {**steps, "steps-0-text": "{unknown}"}, follow_redirects=True
    )
    assert "第 1 步使用了未知的占位符 {unknown}" in bad.get_data(as_text=True)


def test_admin_sees_the_rq_dashboard_and_the_outbox(client, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    assert client.get("/admin/rq/").status_code == 200
    data = client.get("/admin/rq/0/data/queues.json")
    assert data.status_code == 200 and "queues" in data.get_json()
    assert client.get("/admin/jobs").status_code == 200
    # The dashboard's own buttons post with the CSRF token it reads from its cookie.
    assert client.post("/admin/rq/queue/dcc-default/failed/empty").status_code == 400
    cookie = client.get_cookie("_csrf_token", path="/admin/rq")
    assert cookie is not None
    compact = client.post(
        "/admin/rq/queue/dcc-default/failed/empty", headers={"X-CSRFToken": cookie.value}
    )
    assert compact.status_code == 200


def test_voice_token_by_session_or_bearer(app, client, staff, agent) -> None:
    assert client.get("/api/v1/voice/token").status_code == 401
    login(client, "agent")
    missing = client.get("/api/v1/voice/token")
    assert missing.status_code == 404 and "not configured" in missing.get_json()["error"]["message"]
    from dataclasses import replace

    settings = app.extensions["dcc.settings"]
    app.extensions["dcc.settings"] = replace(
        settings,
        twilio_api_key_sid="SK" + "a" * 32,
        twilio_api_key_secret="s" * 32,
        twilio_twiml_app_sid="AP" + "b" * 32,
    )
    body = client.get("/api/v1/voice/token").get_json()
    assert body["identity"] == f"u{agent.id}_agent" and body["ttl"] == 3600
    claims = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[1] + "=="))
    assert claims["grants"]["identity"] == f"u{agent.id}_agent"
    assert claims["grants"]["voice"]["incoming"]["allow"] is True
    other = staff.user("zhang.san", "dcc_agent")
    by_token = client.get("/api/v1/voice/token", headers=staff.token(other))
    identity = by_token.get_json()["identity"]
    assert identity == f"u{other.id}_zhang_san"
    # The hotline rings that identity, and a call to it leads back to the user.
    from dcc.calls import routing

    assert routing.agent_endpoint(other, softphone=True) == f"client:{identity}"
    assert routing.agent_for_endpoint(staff.session, f"client:{identity}").id == other.id


def test_logout_takes_the_agent_offline(client, session, agent) -> None:
    agent.agent_status = AgentStatus.AVAILABLE
    session.commit()
    login(client, "agent")
    assert post(client, "/logout").status_code == 302
    session.refresh(agent)
    assert agent.agent_status == AgentStatus.OFFLINE
    assert client.get("/").status_code == 302


def test_a_refused_callback_call_leaves_the_callback_owed(
    app, client, session, agent, telephony
) -> None:
    from telephony import TelephonyError

    def refuse(**_request: object) -> str:
        raise TelephonyError("provider down")

    telephony.place_bridged_call = refuse
    lead = _lead(session)
    callback = Callback(lead_id=lead.id, owner_id=agent.id, reason="scheduled", due_at=clock.now())
    session.add(callback)
    session.commit()
    login(client, "agent")
    answer = post(client, f"/callbacks/{callback.id}/take", follow_redirects=True)
    assert "provider down" in answer.get_data(as_text=True)
    session.refresh(callback)
    assert callback.status == CallbackStatus.PENDING and callback.placed_call_id is None
    failed = session.scalars(select(Call)).one()
    assert failed.status == CallStatus.FAILED  # the attempt stays on record


def test_an_unknown_caller_gets_a_new_customer_form(client, session, agent) -> None:
    call = Call(
        agent_id=agent.id,
        direction=CallDirection.INBOUND,
        leg="customer",
        status=CallStatus.IN_PROGRESS,
        sid="CA" + "5" * 32,
    )
    session.add(call)
    session.commit()
    login(client, "agent")
    panel = client.get(f"/calls/{call.id}/panel").get_data(as_text=True)
    assert "新建客户" in panel and "{" not in panel.split('class="script"')[1]
    answer = post(
        client,
        f"/calls/{call.id}/customer",
        {"name": "赵女士", "phone": "139 0000 1234", "series": "RAV4"},
    )
    assert answer.status_code == 302 and f"call={call.id}" in answer.headers["Location"]
    session.refresh(call)
    lead = session.get(Lead, call.lead_id)
    assert lead.customer.name == "赵女士" and lead.owner_id == agent.id


def test_next_follow_up_is_the_rule_unless_the_agent_changed_it(client, session, agent) -> None:
    lead = _lead(session)
    login(client, "agent")
    shown = (clock.now() + dt.timedelta(days=9)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    form = {
        "result": "再联系",
        "grade": "B",
        "action": "none",
        "lost_reason": "",
        "next_due_at": shown.strftime("%Y-%m-%dT%H:%M"),
        "next_due_custom": "0",
    }
    assert post(client, f"/leads/{lead.id}/outcome", form).status_code == 302
    session.expire_all()
    planned = [f for f in session.get(Lead, lead.id).follow_ups if f.status.value == "open"]
    assert len(planned) == 1 and planned[0].by_rule  # grade B's 14 days, not the preview
    form.update(result="改约", next_due_custom="1")
    assert post(client, f"/leads/{lead.id}/outcome", form).status_code == 302
    session.expire_all()
    planned = [f for f in session.get(Lead, lead.id).follow_ups if f.status.value == "open"]
    assert len(planned) == 1 and not planned[0].by_rule
    assert abs(planned[0].due_at - shown) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("api_key", ["", "SK" + "1" * 32])
def test_the_softphone_is_on_the_page_when_agents_are_rung_in_the_browser(
    app, client, staff, agent, api_key
) -> None:
    """With a Twilio API key the hotline rings ``client:<identity>``: every page of someone
    who takes calls carries the softphone; without one, nothing of it is loaded."""
    import dataclasses

    app.extensions["dcc.settings"] = dataclasses.replace(
        app.extensions["dcc.settings"], twilio_api_key_sid=api_key, twilio_api_key_secret="s" * 32
    )
    login(client, "agent")
    page = client.get("/").get_data(as_text=True)
    assert ('id="softphone"' in page) is bool(api_key)
    assert ("twilio-voice-sdk" in page) is bool(api_key)
    if api_key:
        assert 'data-token-url="/api/v1/voice/token"' in page
        token = client.get("/api/v1/voice/token")
        assert token.status_code == 200 and token.get_json()["token"]
        sdk_path = re.search(r'src="([^"]*twilio-voice-sdk[^"]*)"', page)
        assert sdk_path is not None
        sdk = client.get(sdk_path.group(1))  # the vendored SDK is served
        assert sdk.status_code == 200 and b"Twilio.Device" in sdk.data
    staff.user("clerk", "clerk", password=PASSWORD)
    login(client, "clerk")
    assert 'id="softphone"' not in client.get("/reception").get_data(as_text=True)


def test_each_script_variant_is_edited_as_a_new_version_keeping_the_others(
    client, session, staff
) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    page = client.get("/admin/script?variant=confirmation").get_data(as_text=True)
    assert "预约确认" in page and "{appointment_time}" in page
    steps = {
        "variant": "confirmation",
        "steps-0-title": "确认",
        "steps-0-text": "{appointment_time}见",
    }
    assert post(client, "/admin/script", steps).status_code == 302
    first = callscripts.active(session)
    assert callscripts.steps_of(first, "confirmation")[0]["text"] == "{appointment_time}见"
    follow = {"variant": "follow_up", "steps-0-title": "回访", "steps-0-text": "{customer_name}好"}
    assert post(client, "/admin/script", follow).status_code == 302
    session.expire_all()
    second = callscripts.active(session)
    assert second.version == first.version + 1
    assert callscripts.steps_of(second, "confirmation")[0]["text"] == "{appointment_time}见"
    assert callscripts.steps_of(second, "follow_up")[0]["text"] == "{customer_name}好"
    # A refused save shows the page again with what was typed.
    bad = {"variant": "no_show", "steps-0-title": "再邀", "steps-0-text": "{nope}请再来"}
    answer = post(client, "/admin/script", bad)
    assert answer.status_code == 200 and "{nope}请再来" in answer.get_data(as_text=True)
    assert client.get("/admin/script?variant=nope").status_code == 404


def test_admin_keeps_the_list_of_offers_the_scripts_mention(client, session, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    assert client.get("/admin/offers").status_code == 200
    bad = {"title": "试驾会", "starts_on": "2026-12-05", "ends_on": "2026-12-01"}
    answer = post(client, "/admin/offers", bad)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "结束日期不能早于开始日期" in page
    assert 'value="试驾会"' in page  # what was typed stays
    good = {**bad, "ends_on": "2026-12-06"}
    assert post(client, "/admin/offers", good).status_code == 302
    offer = session.scalars(select(Offer)).one()
    assert (offer.title, offer.ends_on) == ("试驾会", dt.date(2026, 12, 6))
    assert post(client, f"/admin/offers/{offer.id}/end").status_code == 302
    session.refresh(offer)
    assert not offer.is_active


def test_each_role_lands_on_its_own_home(client, session, staff) -> None:
    homes = {
        "dcc_agent": "/",
        "consultant": "/",
        "clerk": "/reception",
        "supervisor": "/wallboard",
        "manager": "/manager/escalations",
        "admin": "/admin/users",
    }
    for role, home in homes.items():
        staff.user(role, role, password=PASSWORD)
        token = csrf_token(client)
        answer = client.post(
            "/login", data={"login": role, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.headers["Location"] == home, role
        page = client.get("/").get_data(as_text=True)
        assert ('id="my-status"' in page) == (role == "dcc_agent"), role  # who takes calls
        post(client, "/logout")


def test_a_consultant_reads_the_numbers_of_their_own_leads(client, session, staff) -> None:
    consultant = staff.user("consultant", "consultant", password=PASSWORD, name="刘强")
    lead = _lead(session)
    login(client, "consultant")
    lead.owner_id = consultant.id
    session.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    at = page.find("138****8000")
    assert at < 0, page[at - 300 : at + 50]
    assert "13800138000" in page
    assert client.get(f"/api/v1/customers/{lead.customer_id}").status_code in (200, 404)


def test_a_walk_in_does_not_tell_the_consultant_to_call_the_customer_they_serve(
    session, staff
) -> None:
    consultant = staff.user("consultant", "consultant", name="刘强")
    lead = intake.receive(
        session,
        intake.LeadInput(
            phone="13800138000", channel=Channel.WALK_IN, name="王先生", owner_id=consultant.id
        ),
    ).lead
    assert tasks.first_contact(session, lead_id=lead.id) == "served in the showroom"
    assert session.scalars(select(Notification)).all() == []


def test_refused_forms_keep_what_was_typed(client, session, staff, agent) -> None:
    lead = _lead(session)
    login(client, "agent")
    typed = {"result": "客户说再考虑", "grade": "B", "action": "lost", "lost_reason": ""}
    answer = post(client, f"/leads/{lead.id}/outcome", typed)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'class="flash error' in page
    assert "客户说再考虑" in page
    assert re.search(r'<option selected value="B">|<option value="B" selected>', page)
    assert re.search(r'value="lost"[^>]*checked|checked[^>]*value="lost"', page)
    post(client, "/logout")

    staff.user("clerk", "clerk", password=PASSWORD)
    login(client, "clerk")
    walk_in = {"name": "钱女士", "phone": "12345", "party_size": "2", "consultant": ""}
    answer = post(client, "/reception/walk-in", walk_in)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'value="钱女士"' in page


def test_durations_read_in_minutes_and_seconds_and_pages_have_an_icon(client, agent) -> None:
    login(client, "agent")
    with client.application.test_request_context():
        assert web_reports.duration(267) == "4分27秒"
        assert web_reports.duration(3723) == "1小时2分"
    post(client, "/locale/en", {"next": "/"})
    with client.application.test_request_context():
        flask_session["locale"] = "en"
        assert web_reports.duration(267) == "4 min 27 s"
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    assert client.get("/static/favicon.svg").status_code == 200


def test_an_agent_behind_on_follow_ups_sees_the_hottest_first_and_how_many_more(
    client, session, agent
) -> None:
    now = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    with clock.frozen(now - dt.timedelta(days=3)):
        leads = [
            _lead(session, phone=f"138001{n:05d}") for n in range(worklist.FOLLOW_UPS_SHOWN + 3)
        ]
    hot = leads[-3:]
    for n, lead in enumerate(leads):
        lead.owner_id, lead.status = agent.id, lifecycle.S.CONTACTING
        lead.grade = Grade.H if lead in hot else Grade.C
        # The hot ones fell due last: grade, not age, puts them on top.
        (planned,) = followups.open_follow_ups(session, lead)
        planned.due_at = now - dt.timedelta(hours=60 - n)
    session.commit()
    with clock.frozen(now):
        work = worklist.build(session, agent, timezone="Asia/Shanghai")
        login(client, "agent")
        page = client.get("/").get_data(as_text=True)
    follow_ups = [item for item in work.items if item.kind == "follow_up"]
    assert len(follow_ups) == worklist.FOLLOW_UPS_SHOWN
    assert [item.lead.id for item in follow_ups[:3]] == [lead.id for lead in hot]
    assert work.more_follow_ups == 3
    assert work.due_count == len(work.items) + 3
    assert "另有 3 条到期回访" in page
    assert f"<small>({work.due_count})</small>" in page


def test_call_the_next_one_calls_the_most_urgent_item_then_says_nothing_is_due(
    app, client, session, staff, agent, telephony
) -> None:
    settings = app.extensions["dcc.settings"]
    now = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    with clock.frozen(now - dt.timedelta(days=2)):
        followed = _lead(session, phone="13800138001")
        followed.status, followed.grade = lifecycle.S.CONTACTING, Grade.H
        (planned,) = followups.open_follow_ups(session, followed)
        planned.due_at = now - dt.timedelta(hours=1)
        session.commit()
    with clock.frozen(now - dt.timedelta(minutes=10)):
        fresh = _lead(session, phone="13800138002")
    with clock.frozen(now):
        first = worklist.next_due(session, agent, settings=settings)
        assert first.lead.id == fresh.id  # a new lead comes first
        login(client, "agent")
        answer = post(client, "/next")
        assert answer.status_code == 302 and "call=" in answer.headers["Location"]
        assert [c["customer"] for c in telephony.calls] == ["+8613800138002"]
        fresh.status = lifecycle.S.CONTACTING  # called: no longer new, next contact tomorrow
        for later in followups.open_follow_ups(session, fresh):
            later.due_at = now + dt.timedelta(days=1)
        session.commit()
        # Nobody else is ready for the hotline: the follow-up waits, and the page says why.
        assert worklist.next_due(session, agent, settings=settings) is None
        page = post(client, "/next", follow_redirects=True).get_data(as_text=True)
        assert "其他坐席都不空闲" in page and len(telephony.calls) == 1
        mate = staff.user("mate", "dcc_agent", phone="13900000002")
        mate.agent_status = AgentStatus.AVAILABLE
        session.commit()
        item = worklist.next_due(session, agent, settings=settings)
        assert item.kind == "follow_up" and item.lead.id == followed.id
        assert worklist.next_due(session, agent, settings=settings, follow_ups=False) is None
        # A customer who asked not to be called is never the next one: the one after is.
        followed.customer.do_not_call = True
        (later,) = followups.open_follow_ups(session, fresh)
        later.due_at = now - dt.timedelta(minutes=5)
        session.commit()
        assert worklist.next_due(session, agent, settings=settings).lead.id == fresh.id
        followed.customer.do_not_call = False
        later.due_at = now + dt.timedelta(days=1)
        session.commit()
        planned.status = FollowUpStatus.DONE
        session.commit()
        page = post(client, "/next", follow_redirects=True).get_data(as_text=True)
    assert "现在没有到期的工作" in page
    assert len(telephony.calls) == 1
