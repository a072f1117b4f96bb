"""Users, passwords and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from typing import Required, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dcc import clock, phones
from dcc.errors import Conflict, NotFound, ValidationError
from dcc.users.models import ApiToken, Role, Team, User


class UserFields(TypedDict, total=False):
    """What describes a new account besides its password (see :func:`create_user`)."""

    login: Required[str]
    role: Required[Role | str]
    name: str | None
    phone: str | None
    team: str | None
    region: str


def create_user(
    session: Session,
    *,
    login: str,
    role: Role | str,
    name: str | None = None,
    password: str | None = None,
    phone: str | None = None,
    team: str | None = None,
    region: str = "CN",
) -> User:
    """Add a user; ``team`` is a team name, created on first use."""
    login = login.strip()
    if not login:
        raise ValidationError("field.required", field="login")
    try:
        role = Role(role)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise ValidationError("field.bad_choice", field="role", choices=choices) from exc
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict("user.login_taken", field="login", login=login)
    user = User(
        login=login,
        name=name or login,
        role=role,
        phone=phones.normalize(phone, region) if phone else None,
        password_hash=generate_password_hash(password) if password else None,
        team=get_or_create_team(session, team) if team else None,
    )
    session.add(user)
    session.flush()
    return user


def get_or_create_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def get_by_login(session: Session, login: str) -> User:
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound("user.not_found", field="login", user=login)
    return user


def set_password(user: User, password: str) -> None:
    """Store the password's hash (no policy here: see :mod:`dcc.users.passwords`); every
    session of the user ends."""
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """End every web session of the user, on every device, at its next request."""
    user.session_version = (user.session_version or 0) + 1


@functools.cache
def _decoy_hash() -> str:
    """A hash of nothing anyone knows, made the way real passwords are hashed."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The active user with this login and password, or None.

    Takes as long for an unknown login, a deactivated user or one without a password as for a
    wrong password: the password is checked against a decoy hash, so the time of the answer
    does not tell which logins exist."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None or not user.is_active or not user.password_hash:
        check_password_hash(_decoy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> str:
    """Issue a bearer token; only its hash is kept, so this is the one chance to see it."""
    token = "dcc_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_hash_token(token), name=name))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a live token belongs to, or None."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.is_active:
        return None
    return row.user


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, live and revoked, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_tokens(session: Session, user: User, token_id: int | None = None) -> int:
    """Revoke the user's live tokens (or only ``token_id``, which must be the user's); they
    answer 401 from the next request. Returns how many were live."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if token_id is not None:
        token = session.scalar(query.where(ApiToken.id == token_id))
        if token is None:
            raise NotFound("token.not_found", field="id", user=user.login, token=token_id)
        rows = [token] if token.revoked_at is None else []
    else:
        rows = list(session.scalars(query.where(ApiToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = clock.now()
    return len(rows)
