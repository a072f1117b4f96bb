"""The admin page of the dealer's call-flow settings (``/admin/calls``): shown with what each
setting does, its value and its default; saved through the one checking function, all or
nothing; for admins only."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from sqlalchemy import select
from web_support import PASSWORD, csrf_token, login, post

from dcc import settings_store
from dcc.audit import AuditEntry
from dcc.calls import policy
from dcc.web import admin

PAGE = "/admin/calls"
FIELDS = [f.name for f in dataclasses.fields(policy.CallPolicy)]


@pytest.fixture()
def admin_user(staff):
    return staff.user("admin", "admin", password=PASSWORD, name="管理员")


def _form(page: str) -> dict[str, str]:
    """The values in the page's boxes, by field name."""
    found = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="number" id="\w+" name="(\w+)" value="([^"]*)"', page
        )
    }
    found.update(
        (name, html.unescape(value))
        for name, value in re.findall(
            r'<textarea id="\w+" name="(\w+)"[^>]*>(.*?)</textarea>', page, re.S
        )
    )
    return found


def _stored(session) -> dict[str, object]:
    """What the dealer's record holds: only the settings ever set."""
    session.expire_all()
    return dict(settings_store.get(session, policy.SETTING, {}) or {})


def _audited(session) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == "call_policy.update"))
    )


def test_every_setting_has_a_name_a_hint_and_a_unit_on_the_page() -> None:
    assert list(admin.CALL_SETTINGS) == FIELDS
    for name, words in admin.CALL_SETTINGS.items():
        assert str(words.label) and str(words.hint), name
        unitless = name in (policy.NOTICE, "keep_ready_agents")  # a text, a count of agents
        assert (words.unit is None) == unitless, name


def test_an_admin_sees_each_setting_its_value_and_its_default(client, session, admin_user) -> None:
    policy.save(session, agent_ring_seconds=25)
    session.commit()
    login(client, "admin")
    answer = client.get(PAGE)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'href="{PAGE}"' in client.get("/").get_data(as_text=True)  # in the admin menu
    defaults = policy.CallPolicy()
    assert _form(page) == {
        **{name: str(getattr(defaults, name)) for name in FIELDS},
        "agent_ring_seconds": "25",
    }
    row = page.split('id="setting-agent_ring_seconds"')[1].split("</tr>")[0]
    assert "团队每轮振铃时长" in row and "每轮同时呼叫最多十名坐席" in row
    assert 'value="25"' in row and ">20 秒<" in row  # the value, and the default with its unit
    row = page.split('id="setting-skip_unanswered_minutes"')[1].split("</tr>")[0]
    assert "漏接后暂停派线" in row and ">5 分钟<" in row
    row = page.split('id="setting-customer_first_after_seconds"')[1].split("</tr>")[0]
    assert "先呼叫客户" in row and "0：关闭" in row and ">45 秒<" in row
    row = page.split('id="setting-recording_notice"')[1].split("</tr>")[0]
    assert "录音提示语" in row and "<code>{dealer}</code>" in row
    assert f'max="{policy.LONGEST}"' in page


def test_an_admin_saves_what_was_edited_and_the_change_is_audited(
    client, session, admin_user, frozen_clock
) -> None:
    login(client, "admin")
    shown = _form(client.get(PAGE).get_data(as_text=True))
    notice = "您好，{dealer}提醒您：本次通话将被录音。"
    edited = {**shown, "agent_ring_seconds": " 30 ", "recording_notice": f"  {notice}\n"}
    answer = post(client, PAGE, edited, follow_redirects=True)
    assert answer.status_code == 200 and "呼叫流程设置已保存" in answer.get_data(as_text=True)

    session.expire_all()
    saved = policy.load(session)
    assert (saved.agent_ring_seconds, saved.recording_notice) == (30, notice)
    assert saved.wrap_up_seconds == policy.CallPolicy().wrap_up_seconds
    # What was left as shown is not stored: it keeps following the default.
    assert _stored(session) == {"agent_ring_seconds": 30, "recording_notice": notice}
    (entry,) = _audited(session)
    assert entry.actor_id == admin_user.id and entry.at == frozen_clock
    assert entry.details == {
        "changes": {
            "agent_ring_seconds": [20, 30],
            "recording_notice": [policy.CallPolicy().recording_notice, notice],
        }
    }
    assert _form(answer.get_data(as_text=True))["agent_ring_seconds"] == "30"


