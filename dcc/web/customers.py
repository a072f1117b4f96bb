"""``/manager/customers``: the customer list (客户信息列表) and the manager's bulk actions.

Managers and admins filter, reassign, merge and upgrade to fleet; supervisors read the list.
The Excel export is the API's (``/api/v1/customers/export.xlsx``, same filters), linked for
the roles that may export.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc import access
from dcc.config import get_settings
from dcc.customers import listing
from dcc.customers import service as customers
from dcc.customers.models import Customer
from dcc.db import get_session
from dcc.errors import DCCError, MergeRefused, ValidationError
from dcc.leads import reassignment
from dcc.leads.models import Channel, Grade, LeadStatus
from dcc.reports.period import Period
from dcc.users.models import User
from dcc.web.common import back_to, me, refused, roles
from dcc.web.manager_forms import (
    CustomerFilterForm,
    CustomersForm,
    MergeForm,
    ReassignForm,
    field_message,
    first_errors,
    flash_errors,
    owner_choices,
    owners,
    period_message,
)
from dcc.web.messages import say

bp = Blueprint("web_customers", __name__, url_prefix="/manager")


@bp.get("/customers")
@roles(*access.OVERSEEING)
def index() -> tuple[str, int]:
    """The filtered list, a page at a time (422 with the fields named when a filter is bad)."""
    session, user, settings = get_session(), me(), get_settings()
    people = owners(session, user)
    form = CustomerFilterForm(formdata=request.args)
    form.owner.choices = owner_choices(people)
    errors: list[str] = []
    criteria = listing.CustomerSearch()
    if form.validate():
        try:
            criteria = _criteria(form, settings.timezone)
        except ValidationError as error:
            errors.append(period_message(error, form.start.label.text, form.end.label.text))
    else:
        errors = first_errors(form)
    page = listing.search(
        session,
        user,
        criteria,
        page=request.args.get("page", 1, type=int),
        region=settings.default_region,
    )
    reassign = ReassignForm(formdata=None)
    reassign.owner_id.choices = owner_choices(people)
    body = render_template(
        "web/manager/customers.html",
        form=form,
        errors=errors,
        page=page,
        reassign=reassign,
        may_act=user.role in access.MANAGING,
        export_url=_export_url(criteria) if user.role in access.CUSTOMER_EXPORTERS else None,
        page_url=lambda n: url_for(".index", **{**request.args.to_dict(), "page": n}),
    )
    return body, 422 if errors else 200


def _criteria(form: CustomerFilterForm, timezone: str) -> listing.CustomerSearch:
    """The valid form as the domain's search; a bad period raises ValidationError."""
    start, end = form.start.data, form.end.data
    period = None
    if start or end:
        period = Period.parse(
            start.isoformat() if start else None, end.isoformat() if end else None, timezone
        )
    return listing.CustomerSearch(
        text=form.q.data or "",
        grade=Grade(form.grade.data) if form.grade.data else None,
        status=LeadStatus(form.status.data) if form.status.data else None,
        owner_id=form.owner.data,
        channel=Channel(form.channel.data) if form.channel.data else None,
        period=period,
    )


def _export_url(criteria: listing.CustomerSearch) -> str:
    """The export of exactly what the list shows."""
    params: dict[str, Any] = {
        "q": criteria.text or None,
        "status": criteria.status.value if criteria.status else None,
        "grade": criteria.grade.value if criteria.grade else None,
        "channel": criteria.channel.value if criteria.channel else None,
        "owner_id": criteria.owner_id,
    }
    if criteria.period is not None:
        params["from"] = criteria.period.start.isoformat()
        params["to"] = criteria.period.end.isoformat()
    wanted = {k: v for k, v in params.items() if v is not None}
    return url_for("customer_export.CustomerExport", **wanted)


