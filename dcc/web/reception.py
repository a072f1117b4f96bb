"""``/reception``: the clerk's showroom register (展厅接待)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc import access, reception
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import DCCError, NotFound
from dcc.sales.models import Appointment
from dcc.users.models import User
from dcc.web.common import me, roles
from dcc.web.forms import ArrivalForm, WalkInForm, choices
from dcc.web.messages import say

bp = Blueprint("web_reception", __name__)


def _forms(posted: str | None = None) -> tuple[ArrivalForm, WalkInForm]:
    """The two forms; only the ``posted`` one ("arrival", "walk_in") holds the request's data."""
    pairs = [(c.id, c.name) for c in reception.consultants(get_session())]
    arrival = ArrivalForm() if posted == "arrival" else ArrivalForm(formdata=None)
    walk_in = WalkInForm() if posted == "walk_in" else WalkInForm(formdata=None)
    arrival.consultant.choices = choices([(0, _("As booked")), *pairs])
    walk_in.consultant.choices = choices(pairs)
    return arrival, walk_in


@bp.get("/reception")
@roles(*access.RECEPTION)
def page() -> str:
    return _page(*_forms())


def _page(arrival: ArrivalForm, walk_in: WalkInForm) -> str:
    """The register; after a refusal, the refused form shows what was typed."""
    session, timezone = get_session(), get_settings().timezone
    return render_template(
        "web/reception.html",
        arrival=arrival,
        walk_in=walk_in,
        traffic=reception.todays_traffic(session, timezone=timezone),
        expected=reception.expected_today(session, timezone=timezone),
    )


@bp.post("/reception/arrival")
@roles(*access.RECEPTION)
def arrival() -> Response | tuple[str, int]:
    """An invited customer arrived: by phone in any format, or from today's list."""
    session, settings = get_session(), get_settings()
    back = url_for("web_reception.page")
    form, walk_in_form = _forms("arrival")
    if not form.validate():
        flash(_("Check the party size."), "error")
        return _page(form, walk_in_form), 422
    try:
        if isinstance(form.appointment_id.data, int):
            appointment = session.get(Appointment, form.appointment_id.data)
            if appointment is None:
                raise NotFound("appointment.not_found", field="appointment_id")
        else:
            appointment = reception.find_appointment(
                session, form.phone.data or "", region=settings.default_region
            )
        consultant = session.get(User, form.consultant.data) if form.consultant.data else None
        visit = reception.arrive(
            session,
            appointment,
            clerk=me(),
            consultant=consultant,
            party_size=form.party_size.data or 1,
        )
    except DCCError as error:
        session.rollback()
        flash(say(error), "error")
        return _page(form, walk_in_form), 422
    name = visit.consultant.name if visit.consultant else _("nobody")
    flash(_("Arrival registered; %(name)s has been told.", name=name), "info")
    return redirect(back)


@bp.post("/reception/walk-in")
@roles(*access.RECEPTION)
def walk_in() -> Response | tuple[str, int]:
    """A visitor without an appointment, with or without contact details."""
    session, settings = get_session(), get_settings()
    back = url_for("web_reception.page")
    arrival_form, form = _forms("walk_in")
    if not form.validate():
        flash(_("Choose the receiving consultant and the party size."), "error")
        return _page(arrival_form, form), 422
    data = reception.WalkIn(
        consultant=session.get(User, form.consultant.data) if form.consultant.data else None,
        party_size=form.party_size.data or 1,
        first_visit=form.visit.data != "return",
        phone=form.phone.data,
        name=form.name.data or "",
        series=form.series.data or None,
        note=form.note.data or None,
    )
    try:
        visit = reception.walk_in(session, data, clerk=me(), region=settings.default_region)
    except DCCError as error:
        session.rollback()
        flash(say(error), "error")
        return _page(arrival_form, form), 422
    if visit.left_contact:
        flash(_("Walk-in registered with contact details."), "info")
    else:
        flash(_("Walk-in registered as anonymous traffic."), "info")
    return redirect(back)
