"""The lead page and what an agent does from it: call, text, record the outcome."""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from dcc import access, messaging
from dcc.access import get_visible_lead, visible_leads
from dcc.calls import dialer, ready, wrapup
from dcc.calls import history as call_history
from dcc.calls.models import Call
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import CallRefused, DCCError, NotFound
from dcc.leads import rules
from dcc.leads.models import Grade, Lead, LostReason, LostRequest
from dcc.messaging import SentMessage
from dcc.reception import consultants
from dcc.sales import catalogue, orders
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.untrusted import db_id
from dcc.users.models import User
from dcc.voice import get_telephony
from dcc.web import panel
from dcc.web.common import me, refused
from dcc.web.forms import OutcomeForm, SmsForm, aware, choices
from dcc.web.messages import say
from telephony import TelephonyError

bp = Blueprint("web_leads", __name__)


def _lead_or_404(lead_id: int) -> Lead:
    try:
        return get_visible_lead(get_session(), me(), lead_id)
    except NotFound:
        abort(404)  # the same answer for "no such lead" and "not yours", as in the API


@bp.get("/leads/<int:lead_id>")
@login_required
def page(lead_id: int) -> str:
    return _page(lead_id, request.args.get("call", type=db_id))


def _page(lead_id: int, call_id: int | None, submitted: OutcomeForm | None = None) -> str:
    """The lead page; ``submitted`` is an outcome form refused, shown again as it was typed
    (in the call panel when it named a call of this lead)."""
    session, user = get_session(), me()
    lead = _lead_or_404(lead_id)
    may_work = lead.is_open and access.may_work_lead(session, user, lead)
    if submitted is not None:
        submitted.consultant.choices = choices([(c.id, c.name) for c in consultants(session)])
    call_panel = panel.for_request(session, user, call_id, outcome=submitted)
    in_panel = (
        call_panel is not None and call_panel.lead is not None and call_panel.lead.id == lead.id
    )
    calls_made = call_history.lead_history(session, lead.id)
    return render_template(
        "web/lead.html",
        lead=lead,
        customer=lead.customer,
        other_leads=session.scalars(
            select(Lead)
            .where(Lead.customer_id == lead.customer_id, Lead.id != lead.id, visible_leads(user))
            .order_by(Lead.created_at.desc())
        ).all(),
        calls=calls_made,
        agents=_names(session, [c.agent_id for c in calls_made]),
        appointments=session.scalars(
            select(Appointment).where(Appointment.lead_id == lead.id).order_by(Appointment.id)
        ).all(),
        visits=session.scalars(
            select(ShowroomVisit).where(ShowroomVisit.lead_id == lead.id).order_by(ShowroomVisit.id)
        ).all(),
        sms_messages=session.scalars(
            select(SentMessage)
            .where(SentMessage.lead_id == lead.id)
            .order_by(SentMessage.created_at.desc(), SentMessage.id.desc())
        ).all(),
        lost_requests=session.scalars(
            select(LostRequest).where(LostRequest.lead_id == lead.id).order_by(LostRequest.id)
        ).all(),
        panel=call_panel,
        outcome=None
        if in_panel or not may_work
        else submitted or panel.outcome_form(session, lead, user, None),
        outcome_rule_days=json.dumps(rules.follow_up_days(session)),
        sms=SmsForm(formdata=None),
        may_call=may_work,
        orders=orders.for_lead(session, lead.id),
        vehicles=orders.vehicles(session, lead.customer_id),
        may_order=user.role in access.ORDER_TAKERS,
        catalogue_entries=catalogue.entries(session, active_only=True),
    )


def _names(session: Any, ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(wanted)))}


@bp.post("/leads/<int:lead_id>/call")
@login_required
def call(lead_id: int) -> Response:
    """Click-to-dial, with the API's checks: refusals (409) come back as a message."""
    session, user, settings = get_session(), me(), get_settings()
    lead = _lead_or_404(lead_id)
    back = url_for("web_leads.page", lead_id=lead_id)
    try:
        placed = dialer.dial(
            session, lead, agent=user, settings=settings, telephony=get_telephony()
        )
    except DCCError as error:
        return refused(error, back)
    flash(_("Calling: your phone rings first, then the customer's."), "info calling")
    return redirect(url_for("web_leads.page", lead_id=lead_id, call=placed.id))


