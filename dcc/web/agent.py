"""The agent's home: the worklist, the agent status, and taking a due callback."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from dcc import worklist
from dcc.calls import agents, ready, wrapup
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import DCCError, NotFound
from dcc.leads.models import Callback
from dcc.untrusted import db_id
from dcc.users.models import AgentStatus, Role
from dcc.voice import get_telephony
from dcc.web import panel
from dcc.web.common import me, refused

bp = Blueprint("web_agent", __name__)

#: Statuses an agent sets by hand; offline comes with logging out.
SETTABLE = (AgentStatus.AVAILABLE, AgentStatus.ON_CALL, AgentStatus.WRAP_UP, AgentStatus.AWAY)


@bp.get("/", endpoint="worklist")
@login_required
def worklist_page() -> str | Response:
    user = me()
    if user.role == Role.CLERK:
        return redirect(url_for("web_reception.page"))
    session = get_session()
    work = worklist.build(session, user, timezone=get_settings().timezone)
    return render_template(
        "web/worklist.html",
        work=work,
        statuses=SETTABLE,
        panel=panel.for_request(session, user, request.args.get("call", type=db_id)),
    )


@bp.post("/status")
@login_required
def set_status() -> Response:
    """Available, on call, wrap-up or away: routing rings only available agents."""
    try:
        status = AgentStatus(request.form.get("status", ""))
    except ValueError:
        status = None
    if status not in SETTABLE:
        flash(_("Unknown status."), "error")
        return redirect(url_for("web_agent.worklist"))
    # Back from away or wrap-up: the queue is served, then the waiting new leads.
    ready.set_status(
        get_session(), me(), status, settings=get_settings(), telephony=get_telephony()
    )
    return redirect(url_for("web_agent.worklist"))


@bp.post("/wrap-up/extend")
@login_required
def extend_wrap_up() -> Response:
    """More time for the wrap-up: it ends one extension later."""
    try:
        agents.extend_wrap_up(get_session(), me())
    except DCCError as error:
        return refused(error, url_for("web_agent.worklist"))
    return redirect(url_for("web_agent.worklist"))


@bp.post("/next")
@login_required
def call_next() -> Response:
    """ "Call the next one": the most urgent item due is called (a callback taken, a lead
    dialled), so the agent works down the list without choosing."""
    session, user, settings = get_session(), me(), get_settings()
    back = url_for("web_agent.worklist")
    item = worklist.next_due(session, user, settings=settings)
    if item is None:
        if worklist.follow_ups_wait(session, user, settings=settings):
            flash(
                _("Follow-ups wait while no other agent is free for the hotline and new leads."),
                "info",
            )
        else:
            flash(_("Nothing is due now."), "info")
        return redirect(back)
    try:
        call = worklist.call(
            session, item, agent=user, settings=settings, telephony=get_telephony()
        )
    except DCCError as error:
        return refused(error, back)
    flash(_("Calling: your phone rings first, then the customer's."), "info calling")
    return redirect(url_for("web_agent.worklist", call=call.id))


@bp.post("/callbacks/<int:callback_id>/take")
@login_required
def take_callback(callback_id: int) -> Response:
    """Accept a due callback: the agent's phone rings, then the customer's."""
    session, settings = get_session(), get_settings()
    back = url_for("web_agent.worklist")
    callback = session.get(Callback, callback_id)
    try:
        if callback is None:
            raise NotFound("callback.not_found", field="callback_id", callback=callback_id)
        call = wrapup.take_callback(
            session, callback, agent=me(), settings=settings, telephony=get_telephony()
        )
    except DCCError as error:
        return refused(error, back)
    flash(_("Calling back: your phone rings first."), "info calling")
    return redirect(url_for("web_agent.worklist", call=call.id))
