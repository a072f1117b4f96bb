"""``dcc users`` and ``dcc tokens``: staff accounts and API tokens from the command line.

Passwords are prompted for (hidden, typed twice, asked again when the policy refuses them),
never taken from the command line where shell history and ``ps`` would keep them; scripts
pipe one line with ``--password-stdin``. The commands call :mod:`dcc.users.accounts`, as the
admin's Users page does, so both keep the same rules and the same audit log.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from dcc import clock
from dcc.cli_support import echo_table, fail
from dcc.config import get_settings
from dcc.db import get_database
from dcc.errors import DCCError
from dcc.untrusted import MAX_ID
from dcc.users import accounts, passwords
from dcc.users import service as users
from dcc.users.models import Role


@contextmanager
def _transaction() -> Iterator[Session]:
    """The command's transaction; a refusal exits 2 having changed nothing."""
    try:
        with get_database().session_scope() as session:
            yield session
    except DCCError as error:
        fail(error)


def _password(from_stdin: bool, *, login: str, name: str | None, phone: str | None) -> str:
    """The new password: one line of standard input, or prompted until the policy takes it."""
    personal = [login, name, phone]
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        try:
            passwords.check(password, personal=personal)
        except DCCError as error:
            fail(error)
        return password

    def checked(value: str) -> str:
        try:
            passwords.check(value, personal=personal)
        except DCCError as error:
            raise click.UsageError(error.message) from error
        return value

    return str(
        click.prompt(
            f"New password for {login}",
            hide_input=True,
            confirmation_prompt="Repeat it",
            value_proc=checked,
        )
    )


@click.group("users", help="Staff accounts.")
def users_group() -> None:
    pass


@users_group.command("create", help="Add a user with a role; the password is prompted for.")
@click.argument("login")
@click.option(
    "--role", required=True, help="clerk, consultant, dcc_agent, manager, supervisor, admin"
)
@click.option("--name", default=None)
@click.option("--phone", default=None, help="The phone the hotline rings for this agent.")
@click.option("--team", default=None, help="Team name; created on first use.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="No web login (an account for API tokens).")
def users_create(
    login: str,
    role: str,
    name: str | None,
    phone: str | None,
    team: str | None,
    password_stdin: bool,
    no_password: bool,
) -> None:
    if role not in {r.value for r in Role}:  # before asking for a password
        choices = ", ".join(r.value for r in Role)
        fail(DCCError("field.bad_choice", field="role", choices=choices))
    password = None
    if not no_password:
        password = _password(password_stdin, login=login, name=name, phone=phone)
    with _transaction() as session:
        user = accounts.create(
            session,
            actor=None,
            login=login,
            role=role,
            name=name,
            password=password,
            phone=phone,
            team=team,
            region=get_settings().default_region,
        )
        click.echo(f"user {user.login} ({user.role.value}) id {user.id}")


@users_group.command("list", help="Every user: role, team, phone, state, live tokens.")
def users_list() -> None:
    with _transaction() as session:
        tokens = accounts.live_token_counts(session)
        rows = [
            (
                u.login,
                u.name,
                u.role.value,
                u.team.name if u.team else "-",
                u.phone or "-",
                "active" if u.is_active else "DEACTIVATED",
                "yes" if u.password_hash else "no",
                tokens.get(u.id, 0),
            )
            for u in accounts.list_users(session)
        ]
    header = ("login", "name", "role", "team", "phone", "state", "web login", "tokens")
    echo_table(header, rows)


@users_group.command("set-password", help="Give LOGIN a new password (prompted for).")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(login: str, password_stdin: bool) -> None:
    with _transaction() as session:  # no transaction stays open while someone types
        user = users.get_by_login(session, login)
        name, phone = user.name, user.phone
    password = _password(password_stdin, login=login, name=name, phone=phone)
    with _transaction() as session:
        accounts.set_password(session, users.get_by_login(session, login), password, actor=None)
    click.echo(f"password of {login} changed; its web sessions have ended")


@users_group.command("deactivate", help="Stop LOGIN: no login, sessions and tokens end now.")
@click.argument("login")
def users_deactivate(login: str) -> None:
    with _transaction() as session:
        revoked = accounts.deactivate(session, users.get_by_login(session, login), actor=None)
    click.echo(f"user {login} deactivated; {revoked} token(s) revoked")


@users_group.command("activate", help="Let LOGIN log in again (tokens stay revoked).")
@click.argument("login")
def users_activate(login: str) -> None:
    with _transaction() as session:
        accounts.activate(session, users.get_by_login(session, login), actor=None)
    click.echo(f"user {login} active")


@click.group("tokens", help="API bearer tokens.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Issue an API token for LOGIN; printed as the last line.")
@click.argument("login")
@click.option("--name", default="cli")
def tokens_create(login: str, name: str) -> None:
    with _transaction() as session:
        token = accounts.issue_token(
            session, users.get_by_login(session, login), actor=None, name=name
        )
    click.echo(f"token for {login} (shown once):")
    click.echo(token)


@tokens_group.command("list", help="LOGIN's tokens: id, name, issued, revoked.")
@click.argument("login")
def tokens_list(login: str) -> None:
    timezone = get_settings().timezone
    with _transaction() as session:
        rows = [
            (
                t.id,
                t.name or "-",
                clock.local(t.created_at, timezone).strftime("%Y-%m-%d %H:%M"),
                clock.local(t.revoked_at, timezone).strftime("revoked %Y-%m-%d %H:%M")
                if t.revoked_at
                else "live",
            )
            for t in users.tokens_of(session, users.get_by_login(session, login))
        ]
    if not rows:
        click.echo(f"{login} has no tokens; issue one with: dcc tokens create {login}")
        return
    echo_table(("id", "name", "issued", "state"), rows)


@tokens_group.command("revoke", help="Revoke LOGIN's tokens (all, or --id N); they get 401.")
@click.argument("login")
@click.option(
    "--id",
    "token_id",
    type=click.IntRange(1, MAX_ID),
    default=None,
    help="Only this token (see list).",
)
def tokens_revoke(login: str, token_id: int | None) -> None:
    with _transaction() as session:
        revoked = accounts.revoke_tokens(
            session, users.get_by_login(session, login), actor=None, token_id=token_id
        )
    click.echo(f"{revoked} token(s) of {login} revoked")
