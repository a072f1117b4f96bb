"""Helpers every page shares: who is logged in, role guards, domain errors as flash messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from dcc.db import get_session
from dcc.errors import DCCError
from dcc.users.models import Role, User
from dcc.web.messages import say

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "web_auth.login"
login_manager.login_message = None  # the login page says enough

#: Where each role starts its day.
#: Where each role lands: agents and consultants on their worklist (the consultant's shows
#: their prospects and today's arrivals), the others on the page of their work.
HOME = {
    Role.CLERK: "web_reception.page",
    Role.SUPERVISOR: "web_wallboard.page",
    Role.MANAGER: "web_queues.escalated",
    Role.ADMIN: "web_users.index",
}
#: The roles whose people take calls, and so set an agent status.
TAKES_CALLS = frozenset({Role.DCC_AGENT})


def me() -> User:
    """The logged-in user's row (views behind ``login_required`` only)."""
    user: User = current_user.user
    return user


def roles(*allowed: Role) -> Callable[[F], F]:
    """Only these roles may open the view; others get 403 (the link is not shown to them)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if me().role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def home_url(user: User) -> str:
    return url_for(HOME.get(user.role, "web_agent.worklist"))


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: an open redirect would let a link phish our agents."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return fallback


def refused(error: DCCError, back: str, **shown: Any) -> Response:
    """Undo the request's writes, tell the user why, and go back to the page."""
    get_session().rollback()
    flash(say(error, **shown), "error")
    return redirect(back)


def back_to(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)
