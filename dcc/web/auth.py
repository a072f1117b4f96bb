"""Logging in and out (Flask-Login sessions over the users' hashed passwords), and language.

A session's id carries the user's session version: logging out raises it, so the session
ends on the server too (a cookie copied before the logout opens nothing), and so do a new
password and deactivation. Failed logins are throttled per account and per address.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from dcc.db import get_session
from dcc.users import service as users
from dcc.users.models import AgentStatus, Role, User
from dcc.users.throttle import LoginThrottled, client_address, get_throttle, log_in
from dcc.web.common import back_to, home_url, login_manager, me, safe_next
from dcc.web.forms import LoginForm

bp = Blueprint("web_auth", __name__)
LOCALES = ("zh_Hans", "en")
DEFAULT_LOCALE = "zh_Hans"


class Account(UserMixin):
    """The logged-in user as Flask-Login sees it; ``.user`` is the row."""

    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    def get_id(self) -> str:
        # The version changes at logout, with a new password and on deactivation; the stamp
        # with the password however it was changed: either ends every older session.
        return f"{self.user.id}:{self.user.session_version}:{password_stamp(self.user)}"


def password_stamp(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


@login_manager.user_loader
def load_account(session_id: str) -> Account | None:
    user_id, version, stamp = [*session_id.split(":"), "", ""][:3]
    if not user_id.isdigit() or len(user_id) > 10:
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    if version != str(user.session_version) or stamp != password_stamp(user):
        return None
    return Account(user)


def current_locale() -> str:
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int, dict[str, str]]:
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = log_in(
                get_session(),
                get_throttle(),
                login=form.login.data or "",
                password=form.password.data or "",
                address=client_address(request.remote_addr, request.headers.get("X-Forwarded-For")),
            )
        except LoginThrottled as refused:
            minutes = max(1, -(-refused.retry_after // 60))
            flash(
                _(
                    "Too many failed logins. Try again in %(minutes)s minutes.",
                    minutes=minutes,
                ),
                "error",
            )
            page = render_template("web/login.html", form=form)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        if user is not None:
            login_user(Account(user))
            return redirect(safe_next(request.args.get("next"), home_url(user)))
        flash(_("Wrong login or password."), "error")
    return render_template("web/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    user = me()
    if user.role in {Role.DCC_AGENT, Role.CONSULTANT}:
        user.agent_status = AgentStatus.OFFLINE  # nobody to ring any more
    users.end_sessions(user)
    logout_user()
    return redirect(url_for("web_auth.login"))


@bp.post("/locale/<code>")
def set_locale(code: str) -> Response:
    """The language switch (a form: it changes the session, so it carries the CSRF token)."""
    if code in LOCALES:
        session["locale"] = code
    return redirect(back_to("/"))