@bp.post("/leads/<int:lead_id>/sms")
@login_required
def sms(lead_id: int) -> Response:
    """A text to the customer (e.g. the address), kept with the lead."""
    session, user, settings = get_session(), me(), get_settings()
    lead = _lead_or_404(lead_id)
    back = url_for("web_leads.page", lead_id=lead_id)
    form = SmsForm()
    if not form.validate():
        flash(_("Write the message first."), "error")
        return redirect(back)
    try:
        access.check_may_work_lead(session, user, lead)
        if lead.customer.do_not_call:
            raise CallRefused("call.do_not_call", field="lead_id")
        messaging.send_once(
            session,
            get_telephony(),
            key=f"ui-{lead.id}-{secrets.token_hex(8)}",
            to=lead.customer.phone,
            body=form.body.data or "",
            from_=settings.hotline_number,
            lead_id=lead.id,
        )
    except DCCError as error:
        return refused(error, back)
    except TelephonyError as error:
        flash(_("The message was not sent: %(error)s", error=str(error)), "error")
        return redirect(back)
    flash(_("Message sent."), "info")
    return redirect(back)


@bp.post("/leads/<int:lead_id>/outcome")
@login_required
def outcome(lead_id: int) -> Response | tuple[str, int]:
    """Wrap-up: result (required), grade, next follow-up, and a visit or a lost request."""
    session, user, settings = get_session(), me(), get_settings()
    form = OutcomeForm()
    form.consultant.choices = []  # checked by the domain: an active consultant
    call_id = form.call_id.data if isinstance(form.call_id.data, int) else None
    lead = _lead_of_call(call_id, lead_id) or _lead_or_404(lead_id)
    # The agent who took a teammate's customer records the call's outcome from the panel,
    # without the lead page, which stays its owner's.
    on_lead_page = access.may_see_lead(session, user, lead_id)
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        if not on_lead_page:
            return redirect(url_for("web_agent.worklist", call=call_id))
        return _page(lead_id, call_id, form), 422
    try:
        the_call = access.get_visible_call(session, user, call_id) if call_id else None
        saved = ready.save_outcome(
            session,
            lead,
            _outcome(form, session, settings.timezone),
            actor=user,
            call=the_call,
            settings=settings,
            telephony=get_telephony(),
        )
    except DCCError as error:
        session.rollback()
        flash(say(error), "error")
        shown_call = None if isinstance(error, NotFound) else call_id
        if not on_lead_page:
            return redirect(url_for("web_agent.worklist", call=shown_call))
        return _page(lead_id, shown_call, form), 422
    if saved.appointment is not None:
        flash(_("Saved. The visit is booked; the customer gets a confirmation SMS."), "info")
    else:
        flash(_("Saved."), "info")
    if not on_lead_page:
        return redirect(url_for("web_agent.worklist"))
    return redirect(url_for("web_leads.page", lead_id=lead_id))


def _lead_of_call(call_id: int | None, lead_id: int) -> Lead | None:
    """``lead_id``'s lead when it is the lead of a call the user may see (their own call on a
    teammate's customer included); None otherwise."""
    if call_id is None:
        return None
    session = get_session()
    call = session.get(Call, call_id)
    if call is None or call.lead_id != lead_id or not access.may_see_call(session, me(), call):
        return None
    return session.get(Lead, lead_id)


def _outcome(form: OutcomeForm, session: Any, timezone: str) -> wrapup.Outcome:
    """The form as the domain's outcome; what each action needs is the domain's rule."""
    # The form's "none" (keep following up) is the domain's default action.
    action = {"appointment": wrapup.APPOINTMENT, "lost": wrapup.LOST}.get(
        form.action.data or "", wrapup.FOLLOW_UP
    )
    reason = form.lost_reason.data if action == wrapup.LOST else None
    return wrapup.Outcome(
        result=form.result.data or "",
        action=action,
        grade=Grade(form.grade.data) if form.grade.data else None,
        next_due_at=(
            aware(form.next_due_at.data, timezone) if form.next_due_custom.data == "1" else None
        ),
        appointment_at=(
            aware(form.appointment_at.data, timezone) if action == wrapup.APPOINTMENT else None
        ),
        consultant=session.get(User, form.consultant.data) if form.consultant.data else None,
        lost_reason=LostReason(reason) if reason else None,
        lost_note=form.lost_note.data or None,
    )
