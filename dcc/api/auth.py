"""Bearer-token authentication for the JSON API."""

from __future__ import annotations

from flask import g, request

from dcc.db import get_session
from dcc.errors import DCCError
from dcc.users import service as users
from dcc.users.models import User


class Unauthorized(DCCError):
    status_code = 401


def authenticate_request() -> None:
    """Blueprint hook: every API request carries ``Authorization: Bearer <token>``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required", field="Authorization")
    user = users.user_for_token(get_session(), token.strip())
    if user is None:
        raise Unauthorized("the token is unknown or revoked", field="Authorization")
    g.api_user = user


def current_user() -> User:
    user: User = g.api_user
    return user
