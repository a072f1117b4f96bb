"""Rotating ``DCC_SECRET_KEY`` with the old key in ``DCC_SECRET_KEY_FALLBACKS``: nobody is
logged out, and forms on pages left open still post."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Connection
from support import app_config, bind_to
from web_support import PASSWORD, login

from dcc import create_app
from dcc.config import Settings
from dcc.users.models import AgentStatus


@pytest.fixture()
def node(database_url: str, redis_url: str, connection: Connection, tmp_path: Any) -> Any:
    """Makes a web node on the test's database with the given secret keys."""

    def make(secret_key: str, fallbacks: str = "") -> Flask:
        config = app_config(
            database_url,
            redis_url,
            tmp_path / "instance",
            secret_key=secret_key,
            secret_key_fallbacks=fallbacks,
        )
        return bind_to(create_app(config), connection)

    return make


def page_token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(True))
    assert found
    return found.group(1)


def moved(client: FlaskClient, to: Flask) -> FlaskClient:
    """The same browser (its cookie) talking to ``to``."""
    other = to.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    return other


def test_a_rotated_key_keeps_sessions_and_open_forms(node, session, staff) -> None:
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    before = node("the-old-key")
    browser = before.test_client()
    login(browser, "agent")
    open_form_token = page_token(browser)  # a page left open before the rotation

    rotated = node("the-new-key", "the-old-key")
    after = moved(browser, rotated)
    assert after.get("/").status_code == 200  # still logged in
    posted = after.post("/status", data={"status": "away", "csrf_token": open_form_token})
    assert posted.status_code == 302
    session.refresh(agent)
    assert agent.agent_status == AgentStatus.AWAY

    # The answer signed the cookie again with the new key: later the old key can go.
    only_new = node("the-new-key")
    assert moved(after, only_new).get("/").status_code == 200


def test_without_the_fallback_a_new_key_logs_everyone_out(node, staff) -> None:
    staff.user("agent", "dcc_agent", password=PASSWORD)
    before = node("the-old-key")
    browser = before.test_client()
    login(browser, "agent")
    token = page_token(browser)
    rotated = node("the-new-key")
    after = moved(browser, rotated)
    assert after.get("/").status_code == 302
    assert after.post("/status", data={"status": "away", "csrf_token": token}).status_code == 400


def test_a_forged_token_stays_refused_after_rotation(node, staff) -> None:
    staff.user("agent", "dcc_agent", password=PASSWORD)
    rotated = node("the-new-key", "the-old-key")
    browser = rotated.test_client()
    login(browser, "agent")
    forged = URLSafeTimedSerializer("someone-elses-key", salt="wtf-csrf-token").dumps("0" * 40)
    assert browser.post("/status", data={"status": "away", "csrf_token": forged}).status_code == 400


def test_the_setting_is_a_comma_separated_list() -> None:
    env = {"DCC_SECRET_KEY_FALLBACKS": " key-2 , key-1,"}
    assert Settings.from_env(env).previous_secret_keys == ["key-2", "key-1"]
    assert Settings.from_env({}).previous_secret_keys == []
