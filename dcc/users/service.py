"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from dcc import phones
from dcc.errors import Conflict, NotFound, ValidationError
from dcc.users.models import ApiToken, Role, Team, User


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
    user.password_hash = generate_password_hash(password)


def authenticate(session: Session, login: str, password: str) -> User | None:
    """The active user with this login and password, or None."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None or not user.is_active or not user.password_hash:
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