def test_a_save_without_a_change_stores_nothing(client, session, admin_user) -> None:
    login(client, "admin")
    shown = _form(client.get(PAGE).get_data(as_text=True))
    answer = post(client, PAGE, shown, follow_redirects=True)
    assert answer.status_code == 200 and "没有任何修改" in answer.get_data(as_text=True)
    assert _stored(session) == {} and _audited(session) == []


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("agent_ring_seconds", "abc", "团队每轮振铃时长：必须是整数"),
        ("wrap_up_seconds", "99999", "话后整理时长：必须在 0 到 3600 之间"),
        ("skip_unanswered_minutes", "-1", "漏接后暂停派线：必须在 0 到 3600 之间"),
        ("keep_ready_agents", "1.5", "保留空闲坐席：必须是整数"),
        ("recording_notice", "   ", "录音提示语：为必填项"),
        # Said with the dealer's name filled in: a stray brace would break every such call.
        ("recording_notice", "您好，这里是{经销商}。", "录音提示语：花括号中只能是 {dealer}"),
        ("recording_notice", "通话将被录音 {", "录音提示语：花括号中只能是 {dealer}"),
    ],
)
def test_a_bad_value_is_named_kept_in_the_form_and_nothing_is_saved(
    client, session, admin_user, field, typed, message
) -> None:
    policy.save(session, owner_ring_seconds=12)
    session.commit()
    login(client, "admin")
    shown = _form(client.get(PAGE).get_data(as_text=True))
    # A good change beside the bad one: refused with it (all or nothing).
    typed_form = {**shown, "queue_callback_after_seconds": "120", field: typed}
    answer = post(client, PAGE, typed_form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'class="flash error">' + message in page
    assert _form(page) == typed_form  # every box as it was typed
    row = page.split(f'id="setting-{field}"')[1].split("</tr>")[0]
    assert 'aria-invalid="true"' in row
    assert page.count('aria-invalid="true"') == 1
    assert _stored(session) == {"owner_ring_seconds": 12}
    assert _audited(session) == []


@pytest.mark.parametrize("role", ["dcc_agent", "supervisor", "manager"])
def test_only_admins_open_or_save_the_settings(client, session, staff, role) -> None:
    staff.user("someone", role, password=PASSWORD)
    login(client, "someone")
    assert client.get(PAGE).status_code == 403
    assert post(client, PAGE, {"agent_ring_seconds": "5"}).status_code == 403
    assert f'href="{PAGE}"' not in client.get("/", follow_redirects=True).get_data(as_text=True)
    assert _stored(session) == {} and _audited(session) == []


def test_a_save_needs_the_csrf_token_and_a_login(client, session, admin_user) -> None:
    assert client.get(PAGE).headers["Location"].startswith("/login")
    login(client, "admin")
    assert client.post(PAGE, data={"agent_ring_seconds": "5"}).status_code == 400
    bad_token = {"agent_ring_seconds": "5", "csrf_token": "not-the-token"}
    assert client.post(PAGE, data=bad_token).status_code == 400
    assert _stored(session) == {}
    token = csrf_token(client, "/")
    good = client.post(PAGE, data={"agent_ring_seconds": "5", "csrf_token": token})
    assert good.status_code == 302
    assert _stored(session) == {"agent_ring_seconds": 5}


def test_the_page_speaks_english_to_an_admin_who_chose_it(client, admin_user) -> None:
    login(client, "admin")
    post(client, "/locale/en", {"next": "/"})
    page = client.get(PAGE).get_data(as_text=True)
    assert "Team ring, each round" in page and ">20 seconds<" in page
    assert "团队每轮振铃时长" not in page
