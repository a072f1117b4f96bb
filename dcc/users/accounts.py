"""Administering staff accounts and API tokens: the use cases that ``dcc users``, ``dcc tokens``
and the admin's Users page share. Every change is audit-logged (the CLI's with no actor).

A deactivated user cannot log in; its sessions end and its tokens are revoked at once, and
it is offline for the hotline and for assignment. Activating it again gives back the login,
not the tokens: new ones are issued.
"""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import audit
from dcc.errors import Conflict
from dcc.users import passwords
from dcc.users import service as users
from dcc.users.models import AgentStatus, ApiToken, Role, User


class AccountRefused(Conflict):
    """A change the rules forbid: deactivating oneself or the last active admin, a token for
    a deactivated account."""


def _record(session: Session, actor: User | None, action: str, user: User, **details: Any) -> None:
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action=action,
        entity="user",
        entity_id=user.id,
        login=user.login,
        **details,
    )


def _check_password(password: str, user_login: str, name: str | None, phone: str | None) -> None:
    passwords.check(password, personal=[user_login, name, phone])


def list_users(session: Session) -> list[User]:
    """Every account, active ones first, by login."""
    return list(session.scalars(select(User).order_by(User.is_active.desc(), User.login)))


def live_token_counts(session: Session) -> dict[int, int]:
    """How many live tokens each user holds."""
    rows = session.execute(
        select(ApiToken.user_id, func.count())
        .where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)
    )
    return {user_id: count for user_id, count in rows}


def create(
    session: Session,
    *,
    actor: User | None,
    password: str | None = None,
    **fields: Unpack[users.UserFields],
) -> User:
    """Add an account (:func:`dcc.users.service.create_user`); a password, when given, must
    pass the policy. Without one the account has no web login (an integration that only
    holds API tokens)."""
    if password is not None:
        _check_password(password, fields["login"].strip(), fields.get("name"), fields.get("phone"))
    user = users.create_user(session, password=password, **fields)
    _record(
        session,
        actor,
        "user.create",
        user,
        role=user.role.value,
        team=user.team.name if user.team else None,
        web_login=password is not None,
    )
    return user


def set_password(session: Session, user: User, password: str, *, actor: User | None) -> None:
    """A new password under the policy; the user's sessions end (tokens stay)."""
    _check_password(password, user.login, user.name, user.phone)
    users.set_password(user, password)
    _record(session, actor, "user.password", user)


def deactivate(session: Session, user: User, *, actor: User | None) -> int:
    """Take the account out of service at once: no login, sessions ended, tokens revoked,
    offline. Returns how many tokens were revoked. Refused for oneself and for the last
    active admin, so that someone can always administer the service."""
    if actor is not None and actor.id == user.id:
        raise AccountRefused("account.self", field="login")
    if user.role == Role.ADMIN and user.is_active and _active_admins(session) <= 1:
        raise AccountRefused("account.last_admin", field="login")
    if not user.is_active:
        return 0
    user.is_active = False
    user.agent_status = AgentStatus.OFFLINE
    users.end_sessions(user)
    revoked = users.revoke_tokens(session, user)
    _record(session, actor, "user.deactivate", user, tokens_revoked=revoked)
    return revoked


def activate(session: Session, user: User, *, actor: User | None) -> None:
    """Give the account its login back (its old tokens stay revoked)."""
    if user.is_active:
        return
    user.is_active = True
    _record(session, actor, "user.activate", user)


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def issue_token(session: Session, user: User, *, actor: User | None, name: str = "") -> str:
    """A new API token for the user, shown once (only its hash is kept)."""
    if not user.is_active:
        raise AccountRefused("account.inactive", field="login", user=user.login)
    token = users.create_token(session, user, name)
    _record(session, actor, "token.create", user, name=name)
    return token


def revoke_tokens(
    session: Session, user: User, *, actor: User | None, token_id: int | None = None
) -> int:
    """Revoke all the user's live tokens, or the one ``token_id``; they answer 401 from the
    next request. Returns how many were live."""
    revoked = users.revoke_tokens(session, user, token_id)
    _record(session, actor, "token.revoke", user, token_id=token_id, revoked=revoked)
    return revoked
