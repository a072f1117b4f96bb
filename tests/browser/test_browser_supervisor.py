"""Supervisors and managers in a real browser: the live wallboard follows a hotline call; a
manager downloads Excel exports; an agent is refused them.

The app is served over HTTP with the telephony simulator playing Twilio (the ``live``
fixture); the wallboard's publisher runs as it does in production, in the web process.
"""

from __future__ import annotations

from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from web_support import AGENT_PHONE, BROWSER_PASSWORD, CUSTOMER, HOTLINE, available_agent, sign_in

from dcc import wallboard
from dcc.audit import AuditEntry
from dcc.broker import get_broker
from dcc.leads import intake
from dcc.leads.models import Channel
from dcc.users import service as users

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect
Page = Any
PASSWORD = BROWSER_PASSWORD


def _seed(live: Any) -> int:
    """A supervisor, a manager, an available agent with a customer; returns the agent's id."""
    with live.session() as session:
        agent = available_agent(session)
        users.create_user(session, login="sup", role="supervisor", name="陈主管", password=PASSWORD)
        users.create_user(session, login="boss", role="manager", name="赵经理", password=PASSWORD)
        intake.receive(
            session,
            intake.LeadInput(
                phone=CUSTOMER, channel=Channel.PORTAL, name="王先生", series="凯美瑞"
            ),
        )
        session.commit()
        return agent.id


def _login(open_page: Any, login: str) -> Page:
    return sign_in(open_page("/login"), login, PASSWORD)


def _exports(live: Any) -> list[AuditEntry]:
    with live.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("export.%"))))


def test_the_wallboard_follows_a_hotline_call(open_page, live, artifacts) -> None:
    agent_id = _seed(live)
    redis = get_broker(live.app).connection
    redis.delete(wallboard.LAST, wallboard.LEADER, wallboard.VIEWERS)  # no earlier test's figures
    try:
        board = _login(open_page, "sup")
        board.goto(live.base_url + "/wallboard")
        expect(board.locator("body")).to_have_attribute("data-stream", "open", timeout=10_000)
        row = board.locator(f'#wb-agents tr[data-agent-id="{agent_id}"]')
        expect(row.locator(".who")).to_contain_text("张晓婷", timeout=10_000)
        expect(row.locator(".calls")).to_have_text("0")
        expect(board.locator("#wb-calls")).to_have_text("0")
        board.screenshot(path=str(artifacts / "1-wallboard-idle.png"))

        # A customer calls the hotline; the agent's phone answers and stays on the line.
        live.sim.set_behaviour(AGENT_PHONE, answer_after=1, press="1", hangup_after=100_000)
        sid = live.sim.originate_inbound(CUSTOMER, HOTLINE)
        expect(row).to_have_class("talking", timeout=15_000)
        expect(row.locator(".call")).to_have_text("通话中")
        expect(board.locator("#wb-calls")).to_have_text("1")
        expect(row.locator(".status")).to_have_attribute("data-status", "on_call")
        board.screenshot(path=str(artifacts / "2-wallboard-on-call.png"))

        # The customer hangs up: the call leaves the board and counts in the agent's day.
        live.sim.end_call(sid)
        expect(board.locator("#wb-calls")).to_have_text("0", timeout=15_000)
        expect(row).not_to_have_class("talking")
        expect(row.locator(".call")).to_have_text("—")
        expect(row.locator(".calls")).to_have_text("1")
        expect(row.locator(".connects")).to_have_text("1")
        board.screenshot(path=str(artifacts / "3-wallboard-after-call.png"))
    finally:
        live.app.extensions["dcc.wallboard"].stop()


def test_a_manager_downloads_excel_exports(open_page, live, artifacts, tmp_path) -> None:
    _seed(live)
    boss = _login(open_page, "boss")
    boss.goto(live.base_url + "/manager/customers")
    expect(boss.locator("#customers")).to_contain_text("王先生")
    boss.screenshot(path=str(artifacts / "1-customer-list.png"))
    with boss.expect_download() as info:
        boss.click("#export-customers")
    saved = tmp_path / "customers.xlsx"
    info.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("客户编号", "客户姓名", "联系电话")
    assert rows[1][1:3] == ("王先生", CUSTOMER)

    boss.goto(live.base_url + "/reports/funnel")
    expect(boss.locator("#report-table")).to_be_visible()
    boss.screenshot(path=str(artifacts / "2-report.png"), full_page=True)
    with boss.expect_download() as info:
        boss.click("#export-report")
    assert info.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "report.xlsx"
    info.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    header = next(book.worksheets[0].iter_rows(values_only=True))
    assert "线索量" in header
    assert [e.action for e in _exports(live)] == ["export.customers", "export.report"]


def test_an_agent_is_refused_the_exports(open_page, live, artifacts) -> None:
    _seed(live)
    agent = _login(open_page, "agent")
    expect(agent.locator("nav")).not_to_contain_text("报表")
    for path in ("/api/v1/customers/export.xlsx", "/api/v1/reports/funnel.xlsx"):
        answer = agent.request.get(live.base_url + path)
        assert answer.status == 403, path
        assert answer.headers["content-type"].startswith("application/json")
    page = agent.goto(live.base_url + "/manager/customers")
    assert page is not None and page.status == 403
    agent.screenshot(path=str(artifacts / "1-agent-refused.png"))
    assert _exports(live) == []
