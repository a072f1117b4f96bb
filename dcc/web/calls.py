"""A call's live panel, the script step reached, a new caller's record, and its recording."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from dcc import access
from dcc.calls import recordings, wrapup
from dcc.calls.models import Call
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import Conflict, DCCError, NotFound
from dcc.leads import capture as lead_capture
from dcc.leads import intake
from dcc.leads.models import Channel
from dcc.voice import get_telephony
from dcc.web import panel
from dcc.web.common import me, refused
from dcc.web.forms import CaptureForm, NewCustomerForm
from dcc.web.manager_forms import first_errors, flash_errors
from dcc.web.messages import say

bp = Blueprint("web_calls", __name__)


def _call_or_404(call_id: int) -> Call:
    try:
        return access.get_visible_call(get_session(), me(), call_id)
    except NotFound:
        abort(404)


@bp.get("/calls/<int:call_id>/panel")
@login_required
def panel_fragment(call_id: int) -> str:
    """The panel's HTML, loaded by the page when a screen pop arrives."""
    session, user = get_session(), me()
    return render_template(
        "web/_call_panel.html", panel=panel.build(session, user, _call_or_404(call_id))
    )


@bp.post("/calls/<int:call_id>/script-step")
@login_required
def script_step(call_id: int) -> Any:
    """The agent ticked a step: the furthest step reached is kept on the call."""
    call = _call_or_404(call_id)
    body = request.get_json(silent=True) or request.form
    try:
        step = wrapup.reach_step(get_session(), call, body.get("step"), actor=me())
    except DCCError as error:
        return jsonify(error=error.to_dict()), error.status_code
    return jsonify(call_id=call.id, script_step=step)


@bp.post("/calls/<int:call_id>/customer")
@login_required
def new_customer(call_id: int) -> BaseResponse:
    """A caller the hotline could not identify: the agent records who it is."""
    session, user, settings = get_session(), me(), get_settings()
    call = _call_or_404(call_id)
    back = url_for("web_agent.worklist", call=call.id)
    form = NewCustomerForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    try:
        access.check_may_work_call(session, user, call)
        result = intake.receive(
            session,
            intake.LeadInput(
                phone=form.phone.data or "",
                name=form.name.data or "",
                series=form.series.data or None,
                model=form.series.data or None,
                channel=Channel.HOTLINE,
                owner_id=user.id,
                details={"call_sid": call.sid},
            ),
            region=settings.default_region,
            actor=user,
        )
        if not access.may_see_lead(session, user, result.lead_id):
            # The customer stays its owner's; its ids are not told.
            raise Conflict("customer.someone_elses", field="phone")
    except DCCError as error:
        return refused(error, back)
    call.lead_id, call.customer_id = result.lead_id, result.customer_id
    return redirect(url_for("web_leads.page", lead_id=result.lead_id, call=call.id))


def _fragment_wanted() -> bool:
    """The panel's own script posts for the panel's HTML back; a plain form goes back home."""
    return request.headers.get("X-DCC-Fragment") == "panel"


@bp.post("/calls/<int:call_id>/capture")
@login_required
def capture(call_id: int) -> BaseResponse | tuple[str, int] | str:
    """The script's questions answered: written to the customer and the lead, and the panel
    (script included) comes back filled with them; a refusal keeps what was typed."""
    session, user = get_session(), me()
    call = _call_or_404(call_id)
    form = CaptureForm()
    problem = None
    if call.lead is None:
        abort(404)
    if form.validate():
        try:
            lead_capture.capture(
                session,
                call.lead,
                lead_capture.Capture(
                    name=form.name.data,
                    title=form.title.data or None,
                    series=form.series.data,
                    budget=form.budget.data,
                    timeframe=form.timeframe.data,
                    city=form.city.data,
                    trade_in={"yes": True, "no": False}.get(form.trade_in.data or ""),
                    consent=bool(form.consent.data),
                ),
                actor=user,
                call=call,
            )
        except DCCError as error:
            session.rollback()
            problem = say(error)
    else:
        problem = "; ".join(first_errors(form))
    if not _fragment_wanted():
        if problem:
            flash(problem, "error")
        return redirect(url_for("web_agent.worklist", call=call.id))
    if problem:
        built = panel.build(session, user, call, capture=form)
        built.problem = problem
        return render_template("web/_call_panel.html", panel=built), 400
    return render_template("web/_call_panel.html", panel=panel.build(session, user, call))


@bp.get("/calls/<int:call_id>/recording")
@login_required
def recording(call_id: int) -> Response:
    """The recording, streamed through the app for users who may see the call."""
    call = _call_or_404(call_id)
    try:
        audio = recordings.open_recording(call, get_telephony())
    except DCCError:
        abort(404)
    headers = {"Cache-Control": "private, no-store"}
    if audio.length:
        headers["Content-Length"] = audio.length
    return Response(audio.chunks, mimetype=audio.content_type, headers=headers)
