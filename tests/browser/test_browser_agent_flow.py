"""The agent's day in a real browser: screen pop, script, appointment, arrival, reminder.

Three people in three browser contexts against the app served over HTTP, with the telephony
simulator playing Twilio: an inbound call pops the caller's record on the agent's screen with
the filled 7-step script; the agent ticks steps and books a visit; the clerk registers the
arrival; the consultant's screen shows the arrival reminder live.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from web_support import AGENT_PHONE, BROWSER_PASSWORD, CUSTOMER, HOTLINE, available_agent, sign_in

from dcc.calls.models import Call
from dcc.leads import intake
from dcc.leads.models import Channel
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.users import service as users
from dcc.users.models import AgentStatus

# A machine without Playwright (no dev extras) skips instead of failing to collect.
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect
Page = Any
PASSWORD = BROWSER_PASSWORD


def _seed(live: Any) -> None:
    with live.session() as session:
        available_agent(session)
        users.create_user(session, login="clerk", role="clerk", name="周敏", password=PASSWORD)
        users.create_user(
            session,
            login="consultant",
            role="consultant",
            name="刘强",
            password=PASSWORD,
            phone="+8613900000011",
        )
        intake.receive(
            session,
            intake.LeadInput(
                phone="138 0013 8000",
                channel=Channel.PORTAL,
                name="王先生",
                series="凯美瑞",
                model="凯美瑞 2.0G",
                purchase_timeframe="一个月内",
            ),
        )
        session.commit()


def _login(open_page: Any, login: str) -> Page:
    return sign_in(open_page("/login"), login, PASSWORD)


def _stream_open(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-stream", "open", timeout=10_000)


def test_inbound_pop_script_appointment_arrival_and_reminder(open_page, live, artifacts) -> None:
    _seed(live)
    agent = _login(open_page, "agent")
    consultant = _login(open_page, "consultant")
    _stream_open(agent)
    _stream_open(consultant)

    # The customer calls the hotline; the agent's phone answers (scripted in the simulator).
    live.sim.set_behaviour(AGENT_PHONE, answer_after=1, press="1", hangup_after=90)
    live.sim.originate_inbound(CUSTOMER, HOTLINE)

    pop = agent.locator("#pop .call-panel")
    expect(pop.locator(".customer-name")).to_have_text("王先生", timeout=15_000)
    script = pop.locator(".script")
    expect(script).to_contain_text("王先生您好")
    expect(script).to_contain_text("凯美瑞 2.0G")
    expect(script).to_contain_text("张晓婷")
    expect(script).to_contain_text("刘强")
    assert not re.search(r"\{\w+\}", script.inner_text()), "a placeholder was left unfilled"
    agent.screenshot(path=str(artifacts / "1-screen-pop.png"))

    # The agent works through the script up to the ask for a visit.
    script.locator('input[data-step="5"]').check()
    expect(script.locator(".reached b")).to_have_text("5")
    expect(pop.locator('.leg[data-leg="customer"] b')).to_have_attribute(
        "data-status", "completed", timeout=15_000
    )

    # Wrap-up: result, and a visit in the first offered slot with the offered consultant.
    outcome = pop.locator("form.outcome")
    outcome.locator('[name="result"]').fill("周六上午来店试驾")
    outcome.locator('input[name="action"][value="appointment"]').check()
    expect(outcome.locator('[name="appointment_at"]')).not_to_have_value("")
    agent.screenshot(path=str(artifacts / "2-wrap-up.png"))
    outcome.locator("button[type=submit]").click()
    expect(agent.locator(".flash.info")).to_contain_text("到店邀约已登记")
    expect(agent.locator("#lead-appointments")).to_contain_text("刘强")
    agent.screenshot(path=str(artifacts / "3-lead-after-booking.png"))

    # The customer arrives; the clerk finds the visit by phone in another format.
    clerk = _login(open_page, "clerk")
    clerk.fill("#arrival-form [name=phone]", "+86 138-0013-8000")
    clerk.click("#arrival-form button")
    expect(clerk.locator(".flash.info")).to_contain_text("刘强")
    expect(clerk.locator("#traffic")).to_contain_text("王先生")
    clerk.screenshot(path=str(artifacts / "4-reception.png"))

    # The consultant, on the worklist all along, gets the reminder without reloading.
    toast = consultant.locator('#toasts .toast[data-kind="arrival"]')
    expect(toast).to_contain_text("客户已到店：王先生", timeout=10_000)
    consultant.screenshot(path=str(artifacts / "5-consultant-reminder.png"))

    with live.session() as session:
        call = session.scalars(
            select(Call).where(Call.agent_id.is_not(None), Call.leg == "customer")
        ).one()
        assert call.script_step == 5 and call.outcome == "周六上午来店试驾"
        appointment = session.scalars(select(Appointment)).one()
        assert appointment.status.value == "arrived"
        assert session.scalars(select(ShowroomVisit)).one().party_size == 1
        agent_row = users.get_by_login(session, "agent")
        assert agent_row.agent_status == AgentStatus.AVAILABLE
