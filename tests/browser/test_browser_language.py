"""One language per page, as Chromium shows it: every page of every role, in Chinese and in
English, with data, after the page's scripts have drawn it (the wallboard's rows, the labels
of the live panel). The text is read as the rendered scan reads the HTML (language_support)."""

from __future__ import annotations

from typing import Any

import pytest
from language_support import DATA, ROLES, pages, seed_dealership, without_data, wrong_language
from web_support import BROWSER_PASSWORD, sign_in

from dcc import streams, wallboard
from dcc.broker import get_broker

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

#: The text of the page and its titles and placeholders, without what is marked as data.
READ_PAGE = """() => {
  const skip = 'script,style,textarea,code,datalist,[translate="no"]';
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  for (const el of document.body.querySelectorAll('[title],[placeholder],[aria-label],[alt]')) {
    if (el.closest(skip)) continue;
    for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
      if (el.getAttribute(name)) parts.push(el.getAttribute(name));
    }
  }
  return parts.join(' ');
}"""


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_page_in_the_browser_speaks_one_language(open_page, live, locale) -> None:
    with live.session() as session:
        world = seed_dealership(session, BROWSER_PASSWORD)
        logins = {role: person.login for role, person in world["people"].items()}
    settings = live.app.extensions["dcc.settings"]
    data = [*DATA, settings.dealer_name, settings.timezone]
    # The wallboard first: its stream must open before the other pages' streams count against
    # the user's cap of open streams.
    paths = sorted(pages(live.app, world), key=lambda path: path != "/wallboard")
    problems: list[str] = []
    redis = get_broker(live.app).connection
    redis.delete(wallboard.LAST, wallboard.LEADER, wallboard.VIEWERS)  # no earlier test's figures
    # Pages opened in quick succession hold their places among the user's open streams until
    # the server notices they closed: no other test may find these user ids' places taken.
    places = [streams.streams_key(person.id) for person in world["people"].values()]
    redis.delete(*places)
    try:
        _scan(open_page, live, locale, logins, paths, data, problems)
    finally:
        live.app.extensions["dcc.wallboard"].stop()
        redis.delete(*places)
    assert not problems, "\n".join(problems)


def _scan(
    open_page: Any,
    live: Any,
    locale: str,
    logins: dict[str, str],
    paths: list[str],
    data: list[str],
    problems: list[str],
) -> None:
    for role in ROLES:
        page = sign_in(open_page("/login"), logins[role])
        if locale == "en":
            page.click("form.language button")
            page.wait_for_load_state()
        for path in paths:
            answer = page.goto(live.base_url + path)
            if answer is None or answer.status != 200 or "/login" in page.url:
                continue
            if path == "/wallboard":
                expect(page.locator("body")).to_have_attribute("data-stream", "open")
                expect(page.locator("#wallboard")).to_have_attribute(
                    "data-state", "live", timeout=10_000
                )
            text = page.evaluate(READ_PAGE)
            wrong = wrong_language(without_data(text, data), locale)
            if wrong:
                problems.append(f"{role} {path}: {wrong[:12]}")
        page.context.close()
