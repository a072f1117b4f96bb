"""Helpers for the web UI tests: logging in through the form, reading CSRF tokens."""

from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient

from dcc.leads import sources

PASSWORD = "secret-pw"


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path, follow_redirects=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def login(client: FlaskClient, login_name: str, password: str = PASSWORD) -> None:
    answer = client.post(
        "/login",
        data={"login": login_name, "password": password, "csrf_token": csrf_token(client)},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """A form post with the session's CSRF token, as the page would send it."""
    token = csrf_token(client, "/")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kw)


#: The people and numbers of the browser tests.
AGENT_PHONE = "+8613900000001"
CUSTOMER = "+8613800138000"
HOTLINE = "+864008123123"
BROWSER_PASSWORD = "browser-pw"


def available_agent(session: Any) -> Any:
    """张晓婷, the DCC agent the browser tests log in as, available for calls."""
    from dcc.users import service as users
    from dcc.users.models import AgentStatus

    agent = users.create_user(
        session,
        login="agent",
        role="dcc_agent",
        name="张晓婷",
        phone=AGENT_PHONE,
        password=BROWSER_PASSWORD,
    )
    agent.agent_status = AgentStatus.AVAILABLE
    return agent


PORTAL_SECRET = "autohome-secret-0123456789"


def auto_dial_portal(session: Any) -> Any:
    """汽车之家 as a lead source whose new leads are dialled at once (speed-to-lead)."""
    return sources.create(
        session,
        slug="autohome",
        name="汽车之家",
        channel="portal",
        secret=PORTAL_SECRET,
        auto_dial=True,
    )


def sign_in(page: Any, login_name: str, password: str = BROWSER_PASSWORD) -> Any:
    """Log in through the login form of a browser ``page`` showing it; the page lands home."""
    page.fill("#login", login_name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def read_events(chunks: Any, count: int) -> list[tuple[str, Any]]:
    """The next ``count`` events (kind, data) from an SSE body's chunks, comments skipped."""
    found = []
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for block in text.split("\n\n"):
            lines = [line for line in block.splitlines() if not line.startswith((":", "retry"))]
            if lines:
                kind = lines[0].removeprefix("event: ")
                found.append((kind, json.loads(lines[1].removeprefix("data: "))))
        if len(found) >= count:
            return found
    return found
