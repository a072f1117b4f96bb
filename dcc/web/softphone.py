"""``GET /api/v1/voice/token``: a Voice access token for the browser softphone.

Answers a logged-in page (session cookie) or an integration (bearer token) alike.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user

from dcc import softphone
from dcc.api.auth import Unauthorized
from dcc.config import get_settings
from dcc.db import get_session
from dcc.users import service as users
from dcc.users.models import User

bp = Blueprint("web_softphone", __name__)


def _caller() -> User:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = users.user_for_token(get_session(), token.strip())
        if user is None:
            raise Unauthorized("auth.token_unknown", field="Authorization")
        return user
    if current_user.is_authenticated:
        found: User = current_user.user
        return found
    raise Unauthorized("auth.login_or_token", field="Authorization")


@bp.get("/api/v1/voice/token")
def voice_token() -> Any:
    body = softphone.voice_token(_caller(), get_settings())
    return jsonify(body), 200, {"Cache-Control": "no-store"}
