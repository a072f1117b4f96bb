"""Orders on the lead page (销售订单 / 交车), the manager's loop check (闭环检查) and the
admin's vehicle catalogue (车型库). Each form calls one domain function."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc import access
from dcc.config import get_settings
from dcc.customers import service as customers
from dcc.db import get_session
from dcc.errors import DCCError, InvalidTransition, NotFound, ValidationError
from dcc.leads import closing
from dcc.loop import audit
from dcc.sales import catalogue, orders
from dcc.users.models import Role
from dcc.web.common import back_to, me, refused, roles

bp = Blueprint("web_orders", __name__)


def _money(name: str) -> Decimal | None:
    text = (request.form.get(name) or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError("field.not_an_amount", field=name) from None


def _date(name: str) -> dt.date | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError("field.not_a_date", field=name) from None


@bp.post("/leads/<int:lead_id>/orders")
@roles(*access.ORDER_TAKERS)
def place(lead_id: int) -> Response:
    """Record an order from the lead page: a VIN, or an entry of the catalogue."""
    session, user = get_session(), me()
    back = url_for("web_leads.page", lead_id=lead_id)
    try:
        lead = access.get_visible_lead(session, user, lead_id)
    except NotFound:
        abort(404)
    try:
        data = orders.OrderInput(
            vin=request.form.get("vin"),
            price=_money("price"),
            deposit=_money("deposit"),
            delivery_due=_date("delivery_due"),
        )
        entry_id = request.form.get("catalogue_id", type=int)
        if entry_id:
            entry = catalogue.get(session, entry_id)
            data.brand, data.series = entry.brand, entry.series
            data.model, data.configuration = entry.model, entry.configuration
        orders.place(session, lead, data, actor=user, timezone=get_settings().timezone)
    except DCCError as error:
        return refused(error, back)
    flash(_("Order recorded: the lead is ordered and followed up until delivery."), "info")
    return redirect(back)


@bp.post("/orders/<int:order_id>/<action>")
@roles(*access.ORDER_TAKERS)
def act(order_id: int, action: str) -> Response:
    """Deliver (交车), cancel with a reason, or set the expected delivery date."""
    session, user = get_session(), me()
    try:
        order = access.get_visible_order(session, user, order_id)
    except NotFound:
        abort(404)
    back = url_for("web_leads.page", lead_id=order.lead_id)
    timezone = get_settings().timezone
    try:
        if action == "deliver":
            orders.deliver(session, order, actor=user)
            flash(_("Delivered: the customer owns the car now."), "info")
        elif action == "cancel":
            orders.cancel(session, order, actor=user, reason=request.form.get("reason"))
            flash(_("Order canceled: the lead is back in follow-up."), "info")
        elif action == "delivery-due":
            due = _date("delivery_due")
            orders.set_delivery_due(session, order, due, actor=user, timezone=timezone)
            flash(_("Expected delivery date saved."), "info")
        else:
            abort(404)
    except DCCError as error:
        return refused(error, back)
    return redirect(back)


@bp.get("/manager/loop")
@roles(*access.MANAGING)
def loop_check() -> str:
    """闭环检查: every broken link the manager may see, by kind, each with a way to fix it."""
    session, user = get_session(), me()
    found = access.visible_violations(session, user, audit.find_violations(session))
    by_kind = {kind: [v for v in found if v["kind"] == kind] for kind in audit.KINDS}
    return render_template(
        "web/manager/loop.html",
        by_kind=by_kind,
        total=len(found),
        last_run=audit.latest_run(session),
    )


@bp.post("/manager/loop/leads/<int:lead_id>/release")
@roles(*access.MANAGING)
def release(lead_id: int) -> Response:
    """Cancel what a closed lead still has pending (the loop check's fix for such work)."""
    session, user = get_session(), me()
    back = back_to(url_for(".loop_check"))
    try:
        lead = access.get_visible_lead(session, user, lead_id)
    except NotFound:
        abort(404)
    try:
        released = closing.release_leftovers(session, lead, actor=user)
    except InvalidTransition:
        flash(_("The lead is worked: its plan stays."), "error")
        return redirect(back)
    except DCCError as error:
        return refused(error, back)
    flash(_("%(n)s pending items canceled.", n=released.count), "info")
    return redirect(back)


@bp.post("/manager/loop/customers/<int:customer_id>/keep-one")
@roles(*access.MANAGING)
def keep_one(customer_id: int) -> Response:
    """A customer with two open leads: the most advanced stays, the other closes as duplicate."""
    session, user = get_session(), me()
    back = back_to(url_for(".loop_check"))
    try:
        customer = access.get_visible_customer(session, user, customer_id)
    except NotFound:
        abort(404)
    try:
        customers.keep_one_open_lead(session, customer, actor=user)
    except DCCError as error:
        return refused(error, back)
    flash(_("One open lead kept; the others are closed as duplicates."), "info")
    return redirect(back)


@bp.route("/admin/catalogue", methods=["GET", "POST"])
@roles(Role.ADMIN)
def admin_catalogue() -> str | Response:
    """The vehicle catalogue: add a configuration, withdraw one from new orders or restore it."""
    session, user = get_session(), me()
    if request.method == "POST":
        back = url_for(".admin_catalogue")
        try:
            price = _money("guide_price")
            catalogue.add(
                session,
                brand=request.form.get("brand"),
                series=request.form.get("series"),
                model=request.form.get("model"),
                configuration=request.form.get("configuration"),
                guide_price_fen=orders.fen(price, "guide_price"),
                actor=user,
            )
        except DCCError as error:
            return refused(error, back)
        flash(_("Added to the catalogue."), "info")
        return redirect(back)
    return render_template("web/admin_catalogue.html", entries=catalogue.entries(session))


@bp.post("/admin/catalogue/<int:entry_id>/<state>")
@roles(Role.ADMIN)
def admin_catalogue_state(entry_id: int, state: str) -> Response:
    session, user = get_session(), me()
    if state not in {"enable", "disable"}:
        abort(404)
    try:
        catalogue.set_active(
            session, catalogue.get(session, entry_id), state == "enable", actor=user
        )
    except NotFound:
        abort(404)
    return redirect(url_for(".admin_catalogue"))
