"""The agent's screen follows every call: a pop for calls the system places, the capture of
an unknown caller from the panel, a panel that survives a reload, and a live worklist.

Each test drives Chromium against the app served over HTTP, with the telephony simulator
playing Twilio and the queued work run as the sweeper and RQ would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select
from web_support import (
    AGENT_PHONE,
    BROWSER_PASSWORD,
    CUSTOMER,
    HOTLINE,
    PORTAL_SECRET,
    auto_dial_portal,
    available_agent,
    sign_in,
)

from dcc import clock
from dcc.calls.models import Call
from dcc.jobs import outbox, runner
from dcc.jobs.models import OutboxJob
from dcc.leads import callbacks, intake, sources
from dcc.leads.models import Channel, Grade, Lead
from dcc.users import service as users
from dcc.users.models import AgentStatus

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect
Page = Any
SECRET = PORTAL_SECRET


def _agent_page(open_page: Any) -> Page:
    page = sign_in(open_page("/login"), "agent", BROWSER_PASSWORD)
    expect(page.locator("body")).to_have_attribute("data-stream", "open", timeout=10_000)
    return page


def _post_web_lead(live: Any, body: dict[str, str]) -> None:
    """The source's webhook delivers the lead over HTTP, as the portal would."""
    raw = json.dumps(body).encode()
    signature = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        live.base_url + "/webhooks/leads/autohome",
        data=raw,
        headers={"Content-Type": "application/json", "X-DCC-Signature": f"sha256={signature}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201


def _run_jobs(live: Any) -> None:
    """Run the work due now as the sweeper and a worker would: each job in its own session,
    none held open meanwhile (SQLite lets one writer in at a time)."""
    ran: set[int] = set()
    while True:
        with live.session() as session:
            due = set(session.scalars(select(OutboxJob.id).where(*outbox.open_work())).all())
            due -= ran
            due = {i for i in due if session.get_one(OutboxJob, i).run_at <= clock.now()}
        if not due:
            return
        for outbox_id in sorted(due):
            ran.add(outbox_id)
            runner.run(outbox_id)


def test_speed_to_lead_and_a_callback_each_pop_the_panel_with_their_script(
    open_page, live, artifacts
) -> None:
    with live.session() as session:
        available_agent(session)
        auto_dial_portal(session)
        session.commit()
    agent = _agent_page(open_page)
    live.sim.set_behaviour(AGENT_PHONE, answer_after=1, hangup_after=3)

    # Speed-to-lead: a new web lead is dialled at once, and the panel opens by itself.
    _post_web_lead(live, {"phone": "138 0013 8000", "name": "王先生", "series": "凯美瑞"})
    _run_jobs(live)
    pop = agent.locator("#pop .call-panel")
    expect(pop).to_have_attribute("data-variant", "new_lead", timeout=15_000)
    expect(pop.locator(".customer-name")).to_have_text("王先生")
    expect(pop.locator(".script")).to_contain_text("刚在汽车之家咨询了凯美瑞")
    agent.screenshot(path=str(artifacts / "1-auto-dial-pop.png"))
    live.sim.wait_idle(timeout=30)

    # A callback owed to a customer already spoken with: the follow-up wording. (The agent
    # is ready again, as after saving the first call's outcome.)
    with live.session() as session:
        users.get_by_login(session, "agent").agent_status = AgentStatus.AVAILABLE
        result = intake.receive(
            session,
            intake.LeadInput(
                phone="139 0013 9000", channel=Channel.HOTLINE, name="李女士", series="汉兰达"
            ),
        )
        lead = session.get_one(Lead, result.lead_id)
        lead.first_response_at = clock.now() - dt.timedelta(days=2)
        lead.grade = Grade.B
        callbacks.owe(session, lead, reason="missed_call", due_at=clock.now())
        session.commit()
    agent.locator("[data-close-pop]").click()
    _run_jobs(live)
    expect(pop).to_have_attribute("data-variant", "follow_up", timeout=15_000)
    expect(pop.locator(".customer-name")).to_have_text("李女士")
    expect(pop.locator(".script")).to_contain_text("回访")
    expect(pop.locator(".script")).to_contain_text("汉兰达")
    agent.screenshot(path=str(artifacts / "2-callback-pop.png"))
    with live.session() as session:
        variants = session.scalars(
            select(Call.script_variant).where(Call.agent_id.is_not(None)).order_by(Call.id)
        ).all()
        assert variants[:1] == ["new_lead"] and "follow_up" in variants


def test_an_unknown_hotline_caller_is_captured_from_the_panel(open_page, live, artifacts) -> None:
    with live.session() as session:
        available_agent(session)
        session.commit()
    agent = _agent_page(open_page)
    live.sim.set_behaviour(AGENT_PHONE, answer_after=1, press="1", hangup_after=90)
    live.sim.originate_inbound(CUSTOMER, HOTLINE)

    pop = agent.locator("#pop .call-panel")
    expect(pop).to_have_attribute("data-variant", "inbound_first", timeout=15_000)
    script = pop.locator(".script")
    assert "—" not in script.inner_text(), "an unknown value reads as a dash"
    form = pop.locator("form.capture")
    form.locator('[name="name"]').fill("赵")
    form.locator('[name="title"]').select_option("先生")
    form.locator('[name="series"]').fill("汉兰达")
    form.locator('[name="timeframe"]').fill("一个月内")
    form.locator('[name="city"]').fill("杭州")
    form.locator("button").click()

    expect(pop.locator(".customer-name")).to_have_text("赵先生", timeout=10_000)
    expect(pop.locator(".script")).to_contain_text("汉兰达")
    agent.screenshot(path=str(artifacts / "1-captured.png"))
    with live.session() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.customer.name, lead.series, lead.customer.city) == ("赵先生", "汉兰达", "杭州")
        assert lead.grade == Grade.A
        lead_id = lead.id
    agent.goto(f"{live.base_url}/leads/{lead_id}")
    expect(agent.locator("main")).to_contain_text("赵先生")
    expect(agent.locator("main")).to_contain_text("汉兰达")


