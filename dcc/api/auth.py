"""Bearer-token authentication for the JSON API, and the browser's session for reading.

A logged-in page may follow a link into the API (the reports' "Export Excel" button) with its
session cookie instead of a token, for safe methods only: the API is outside the CSRF check,
so anything that writes still needs a bearer token.
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user as session_user

from dcc.db import get_session
from dcc.errors import DCCError
from dcc.users import service as users
from dcc.users.models import User


class Unauthorized(DCCError):
    status_code = 401


SAFE_METHODS = frozenset({"GET", "HEAD"})


def authenticate_request() -> None:
    """Blueprint hook: ``Authorization: Bearer <token>``, or a web session for GET and HEAD."""
    header = request.headers.get("Authorization", "")
    if not header and request.method in SAFE_METHODS and session_user.is_authenticated:
        g.api_user = session_user.user
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("auth.token_required", field="Authorization")
    user = users.user_for_token(get_session(), token.strip())
    if user is None:
        raise Unauthorized("auth.token_unknown", field="Authorization")
    g.api_user = user


def current_user() -> User:
    user: User = g.api_user
    return user
