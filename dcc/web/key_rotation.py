"""Rotating the secret key without logging anyone out (``DCC_SECRET_KEY_FALLBACKS``).

Flask reads a session cookie signed with a key in ``SECRET_KEY_FALLBACKS``; here such a
cookie is signed again with the current key on its next answer, so that once every user has
made a request the old key can be dropped. Flask-WTF checks a form's token with the current
key only: after a rotation every page left open (an agent's, all shift) would fail its next
form. :class:`RotatingCSRFProtect` re-signs a token that a previous key signed before
Flask-WTF checks it; every other check (the session's token, the time limit, the referrer
over HTTPS) stays Flask-WTF's.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "wtf-csrf-token"  # Flask-WTF's


class RotatingCSRFProtect(CSRFProtect):
    def _get_csrf_token(self) -> Any:
        token = super()._get_csrf_token()
        return resigned(token) if token else token


def resigned(token: str) -> str:
    """``token`` signed with the current key when any of the keys signed it; else unchanged
    (a bad token stays bad, for Flask-WTF to refuse)."""
    config = current_app.config
    previous = list(config.get("SECRET_KEY_FALLBACKS") or ())
    if not previous or config.get("WTF_CSRF_SECRET_KEY"):
        return token  # nothing rotated, or a CSRF key of its own that the fallbacks are not
    # itsdangerous tries every key and signs with the last one.
    keys = [*reversed(previous), current_app.secret_key or ""]
    signer = URLSafeTimedSerializer(keys, salt=SALT)
    try:
        raw = signer.loads(token, max_age=config.get("WTF_CSRF_TIME_LIMIT"))
    except BadData:
        return token
    return signer.dumps(raw)


def init_app(app: Flask) -> None:
    app.before_request(_session_to_current_key)


def _session_to_current_key() -> None:
    """A session cookie that a previous key signed is saved again, with the current key."""
    app = current_app
    interface = app.session_interface
    cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
    if not cookie or not app.config.get("SECRET_KEY_FALLBACKS"):
        return
    if not isinstance(interface, SecureCookieSessionInterface) or not app.secret_key:
        return
    current_only = URLSafeTimedSerializer(
        app.secret_key,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={
            "key_derivation": interface.key_derivation,
            "digest_method": interface.digest_method,
        },
    )
    try:
        current_only.loads(cookie)
    except BadData:
        session.modified = True