def _known_caller(live: Any) -> int:
    with live.session() as session:
        available_agent(session)
        result = intake.receive(
            session,
            intake.LeadInput(
                phone="138 0013 8000", channel=Channel.PORTAL, name="王先生", series="凯美瑞"
            ),
        )
        session.commit()
        return result.lead_id


def test_a_reload_keeps_the_panel_and_an_ended_call_waits_for_its_outcome(
    open_page, live, artifacts
) -> None:
    lead_id = _known_caller(live)
    agent = _agent_page(open_page)
    live.sim.set_behaviour(AGENT_PHONE, answer_after=1, press="1", hangup_after=100_000)
    live.sim.originate_inbound(CUSTOMER, HOTLINE)
    pop = agent.locator("#pop .call-panel")
    expect(pop.locator('.leg[data-leg="agent"] b')).to_have_attribute(
        "data-status", "in-progress", timeout=15_000
    )
    call_id = pop.get_attribute("data-call-id")

    # A reload, then another page: the panel of the call in progress comes back each time.
    agent.reload()
    expect(pop).to_have_attribute("data-call-id", call_id)
    expect(pop.locator(".customer-name")).to_have_text("王先生")
    agent.goto(f"{live.base_url}/leads/{lead_id}")
    expect(pop).to_have_attribute("data-call-id", call_id)
    agent.screenshot(path=str(artifacts / "1-panel-after-navigation.png"))

    # The customer hangs up: the worklist shows the call awaiting its outcome, first.
    with live.session() as session:
        sid = session.get_one(Call, int(call_id)).sid
    live.app.extensions["dcc.telephony"].end_call(sid)
    expect(pop.locator('.leg[data-leg="customer"] b')).to_have_attribute(
        "data-status", "completed", timeout=15_000
    )
    agent.goto(live.base_url + "/")
    awaiting = agent.locator(f'#awaiting tr[data-call-id="{call_id}"]')
    expect(awaiting).to_contain_text("王先生")
    agent.screenshot(path=str(artifacts / "2-awaiting-outcome.png"))
    agent.reload()
    expect(awaiting).to_be_visible()

    # Its outcome saved from the panel, the call no longer waits.
    awaiting.locator("a.button").click()
    outcome = pop.locator("form.outcome")
    outcome.locator('[name="result"]').fill("客户考虑中，下周再联系")
    outcome.locator("button[type=submit]").click()
    expect(agent.locator(".flash.info")).to_be_visible()
    agent.goto(live.base_url + "/")
    expect(agent.locator("#awaiting")).to_have_count(0)
    with live.session() as session:
        assert session.get_one(Call, int(call_id)).outcome == "客户考虑中，下周再联系"


def test_a_new_web_lead_appears_as_a_worklist_row_without_reload(open_page, live, artifacts):
    with live.session() as session:
        available_agent(session).agent_status = AgentStatus.AWAY  # no auto-dial: a row
        sources.create(session, slug="autohome", name="汽车之家", channel="portal", secret=SECRET)
        session.commit()
    agent = _agent_page(open_page)
    _post_web_lead(live, {"phone": "137 0013 7000", "name": "孙女士", "series": "RAV4荣放"})
    _run_jobs(live)
    row = agent.locator("#worklist tr.new_lead")
    expect(row).to_contain_text("孙女士", timeout=10_000)
    expect(row).to_contain_text("RAV4荣放")
    expect(row.locator(".timer")).to_be_visible()
    toast = agent.locator('#toasts .toast[data-kind="new_lead"]')
    expect(toast).to_contain_text("孙女士")
    agent.screenshot(path=str(artifacts / "1-live-row.png"))
