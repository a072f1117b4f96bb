"""The ``dcc`` command's administration commands, on the service's own database."""

from __future__ import annotations

from sqlalchemy import select

from dcc.leads.models import LeadSource
from dcc.users import service as users
from dcc.users.models import Role, User


def test_users_tokens_and_sources(app, session) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "users",
            "create",
            "zhang",
            "--role",
            "dcc_agent",
            "--password-stdin",
            "--phone",
            "139 0000 0001",
            "--team",
            "DCC",
        ],
        input="pw-123456-zhang\n",
    )
    assert made.exit_code == 0, made.output
    user = session.scalars(select(User).where(User.login == "zhang")).one()
    assert user.role == Role.DCC_AGENT and user.phone == "+8613900000001"
    assert user.team is not None and user.team.name == "DCC"
    assert users.authenticate(session, "zhang", "pw-123456-zhang") is not None

    token = runner.invoke(args=["tokens", "create", "zhang"])
    assert token.exit_code == 0, token.output
    last_line = token.output.strip().splitlines()[-1]
    assert users.user_for_token(session, last_line).id == user.id

    source = runner.invoke(args=["sources", "create", "yiche", "--name", "易车"])
    assert source.exit_code == 0, source.output
    secret = source.output.strip().splitlines()[-1]
    stored = session.scalars(select(LeadSource).where(LeadSource.slug == "yiche")).one()
    assert stored.secret == secret and len(secret) >= 32


def test_bad_input_names_the_field_and_changes_nothing(app, session) -> None:
    runner = app.test_cli_runner()
    wrong_role = runner.invoke(args=["users", "create", "li", "--role", "boss"])
    assert wrong_role.exit_code == 2
    assert "role" in wrong_role.output
    wrong_phone = runner.invoke(
        args=["users", "create", "li", "--role", "clerk", "--phone", "12345", "--no-password"]
    )
    assert wrong_phone.exit_code == 2
    assert "phone" in wrong_phone.output
    assert session.scalar(select(User).where(User.login == "li")) is None
    unknown = runner.invoke(args=["tokens", "create", "nobody"])
    assert unknown.exit_code == 2 and "login" in unknown.output


def test_demo_seed_runs_once(app, session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "demo data added" in first.output and "agent1" in first.output
    again = runner.invoke(args=["demo", "seed"])
    assert "already present" in again.output
    assert len(session.scalars(select(User)).all()) == 8
