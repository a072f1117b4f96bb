"""Helpers every page shares: who is logged in, role guards, domain errors as flash messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from dcc.db import get_session
from dcc.errors import CallRefused, DCCError, InvalidPhoneNumber, PermissionDenied
from dcc.users.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "web_auth.login"
login_manager.login_message = None  # the login page says enough

#: Where each role starts its day.
HOME = {Role.CLERK: "web_reception.page"}


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


def explain(error: DCCError) -> str:
    """The domain's refusal in the agent's language (the domain speaks English)."""
    text = error.message
    if isinstance(error, CallRefused):
        if "do-not-call" in text:
            return _("The customer is on the do-not-call list.")
        if "calling hours" in text:
            return _("Outside calling hours: %(detail)s", detail=text.split("(", 1)[-1].rstrip(")"))
        if "lead is" in text:
            return _("The lead is closed; it cannot be called.")
    if isinstance(error, InvalidPhoneNumber):
        return _("Not a valid phone number.")
    if isinstance(error, PermissionDenied):
        return _refusal(error)
    if "no phone to ring" in text:
        return _("Your user has no phone to ring; ask an admin.")
    return text


def _refusal(error: PermissionDenied) -> str:
    """A permission refusal (:mod:`dcc.access`) by what it was about."""
    if error.field == "customer_ids":
        return _("The customer also has leads of another team: an admin decides.")
    if error.field == "owner_id":
        return _("Leads go only to agents and consultants of your team.")
    if error.field == "callback_id":
        return _("This callback is not yours to take yet.")
    return _("This is for the lead's owner or its manager.")


def refused(error: DCCError, back: str) -> Response:
    """Undo the request's writes, tell the user why, and go back to the page."""
    get_session().rollback()
    flash(explain(error), "error")
    return redirect(back)


def back_to(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)
