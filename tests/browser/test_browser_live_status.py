"""The page while live updates cannot flow: it says so, keeps working, and reconnects by itself
once Redis is back."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import available_agent, sign_in

from dcc.broker import Broker, get_broker

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect


def test_the_page_says_live_updates_are_paused_and_reconnects(open_page, live, artifacts) -> None:
    with live.session() as session:
        available_agent(session)
        session.commit()
    working = get_broker(live.app)
    # Redis away: nothing listens on port 1, so /stream answers 503.
    live.app.extensions["dcc.broker"] = Broker("redis://127.0.0.1:1/0", "")
    try:
        page: Any = sign_in(open_page("/login"), "agent")
        body = page.locator("body")
        status = page.locator("#live-status")
        expect(body).to_have_attribute("data-stream", "paused", timeout=10_000)
        expect(status).to_be_visible()
        expect(status).to_contain_text("实时更新已暂停")
        expect(page.locator("h1, h2").first).to_be_visible()  # the worklist itself is there
        page.screenshot(path=str(artifacts / "1-live-updates-paused.png"))
    finally:
        live.app.extensions["dcc.broker"] = working
    # Redis is back: the next try opens the stream, and the notice goes away.
    expect(body).to_have_attribute("data-stream", "open", timeout=20_000)
    expect(status).to_be_hidden()
    page.screenshot(path=str(artifacts / "2-live-updates-back.png"))
