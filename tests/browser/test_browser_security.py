"""The pages under the security headers in a real browser: nothing they use is blocked by the
content security policy, the language switch (now a form) works, and a form that asks first
still asks."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import BROWSER_PASSWORD, CUSTOMER, available_agent, sign_in

from dcc import reports
from dcc.leads import intake, sources
from dcc.leads.models import Channel
from dcc.users import service as users

SECRET = "browser-portal-secret-0123456789"
expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

#: Collects what the browser's content security policy blocked, on every page of the context.
WATCH_THE_POLICY = """
window.__blocked = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__blocked.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _seed(live: Any) -> int:
    with live.session() as session:
        agent = available_agent(session)
        users.create_user(session, login="admin", role="admin", password=BROWSER_PASSWORD)
        lead = intake.receive(
            session,
            intake.LeadInput(
                phone=CUSTOMER, channel=Channel.PORTAL, name="王先生", owner_id=agent.id
            ),
        ).lead
        sources.create(session, slug="autohome", name="汽车之家", channel="portal", secret=SECRET)
        session.commit()
        return lead.id


def _blocked(page: Any) -> list[str]:
    return list(page.evaluate("window.__blocked"))


def test_no_page_trips_the_content_security_policy(open_page, live, artifacts) -> None:
    lead_id = _seed(live)
    agent = sign_in(open_page("/login", init_script=WATCH_THE_POLICY), "agent")
    for path in ("/", f"/leads/{lead_id}"):
        agent.goto(live.base_url + path)
        agent.wait_for_load_state("networkidle")
        expect(agent.locator("body")).to_have_attribute("data-stream", "open", timeout=10_000)
        assert _blocked(agent) == [], path
    admin = sign_in(open_page("/login", init_script=WATCH_THE_POLICY), "admin")
    report = next(iter(reports.REPORTS))
    for path in (
        "/",
        "/wallboard",
        "/manager/customers",
        "/reports",
        f"/reports/{report}",
        "/reception",
        "/admin/sources",
        "/admin/script",
        "/admin/jobs",
    ):
        admin.goto(live.base_url + path)
        admin.wait_for_load_state("networkidle")
        assert _blocked(admin) == [], path
    admin.goto(live.base_url + "/wallboard")
    expect(admin.locator("body")).to_have_attribute("data-stream", "open", timeout=10_000)
    admin.screenshot(path=str(artifacts / "wallboard-under-the-policy.png"))


def test_the_language_switch_and_a_confirmation_work_without_inline_script(
    open_page, live, artifacts
) -> None:
    _seed(live)
    admin = sign_in(open_page("/login", init_script=WATCH_THE_POLICY), "admin")
    admin.goto(live.base_url + "/admin/sources")
    admin.get_by_role("button", name="English").click()
    admin.wait_for_load_state()
    assert admin.url.endswith("/admin/sources")  # back on the page it was switched from
    expect(admin.locator(".topbar nav")).to_contain_text("Lead sources")

    rotate = admin.locator("form[data-confirm] button")
    asked: list[str] = []
    admin.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    rotate.first.click()
    admin.wait_for_timeout(300)
    assert asked and "Rotate?" in asked[0]
    with live.session() as session:  # dismissed: the secret is the one it was
        assert sources.get_by_slug(session, "autohome").secret == SECRET
    assert _blocked(admin) == []
    admin.screenshot(path=str(artifacts / "sources-in-english.png"))
