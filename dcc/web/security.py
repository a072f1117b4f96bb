"""Security headers on every answer (Flask-Talisman).

The pages load nothing but their own scripts and styles: no inline script, no inline style
attribute, no other site's resources, so the policy allows ``'self'`` only. With the browser
softphone, the vendored Twilio Voice SDK also reaches Twilio (signalling over WebSocket, call
quality reports, its ring tones). No page may be framed; the referrer never leaves the site
(URLs carry lead ids and searched numbers); HSTS is sent on answers served over HTTPS (or
behind a proxy that says ``X-Forwarded-Proto: https``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_talisman import Talisman

from dcc.config import Settings

talisman = Talisman()

#: Where the Twilio Voice SDK connects: ``wss://voice-js.<edge>.twilio.com``, the call
#: quality gateway ``https://eventgw.twilio.com``; and where its ring tones are.
TWILIO_CONNECT = "wss://*.twilio.com https://*.twilio.com"
TWILIO_MEDIA = "https://sdk.twilio.com"
HSTS_SECONDS = 365 * 24 * 3600


def content_security_policy(settings: Settings) -> dict[str, str]:
    """The policy of every page; the softphone's Twilio hosts only when it is configured."""
    connect, media = "'self'", "'self'"
    if settings.softphone:
        connect += f" {TWILIO_CONNECT}"
        media += f" {TWILIO_MEDIA} blob:"
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": connect,
        "media-src": media,
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_app(app: Flask, settings: Settings) -> None:
    talisman.init_app(
        app,
        force_https=False,  # the proxy terminates TLS; the embedded mode is plain HTTP
        strict_transport_security=True,
        strict_transport_security_max_age=HSTS_SECONDS,
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=bool(app.config["SESSION_COOKIE_SECURE"]),
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=content_security_policy(settings),
        referrer_policy="same-origin",
        permissions_policy={
            "microphone": "(self)" if settings.softphone else "()",
            "camera": "()",
            "geolocation": "()",
        },
    )


def relax_for(app: Flask, blueprint: str, policy: dict[str, str]) -> None:
    """Give every view of ``blueprint`` (a third-party UI) its own policy."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(f"{blueprint}."):
            app.view_functions[endpoint] = talisman(content_security_policy=policy)(_own_copy(view))


def _own_copy(view: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper to carry the policy, leaving the library's function as it was."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return wrapper