@bp.post("/customers/reassign")
@roles(*access.MANAGING)
def reassign() -> Response:
    """Give the open leads of the ticked customers to another agent or consultant."""
    session, user = get_session(), me()
    back = back_to(url_for(".index"))
    form = ReassignForm()
    form.owner_id.choices = owner_choices(owners(session, user))
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    try:
        chosen = access.get_visible_customers(session, user, form.customer_ids.data or [])
        new_owner = session.get_one(User, form.owner_id.data)
        done = reassignment.reassign_customers(session, chosen, new_owner, actor=user)
    except DCCError as error:
        return refused(error, back)
    for customer in done.nothing_open:
        flash(_("%(customer)s has no open lead to reassign.", customer=_who(customer)), "error")
    if done.reopened:
        flash(
            _(
                "%(count)s lost customers reopened for %(name)s.",
                count=len(done.reopened),
                name=new_owner.name,
            ),
            "info",
        )
    for lead, problem in done.refused:
        flash(field_message(_who(lead.customer), say(problem)), "error")
    if done.moved:
        flash(
            _(
                "%(count)s customers reassigned to %(name)s.",
                count=len(done.moved),
                name=new_owner.name,
            ),
            "info",
        )
    return redirect(back)


@bp.post("/customers/merge")
@roles(*access.MANAGING)
def merge() -> str | Response:
    """First the ticked customers to pick the one kept, then the merge (合并客户)."""
    session, user = get_session(), me()
    back = back_to(url_for(".index"))
    form = MergeForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    try:
        chosen = access.get_visible_customers(session, user, form.customer_ids.data or [])
    except DCCError as error:
        return refused(error, back)
    if len(chosen) < 2:
        flash(
            field_message(
                form.customer_ids.label.text, _("select at least two customers to merge.")
            ),
            "error",
        )
        return redirect(back)
    if form.confirm.data != "1":
        form.survivor_id.data = min(chosen, key=lambda c: (c.created_at, c.id)).id
        return render_template("web/manager/merge.html", form=form, chosen=chosen, back=back)
    survivor = next((c for c in chosen if c.id == form.survivor_id.data), None)
    if survivor is None:
        problem = _("choose one of the customers.")
        flash(field_message(form.survivor_id.label.text, problem), "error")
        return redirect(back)
    try:
        customers.merge(session, survivor, [c for c in chosen if c is not survivor], actor=user)
    except MergeRefused as error:
        return _merge_refused(error, chosen, back)
    except DCCError as error:
        return refused(error, back)
    flash(
        _(
            "%(count)s customers merged into %(customer)s.",
            count=len(chosen) - 1,
            customer=_who(survivor),
        ),
        "info",
    )
    return redirect(back)


@bp.post("/customers/fleet")
@roles(*access.MANAGING)
def fleet() -> Response:
    """Mark the ticked customers as fleet buyers (升级为批售客户)."""
    session, user = get_session(), me()
    back = back_to(url_for(".index"))
    form = CustomersForm()
    if not form.validate():
        flash_errors(form)
        return redirect(back)
    try:
        chosen = access.get_visible_customers(session, user, form.customer_ids.data or [])
        for customer in chosen:
            customers.upgrade_to_fleet(session, customer, actor=user)
    except DCCError as error:
        return refused(error, back)
    flash(_("%(count)s customers are fleet customers now.", count=len(chosen)), "info")
    return redirect(back)


def _who(customer: Customer) -> str:
    """A customer as a message names it: the name and the number in the list."""
    return f"{customer.name or _('(no name)')} (#{customer.id})"


def _merge_refused(error: MergeRefused, chosen: list[Customer], back: str) -> Response:
    """A merge refusal that names the customer (by name, as the list shows it) and the rule."""
    customer = next((c for c in chosen if c.id == error.params.get("customer")), None)
    who = _who(customer) if customer else _("A customer")
    get_session().rollback()
    flash(_("Not merged: %(reason)s", reason=say(error, customer=who)), "error")
    return redirect(back)
