"""Administering accounts and tokens: ``dcc users`` / ``dcc tokens`` and the admin's Users page
share the rules (password policy, deactivation, the last admin) and the audit log."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import PASSWORD, login, post

from dcc import demo
from dcc.audit import AuditEntry
from dcc.users import passwords
from dcc.users import service as users
from dcc.users.models import ApiToken, User

STRONG = "lantern-orchid-42"


def audit_actions(session: Session) -> list[tuple[str, str, int | None]]:
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(e.action, e.details.get("login"), e.actor_id) for e in entries]


def api_answers(client: Any, token: dict[str, str]) -> int:
    return client.get("/api/v1/reports", headers=token).status_code


# --- the policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weak",
    ["x", "short-pw", "1234567890", "qwertyuiop", "password123", "woaini1314", "zhangzhang"],
)
def test_the_policy_refuses_short_and_common_passwords(weak: str) -> None:
    with pytest.raises(passwords.WeakPassword) as refused:
        passwords.check(weak, personal=["zhang"])
    assert refused.value.field == "password" and refused.value.status_code == 422


def test_the_policy_takes_a_real_password_and_the_demos() -> None:
    passwords.check(STRONG)
    passwords.check(demo.PASSWORD, personal=["agent1", "张晓婷"])
    with pytest.raises(passwords.WeakPassword, match="at most"):
        passwords.check("a-b" * 30)


# --- the command line ----------------------------------------------------------------------


def test_set_password_prompts_and_asks_again_when_the_policy_refuses(app, session, staff):
    staff.user("zhang", "dcc_agent", password=PASSWORD)
    runner = app.test_cli_runner()
    answer = runner.invoke(
        args=["users", "set-password", "zhang"], input=f"x\n{STRONG}\n{STRONG}\n"
    )
    assert answer.exit_code == 0, answer.output
    assert answer.output.count("New password for zhang") == 2  # asked again after "x"
    assert "at least 10 characters" in answer.output
    assert "Repeat it" in answer.output
    assert STRONG not in answer.output  # typed, never echoed
    session.expire_all()
    assert users.authenticate(session, "zhang", STRONG) is not None
    assert users.authenticate(session, "zhang", PASSWORD) is None
    assert ("user.password", "zhang", None) in audit_actions(session)


def test_no_password_option_and_stdin_for_scripts(app, session) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["users", "create", "li", "--role", "clerk", "--password-stdin"], input="x\n"
    )
    assert weak.exit_code == 2 and "password" in weak.output
    assert session.scalar(select(User).where(User.login == "li")) is None
    on_line = runner.invoke(args=["users", "create", "li", "--role", "clerk", "--password", "x"])
    assert on_line.exit_code == 2 and "No such option" in on_line.output
    made = runner.invoke(
        args=["users", "create", "li", "--role", "clerk", "--password-stdin"], input=STRONG + "\n"
    )
    assert made.exit_code == 0, made.output
    assert users.authenticate(session, "li", STRONG) is not None
    prompted = runner.invoke(
        args=["users", "create", "wu", "--role", "clerk"], input=f"{STRONG}\n{STRONG}\n"
    )
    assert prompted.exit_code == 0 and "New password for wu" in prompted.output


def test_tokens_list_and_revoke_make_the_token_answer_401(app, client, session, staff) -> None:
    boss = staff.user("boss", "manager")
    first, second = staff.token(boss), staff.token(boss)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["tokens", "list", "boss"])
    assert listed.exit_code == 0, listed.output
    ids = [t.id for t in users.tokens_of(session, boss)]
    assert all(re.search(rf"^{i}\s+-\s+\S+ \S+\s+live$", listed.output, re.M) for i in ids)
    assert api_answers(client, first) == 200 and api_answers(client, second) == 200

    one = runner.invoke(args=["tokens", "revoke", "boss", "--id", str(ids[0])])
    assert one.exit_code == 0 and "1 token(s) of boss revoked" in one.output
    assert api_answers(client, second) == 401  # the newest (ids are newest first)
    assert api_answers(client, first) == 200
    everything = runner.invoke(args=["tokens", "revoke", "boss"])
    assert everything.exit_code == 0 and "1 token(s)" in everything.output
    assert api_answers(client, first) == 401
    assert "revoked" in runner.invoke(args=["tokens", "list", "boss"]).output

    other = staff.user("other", "manager")
    staff.token(other)
    [his] = users.tokens_of(session, other)
    not_his = runner.invoke(args=["tokens", "revoke", "boss", "--id", str(his.id)])
    assert not_his.exit_code == 2 and "id" in not_his.output
    huge = runner.invoke(args=["tokens", "revoke", "boss", "--id", "99999999999999999999"])
    assert huge.exit_code == 2
    assert [a for a, *_ in audit_actions(session)] == ["token.revoke", "token.revoke"]


def test_users_list_deactivate_and_activate(app, client, session, staff) -> None:
    staff.user("root", "admin", password=PASSWORD)
    boss = staff.user("boss", "manager", password=PASSWORD, team="北区")
    token = staff.token(boss)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["users", "list"])
    assert listed.exit_code == 0
    assert re.search(r"^boss\s+boss\s+manager\s+北区\s+-\s+active\s+yes\s+1$", listed.output, re.M)

    login(client, "boss")
    gone = runner.invoke(args=["users", "deactivate", "boss"])
    assert gone.exit_code == 0 and "1 token(s) revoked" in gone.output
    assert client.get("/").status_code == 302  # the open session ended at once
    assert api_answers(client, token) == 401
    assert "DEACTIVATED" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["tokens", "create", "boss"]).exit_code == 2

    back = runner.invoke(args=["users", "activate", "boss"])
    assert back.exit_code == 0
    login(client, "boss")
    assert api_answers(client, token) == 401  # old tokens stay revoked

    last_admin = runner.invoke(args=["users", "deactivate", "root"])
    assert last_admin.exit_code == 2 and "last active admin" in last_admin.output
    assert [a for a, *_ in audit_actions(session)] == ["user.deactivate", "user.activate"]


# --- the admin page ------------------------------------------------------------------------


@pytest.fixture()
def admin(client, staff) -> User:
    user = staff.user("root", "admin", password=PASSWORD)
    login(client, "root")
    return user


def flashes(answer: Any) -> str:
    return answer.get_data(as_text=True)


def test_only_admins_see_the_users_page(client, staff) -> None:
    staff.user("boss", "manager", password=PASSWORD)
    login(client, "boss")
    assert client.get("/admin/users").status_code == 403
    assert post(client, "/admin/users", {"login": "x"}).status_code == 403


def test_admin_adds_a_user_under_the_policy(client, session, admin) -> None:
    page = client.get("/admin/users")
    assert page.status_code == 200 and "添加用户" in flashes(page)
    form = {
        "login": "zhang",
        "name": "张伟",
        "role": "dcc_agent",
        "team": "DCC",
        "phone": "139 0000 0001",
        "password": "x",
        "confirm": "x",
    }
    weak = post(client, "/admin/users", form, follow_redirects=True)
    assert "密码至少 10 个字符" in flashes(weak)
    common = {**form, "password": "woaini1314", "confirm": "woaini1314"}
    assert "太常见" in flashes(post(client, "/admin/users", common, follow_redirects=True))
    differ = {**form, "password": STRONG, "confirm": STRONG + "!"}
    assert "不一致" in flashes(post(client, "/admin/users", differ, follow_redirects=True))
    assert session.scalar(select(User).where(User.login == "zhang")) is None

    made = post(client, "/admin/users", {**form, "password": STRONG, "confirm": STRONG})
    assert made.status_code == 302
    zhang = session.scalars(select(User).where(User.login == "zhang")).one()
    assert (zhang.role.value, zhang.phone, zhang.team.name) == (
        "dcc_agent",
        "+8613900000001",
        "DCC",
    )
    assert users.authenticate(session, "zhang", STRONG) is not None
    assert audit_actions(session) == [("user.create", "zhang", admin.id)]


def test_admin_sets_a_password_and_deactivates(app, client, session, staff, admin) -> None:
    boss = staff.user("boss", "manager", password=PASSWORD)
    boss_browser = app.test_client()
    login(boss_browser, "boss")
    token = staff.token(boss)

    changed = post(
        client, f"/admin/users/{boss.id}/password", {"password": STRONG, "confirm": STRONG}
    )
    assert changed.status_code == 302
    assert boss_browser.get("/").status_code == 302  # signed out by the new password
    login(boss_browser, "boss", STRONG)

    deactivated = post(client, f"/admin/users/{boss.id}/deactivate", follow_redirects=True)
    assert "已停用 boss" in flashes(deactivated)
    assert boss_browser.get("/").status_code == 302
    assert api_answers(client, token) == 401
    own = post(client, f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号" in flashes(own)
    assert post(client, f"/admin/users/{boss.id}/activate").status_code == 302
    session.refresh(boss)
    assert boss.is_active
    assert [a for a, *_ in audit_actions(session)] == [
        "user.password",
        "user.deactivate",
        "user.activate",
    ]
    assert {actor for *_, actor in audit_actions(session)} == {admin.id}


def test_admin_issues_and_revokes_tokens(client, session, staff, admin) -> None:
    dms = staff.user("dms", "manager")
    issued = post(client, f"/admin/users/{dms.id}/tokens", {"name": "DMS"})
    assert issued.status_code == 200
    token = re.search(r"<pre><code>(dcc_[^<]+)</code></pre>", flashes(issued))
    assert token is not None
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert api_answers(client, bearer) == 200
    listing = client.get(f"/admin/users/{dms.id}/tokens")
    assert token.group(1) not in flashes(listing)  # shown once
    [row] = session.scalars(select(ApiToken).where(ApiToken.user_id == dms.id)).all()
    assert row.name == "DMS"
    assert post(client, f"/admin/users/{dms.id}/tokens/{row.id}/revoke").status_code == 302
    assert api_answers(client, bearer) == 401
    staff.token(dms)
    post(client, f"/admin/users/{dms.id}/tokens/revoke")
    assert session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all() == []
    assert [a for a, *_ in audit_actions(session)] == [
        "token.create",
        "token.revoke",
        "token.revoke",
    ]


def test_admin_changes_need_the_csrf_token(client, session, staff, admin) -> None:
    boss = staff.user("boss", "manager", password=PASSWORD)
    answer = client.post(f"/admin/users/{boss.id}/deactivate")
    assert answer.status_code == 400
    session.refresh(boss)
    assert boss.is_active and audit_actions(session) == []
