"""One language per page: every page, for every role, in Chinese and in English, with data.

Each page is rendered with a seeded dealership (leads, a visit, a lost request, a callback, a
call, sources, users) and read as a person would: its text, its titles and placeholders.
The dealership's own data (names, models, the script's wording) is taken out first, as is
anything marked ``translate="no"``; what remains must be in the page's language: no Chinese
on an English page, no English words on a Chinese page.
"""

from __future__ import annotations

from typing import Any

import pytest
from language_support import DATA, ROLES, pages, readable, seed_dealership, wrong_language
from web_support import PASSWORD, login, post


@pytest.fixture()
def dealership(session) -> dict[str, Any]:
    return seed_dealership(session, PASSWORD)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_page_speaks_one_language(app, client, dealership, locale) -> None:
    problems: list[str] = []
    settings = app.extensions["dcc.settings"]
    data = [*DATA, settings.dealer_name, settings.timezone]
    paths = pages(app, dealership)
    assert "/" in paths and "/leads/{}".format(dealership["lead_id"]) in paths
    for role in ROLES:
        login(client, dealership["people"][role].login)
        post(client, f"/locale/{locale}", {"next": "/"})
        for path in paths:
            answer = client.get(path)
            if answer.status_code != 200 or "text/html" not in answer.content_type:
                continue
            wrong = wrong_language(readable(answer.get_data(as_text=True), data), locale)
            if wrong:
                problems.append(f"{role} {path}: {wrong[:12]}")
        post(client, "/logout")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_refusals_and_error_pages_speak_the_page_language(app, client, dealership, locale):
    """What the pages say when they refuse: form errors, and the 403/404 pages."""
    settings = app.extensions["dcc.settings"]
    data = [*DATA, settings.dealer_name, settings.timezone, "nope"]
    lead = dealership["lead_id"]
    problems: list[str] = []

    def check(who: str, answer: Any) -> None:
        assert "text/html" in answer.content_type, (who, answer.status_code)
        html = answer.get_data(as_text=True)
        assert 'class="flash error' in html or answer.status_code >= 400, f"{who}: no refusal"
        wrong = wrong_language(readable(answer.get_data(as_text=True), data), locale)
        if wrong:
            problems.append(f"{who}: {wrong[:12]}")

    login(client, "agent")
    post(client, f"/locale/{locale}", {"next": "/"})
    outcome = f"/leads/{lead}/outcome"
    for name, form in {
        "no lost reason": {"result": "不买了", "action": "lost", "grade": "C"},
        "visit in the past": {
            "result": "来店",
            "action": "appointment",
            "grade": "A",
            "appointment_at": "2020-01-01T10:00",
        },
        "no result": {"result": "", "action": "none", "grade": "A"},
    }.items():
        check(f"outcome, {name}", post(client, outcome, form, follow_redirects=True))
    check("404", client.get("/leads/999999"))
    check("403", client.get("/admin/users"))
    post(client, "/logout")

    login(client, "admin")
    post(client, f"/locale/{locale}", {"next": "/"})
    source = {"name": "易车", "channel": "portal", "auth_mode": "hmac"}
    check(
        "bad slug",
        post(client, "/admin/sources", {**source, "slug": "Bad Slug!"}, follow_redirects=True),
    )
    check(
        "slug taken",
        post(client, "/admin/sources", {**source, "slug": "autohome"}, follow_redirects=True),
    )
    script = {"steps-0-title": "问候", "steps-0-text": "{nope}您好"}
    check("placeholder", post(client, "/admin/script", script, follow_redirects=True))
    check("call setting", post(client, "/admin/calls", {"wrap_up_seconds": "99999"}))
    post(client, "/logout")
    assert not problems, "\n".join(problems)
