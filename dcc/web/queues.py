"""The manager's queues: lost requests to decide (战败审批), and the escalations to reassign —
invited 30 days ago without arriving (多余30天邀约未到), and unreachable (多次未接通).

Managers and admins act; supervisors see the queues read-only.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc.access import MANAGING, OVERSEEING, get_visible_lead
from dcc.db import get_session
from dcc.errors import DCCError, InvalidTransition, NotFound
from dcc.leads import escalations, lifecycle, reassignment, review
from dcc.users.models import User
from dcc.web.common import back_to, me, refused, roles
from dcc.web.manager_forms import (
    LeadReassignForm,
    LostDecisionForm,
    flash_errors,
    owner_choices,
    owners,
)

bp = Blueprint("web_queues", __name__, url_prefix="/manager")


@bp.get("/lost-requests")
@roles(*OVERSEEING)
def lost_requests() -> str:
    """The pending lost requests (战败申请) of the reader's leads, oldest first."""
    session, user = get_session(), me()
    return render_template(
        "web/manager/lost_requests.html",
        requests=review.pending_lost_requests(session, user),
        decision=LostDecisionForm(formdata=None),
        may_act=user.role in MANAGING,
    )


@bp.post("/lost-requests/<int:request_id>")
@roles(*MANAGING)
def decide(request_id: int) -> Response:
    """Confirm (the lead is lost, grade F) or reject (back to its owner) a lost request."""
    session, user = get_session(), me()
    back = url_for(".lost_requests")
    try:
        found = review.get_lost_request(session, user, request_id)
    except NotFound:
        abort(404)
    form = LostDecisionForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    approve = form.decision.data == "approve"
    try:
        lifecycle.decide_lost(session, found, approve=approve, manager=user, note=form.note.data)
    except InvalidTransition:
        flash(_("This request was decided already."), "error")
        return redirect(back)
    except DCCError as error:
        return refused(error, back)
    name = found.lead.customer.name or _("(no name)")
    if approve:
        flash(_("Confirmed: %(name)s is lost.", name=name), "info")
    else:
        flash(
            _("Rejected: %(name)s goes back to the owner with a follow-up due now.", name=name),
            "info",
        )
    return redirect(back)


@bp.get("/escalations")
@roles(*OVERSEEING)
def escalated() -> str:
    """The 30-day no-show queue and the unreachable queue, each row with a reassign form."""
    session, user = get_session(), me()
    form = LeadReassignForm(formdata=None)
    form.owner_id.choices = owner_choices(owners(session, user))
    return render_template(
        "web/manager/escalations.html",
        no_show=escalations.no_show_queue(session, user),
        unreachable=escalations.unreachable_queue(session, user),
        form=form,
        may_act=user.role in MANAGING,
    )


@bp.post("/leads/<int:lead_id>/reassign")
@roles(*MANAGING)
def reassign(lead_id: int) -> Response:
    """Give one lead to another agent; it leaves its escalation queue."""
    session, user = get_session(), me()
    back = back_to(url_for(".escalated"))
    try:
        lead = get_visible_lead(session, user, lead_id)
    except NotFound:
        abort(404)
    form = LeadReassignForm()
    form.owner_id.choices = owner_choices(owners(session, user))
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    new_owner = session.get_one(User, form.owner_id.data)
    try:
        reassignment.reassign(session, lead, new_owner, actor=user)
    except DCCError as error:
        return refused(error, back)
    flash(
        _(
            "%(customer)s reassigned to %(name)s.",
            customer=lead.customer.name or _("(no name)"),
            name=new_owner.name,
        ),
        "info",
    )
    return redirect(back)
