"""Web hardening: every change of state is a POST with the CSRF token (the queue dashboard's
included), security headers on every answer, pages the policy does not have to relax for,
and the API's map for signed-in users only outside the embedded mode."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from web_support import PASSWORD, login, post

from dcc import create_app
from dcc.web import security

TEMPLATES = Path(__file__).resolve().parents[1] / "dcc" / "templates"
#: Paths whose clients authenticate otherwise (bearer tokens, signatures): no CSRF there.
OUTSIDE_CSRF = ("/api/", "/webhooks/", "/static/")


def _url(app: Flask, rule: Any) -> str:
    """A URL of ``rule`` with made-up arguments (the check comes before any lookup)."""
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {name: 1 for name in rule.arguments}, method="POST")


# --- POST + CSRF ----------------------------------------------------------------------------------


def test_every_change_of_state_in_the_pages_needs_the_csrf_token(app, client, staff) -> None:
    """Every route that takes a POST, the queue dashboard's included, refuses one without the
    token (a form on another site cannot post on an admin's behalf)."""
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith(OUTSIDE_CSRF):
            continue
        answer = client.post(_url(app, rule), data={"status": "away", "step": "3"})
        assert answer.status_code == 400, (rule.rule, answer.status_code)
        assert "CSRF" in answer.get_data(as_text=True), rule.rule
        checked.append(rule.rule)
    assert {"/logout", "/locale/<code>", "/admin/rq/requeue/<queue_name>"} <= set(checked)
    assert len(checked) > 25


def test_the_language_switch_is_a_post_that_returns_to_the_page(client, staff) -> None:
    staff.user("agent", "dcc_agent", password=PASSWORD)
    login(client, "agent")
    assert client.get("/locale/en").status_code == 405  # a link cannot switch it any more
    page = client.get("/").get_data(as_text=True)
    assert 'action="/locale/en"' in page and 'name="next" value="/"' in page
    switched = post(client, "/locale/en", {"next": "/reports"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/reports"
    assert "Worklist" in client.get("/").get_data(as_text=True)
    off_site = post(client, "/locale/zh_Hans", {"next": "https://evil.example/"})
    assert off_site.headers["Location"] == "/"


def test_the_queue_dashboards_requeue_all_refuses_a_get(app, client, staff, redis) -> None:
    """``/admin/rq/requeue/<queue>`` changed state on a GET: now only the dashboard's button
    (a POST with the token) requeues; the failed jobs stay put otherwise."""
    staff.user("admin", "admin", password=PASSWORD)
    queue = Queue("dcc-default", connection=redis)
    job = Job.create(func="builtins.print", connection=redis, origin="dcc-default")
    job.save()
    FailedJobRegistry(queue=queue).add(job, ttl=600)
    login(client, "admin")
    refused = client.get("/admin/rq/requeue/dcc-default")
    assert refused.status_code == 405 and refused.headers["Allow"] == "POST"
    assert FailedJobRegistry(queue=queue).count == 1
    assert client.get("/admin/rq/0/data/queues.json").status_code == 200  # reading still works
    token = client.get_cookie("_csrf_token", path="/admin/rq")
    assert token is not None
    requeued = client.post("/admin/rq/requeue/dcc-default", headers={"X-CSRFToken": token.value})
    assert requeued.status_code == 200 and requeued.get_json()["count"] == 1
    assert FailedJobRegistry(queue=queue).count == 0


# --- security headers -----------------------------------------------------------------------------


def _policy(answer: Any) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in answer.headers["Content-Security-Policy"].split(";"))
        if part
    }


def test_every_answer_carries_the_security_headers(client, staff) -> None:
    staff.user("agent", "dcc_agent", password=PASSWORD)
    for answer in (client.get("/login"), client.get("/healthz"), client.get("/api/v1/reports")):
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        policy = _policy(answer)
        assert policy["frame-ancestors"] == "'none'"
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP
    login(client, "agent")
    assert "microphone=()" in client.get("/").headers["Permissions-Policy"]


def test_hsts_when_served_over_https(client) -> None:
    direct = client.get("/login", base_url="https://dcc.example.test")
    assert direct.headers["Strict-Transport-Security"] == f"max-age={security.HSTS_SECONDS}"
    proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers


def test_the_softphone_may_reach_twilio_and_nothing_else_may(app) -> None:
    settings = app.extensions["dcc.settings"]
    plain = security.content_security_policy(settings)
    assert "twilio" not in " ".join(plain.values())
    with_softphone = security.content_security_policy(
        dataclasses.replace(settings, twilio_api_key_sid="SK" + "1" * 32)
    )
    assert with_softphone["connect-src"] == "'self' wss://*.twilio.com https://*.twilio.com"
    assert with_softphone["media-src"].startswith("'self' https://sdk.twilio.com")
    assert with_softphone["script-src"] == "'self'"  # the SDK is served from here


def test_only_the_queue_dashboard_may_run_inline_scripts(client, staff, redis) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    dashboard = _policy(client.get("/admin/rq/"))
    assert "'unsafe-inline'" in dashboard["script-src"]
    assert dashboard["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in _policy(client.get("/admin/jobs"))["script-src"]


def test_no_page_needs_inline_script_or_style() -> None:
    """What the policy would block: inline scripts, event-handler attributes, style
    attributes and javascript: links (JSON data blocks are not scripts)."""
    found = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for script in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in script.group(1) and "application/json" not in script.group(1):
                found.append((template.name, script.group(0)))
        for pattern in (r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:"):
            found += [(template.name, m.group(0)) for m in re.finditer(pattern, text)]
    assert found == []


# --- the API's map --------------------------------------------------------------------------------


def test_the_openapi_document_needs_a_user_outside_the_embedded_mode(client, staff) -> None:
    anonymous = client.get("/api/v1/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["field"] == "Authorization"
    agent = staff.user("agent", "dcc_agent", password=PASSWORD)
    assert client.get("/api/v1/openapi.json", headers=staff.token(agent)).status_code == 200
    login(client, "agent")
    assert client.get("/api/v1/openapi.json").status_code == 200  # a signed-in page user


def test_the_embedded_mode_serves_the_openapi_document_to_anyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DCC_DATABASE_URL", "DCC_REDIS_URL", "DCC_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app: Flask = create_app({"instance_path": str(tmp_path / "instance")})
    assert app.extensions["dcc.settings"].embedded
    assert app.test_client().get("/api/v1/openapi.json").status_code == 200
    app.extensions["dcc.db"].engine.dispose()
