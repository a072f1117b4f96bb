"""The pages' own 4xx/5xx answers: styled, in the reader's language, with a way back."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dcc.db import get_session
from dcc.errors import ValidationError
from dcc.untrusted import MAX_ID, IdOutOfRange, PageInputRefused
from dcc.web.messages import say


def _texts(error: HTTPException, code: int) -> tuple[str, str]:
    if isinstance(error, PageInputRefused):
        return _("Request refused"), say(error.error)
    if isinstance(error, IdOutOfRange):
        out_of_range = ValidationError("field.out_of_range", field=error.field, min=1, max=MAX_ID)
        return _("Request refused"), say(out_of_range)
    if isinstance(error, CSRFError):
        return _("Request refused"), _(
            "The form's CSRF token is missing or expired: reload the page and send it again."
        )
    if code == 403:
        return _("Not allowed"), _("Your role may not open this page.")
    if code == 404:
        return _("Not found"), _("This page does not exist, or is not yours to see.")
    if code >= 500:
        return _("Something went wrong"), _(
            "The page could not be shown; nothing you sent was changed. Try again in a moment."
        )
    return _("Request refused"), _("The request could not be served as it was sent.")


def render(error: HTTPException) -> Any:
    code = error.code or 500
    # A refusal before the request's own setup (the input checks) may find a user cached
    # by an earlier request of the same app context: the page loads its reader afresh.
    g.pop("_login_user", None)
    if code >= 500:
        get_session().rollback()  # the failed request's writes must not reach the page
    title, text = _texts(error, code)
    page = render_template("web/error.html", code=code, title=title, text=text, panel=None)
    headers = error.get_response().headers if code == 405 else None
    return page, code, headers or {}


def init_app(app: Flask) -> None:
    """Pages (not the API or the webhooks, which answer JSON) show their own error pages."""
    app.extensions["dcc.error_page"] = render
