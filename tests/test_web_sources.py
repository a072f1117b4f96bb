"""The admin page for lead sources: add, change, rotate the secret, disable; end to end
through the lead webhook that the page's settings govern."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc.audit import AuditEntry
from dcc.errors import ValidationError
from dcc.leads import sources
from dcc.leads.models import Channel, LeadSource


def _deliver(client, slug: str, secret: str, phone: str = "13800138000"):
    body = json.dumps({"phone": phone, "name": "王先生"}).encode()
    return client.post(
        f"/webhooks/leads/{slug}",
        data=body,
        headers={"Content-Type": "application/json", "X-DCC-Signature": sources.sign(secret, body)},
    )


def _shown_secret(page: str) -> str:
    found = re.search(r'<section class="card secret".*?<code>([^<]+)</code>', page, re.S)
    assert found, "the new secret is shown once"
    return found.group(1)


def test_admin_adds_a_source_and_its_secret_signs_deliveries(client, session, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    staff.user("a1", "dcc_agent")
    login(client, "admin")
    answer = post(
        client,
        "/admin/sources",
        {"slug": "autohome", "name": "汽车之家", "channel": "portal", "auth_mode": "hmac"},
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    secret = _shown_secret(page)
    assert "/webhooks/leads/autohome" in page
    source = session.scalars(select(LeadSource).where(LeadSource.slug == "autohome")).one()
    assert (source.name, source.channel, source.auto_dial) == ("汽车之家", Channel.PORTAL, False)
    assert _deliver(client, "autohome", secret).status_code == 201
    # The list never shows a secret again.
    assert secret not in client.get("/admin/sources").get_data(as_text=True)
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "lead_source.create" in actions


def test_admin_changes_rotates_and_disables_a_source(client, session, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    staff.user("a1", "dcc_agent")
    old = sources.create(session, slug="yiche", name="易车", channel="portal")
    old_secret = old.secret
    session.commit()
    login(client, "admin")

    saved = post(
        client,
        "/admin/sources/yiche",
        {
            "yiche-name": "易车网",
            "yiche-channel": "oem",
            "yiche-sub_source": "春季活动",
            "yiche-auth_mode": "hmac",
            "yiche-auto_dial": "y",
        },
    )
    assert saved.status_code == 302
    session.expire_all()
    source = session.scalars(select(LeadSource).where(LeadSource.slug == "yiche")).one()
    assert (source.name, source.channel, source.sub_source, source.auto_dial) == (
        "易车网",
        Channel.OEM,
        "春季活动",
        True,
    )

    rotated = post(client, "/admin/sources/yiche/rotate").get_data(as_text=True)
    new_secret = _shown_secret(rotated)
    assert 'checked id="yiche-auto_dial"' in rotated  # the rows show what is stored
    assert new_secret != old_secret
    assert _deliver(client, "yiche", old_secret).status_code == 401
    assert _deliver(client, "yiche", new_secret).status_code == 201

    assert post(client, "/admin/sources/yiche/disable").status_code == 302
    assert _deliver(client, "yiche", new_secret, "13900139000").status_code == 404
    assert post(client, "/admin/sources/yiche/enable").status_code == 302
    assert _deliver(client, "yiche", new_secret, "13900139000").status_code == 201


def test_bad_input_is_refused_by_name_and_changes_nothing(client, session, staff) -> None:
    staff.user("admin", "admin", password=PASSWORD)
    login(client, "admin")
    bad_slug = post(
        client,
        "/admin/sources",
        {"slug": "Auto Home", "name": "汽车之家", "channel": "portal", "auth_mode": "hmac"},
        follow_redirects=True,
    )
    assert "标识：只能使用小写字母、数字、- 和 _" in bad_slug.get_data(as_text=True)
    no_name = post(
        client, "/admin/sources", {"slug": "autohome", "channel": "portal", "auth_mode": "hmac"}
    )
    assert no_name.status_code == 200
    assert "来源名称：为必填项" in no_name.get_data(as_text=True)
    long = {"slug": "autohome", "name": "长" * 121, "channel": "portal", "auth_mode": "hmac"}
    too_long = post(client, "/admin/sources", long)
    assert "来源名称：最多 120 个字" in too_long.get_data(as_text=True)
    assert session.scalars(select(LeadSource)).all() == []
    # the command line checks the same rule (the column holds 120 characters)
    with pytest.raises(ValidationError) as refused:
        sources.create(session, slug="autohome", name="长" * 121, channel="portal")
    assert (refused.value.code, refused.value.field) == ("field.too_long", "name")


def test_only_admins_manage_sources(client, staff) -> None:
    staff.user("manager", "manager", password=PASSWORD)
    login(client, "manager")
    assert client.get("/admin/sources").status_code == 403
    assert post(client, "/admin/sources", {"slug": "x", "name": "x"}).status_code == 403
