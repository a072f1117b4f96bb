"""``/manager/follow-ups``: the agents' follow-up records, for the manager's comment (批复).

Managers and admins comment; supervisors read. The agent sees the comment on the lead page.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc import clock
from dcc.access import MANAGING, OVERSEEING
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import DCCError, NotFound, ValidationError
from dcc.leads import review
from dcc.reports.period import Period
from dcc.web.common import back_to, me, refused, roles
from dcc.web.manager_forms import (
    CommentForm,
    ReviewFilterForm,
    first_errors,
    flash_errors,
    owner_choices,
    owners,
    period_message,
)

bp = Blueprint("web_reviews", __name__, url_prefix="/manager")
#: The review looks back this many days unless told otherwise.
DEFAULT_DAYS = 7


@bp.get("/follow-ups")
@roles(*OVERSEEING)
def index() -> tuple[str, int]:
    """Follow-ups done in the period (the last week by default), uncommented ones first."""
    session, user, timezone = get_session(), me(), get_settings().timezone
    form = ReviewFilterForm(formdata=request.args)
    form.owner.choices = owner_choices(owners(session, user))
    errors = [] if form.validate() else first_errors(form)
    try:
        period = _period(
            None if errors else form.start.data, None if errors else form.end.data, timezone
        )
    except ValidationError as error:
        errors.append(period_message(error, form.start.label.text, form.end.label.text))
        period = _period(None, None, timezone)
    rows = review.follow_ups_done(
        session,
        user,
        period=period,
        owner_id=None if errors else form.owner.data,
        uncommented_only=form.uncommented.data == "1",
    )
    body = render_template(
        "web/manager/follow_ups.html",
        form=form,
        errors=errors,
        period=period,
        rows=rows,
        comment=CommentForm(formdata=None),
        may_act=user.role in MANAGING,
        limit=review.LIMIT,
    )
    return body, 422 if errors else 200


def _period(start: dt.date | None, end: dt.date | None, timezone: str) -> Period:
    """From and To as asked; by default the last week up to today (dealer local days)."""
    last = end or clock.local(clock.now(), timezone).date()
    first = start or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    return Period.parse(first.isoformat(), last.isoformat(), timezone)


@bp.post("/follow-ups/<int:follow_up_id>/comment")
@roles(*MANAGING)
def comment(follow_up_id: int) -> Response:
    """The manager's comment (批复) on one follow-up record."""
    session, user = get_session(), me()
    back = back_to(url_for(".index"))
    try:
        follow_up = review.get_follow_up(session, user, follow_up_id)
    except NotFound:
        abort(404)
    form = CommentForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    try:
        review.comment(session, follow_up, text=form.comment.data or "", manager=user)
    except DCCError as error:
        return refused(error, back)
    flash(_("Comment saved; the agent sees it on the lead."), "info")
    return redirect(back)
