"""The staff web UI: agent screen, lead pages, live call panel, reception and admin pages.

Server-rendered Jinja pages with a little vanilla JS; Simplified Chinese by default with an
English switch (Flask-Babel); Flask-Login sessions; CSRF on every form (Flask-WTF). The JSON
API and the webhooks keep their own authentication (bearer tokens, signatures) and are left
out of the CSRF check.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_babel import refresh as refresh_babel
from flask_login import current_user

from dcc import access, clock
from dcc.db import get_session
from dcc.web import (
    admin,
    agent,
    auth,
    calls,
    customers,
    error_pages,
    key_rotation,
    labels,
    leads,
    orders,
    panel,
    queues,
    reception,
    reports,
    reviews,
    security,
    softphone,
    sources,
    staffing,
    stream,
    users,
    wallboard,
)
from dcc.web.common import TAKES_CALLS, home_url, login_manager
from dcc.web.key_rotation import RotatingCSRFProtect

csrf = RotatingCSRFProtect()
babel = Babel()
#: Paths whose clients authenticate otherwise and never hold a CSRF token.
CSRF_FREE_PREFIXES = ("/api/", "/webhooks/")


def init_app(app: Flask) -> None:
    settings = app.extensions["dcc.settings"]
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked below, outside the API and the webhooks
        WTF_CSRF_TIME_LIMIT=None,  # an agent's page stays open all shift
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://")
        and not settings.testing,
        BABEL_DEFAULT_LOCALE=auth.DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(app.root_path, "translations"),
    )
    csrf.init_app(app)
    security.init_app(app, settings)
    key_rotation.init_app(app)
    babel.init_app(app, locale_selector=auth.current_locale)
    login_manager.init_app(app)

    @app.before_request
    def _fresh_user_and_csrf_check() -> None:
        # Flask-Login, Flask-WTF and Flask-Babel cache the user, the CSRF token and the locale
        # on the app context; one that spans requests (tests, scripts) would hand a request an
        # earlier request's user (of a closed session), token or language.
        g.pop("_login_user", None)
        g.pop(app.config["WTF_CSRF_FIELD_NAME"], None)
        refresh_babel()
        if not request.path.startswith(CSRF_FREE_PREFIXES):
            csrf.protect()

    for module in (auth, agent, leads, calls, stream, reception, admin, sources, users, softphone):
        app.register_blueprint(module.bp)
    app.register_blueprint(orders.bp)
    for module in (wallboard, customers, queues, reviews, reports):  # supervisors and managers
        app.register_blueprint(module.bp)
    app.register_blueprint(staffing.bp)
    admin.mount_rq_dashboard(app)
    error_pages.init_app(app)
    _template_helpers(app, settings.timezone)


def _template_helpers(app: Flask, timezone: str) -> None:
    app.add_template_filter(labels.label, "label")

    @app.template_filter("local")
    def _local(moment: Any, fmt: str = "%m-%d %H:%M") -> str:
        """A stored UTC moment in the dealer's time zone."""
        return clock.local(moment, timezone).strftime(fmt) if moment else ""

    @app.template_filter("phone")
    def _phone(e164: str | None, owner_id: int | None = None) -> str:
        """Masked (138****8000) for roles that do not dial, unless the reader owns the lead
        (``owner_id``); dialable for the others."""
        user = current_user.user if current_user.is_authenticated else None
        return access.phone_for(user, e164, national=True, owner_id=owner_id)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        user = current_user.user if current_user.is_authenticated else None
        return {
            "me": user,
            "locale": session.get("locale", "zh_Hans"),
            "js_labels": labels.js_labels() if user else {},
            "dealer_name": app.extensions["dcc.settings"].dealer_name,
            "softphone": app.extensions["dcc.settings"].softphone,
            "now": clock.now(),
            "current_panel": (lambda: panel.current(get_session(), user)) if user else None,
            "home": home_url(user) if user else "/",
            "takes_calls": user is not None and user.role in TAKES_CALLS,
        }
