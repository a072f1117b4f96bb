"""``/reports/staffing``: the staffing planner's page and the rota editor, for supervisors,
managers and admins (403 for others), each scoped to the agents and work the reader plans.

The figures are the API's (:func:`dcc.staffing.report.staffing_view`); the heat-maps are
inline SVG (:mod:`dcc.web.heatmap`); the export links the API's ``.xlsx``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from dcc import access, clock, reports
from dcc.config import get_settings, parse_hours
from dcc.db import get_session
from dcc.errors import DCCError, ValidationError
from dcc.staffing import rota, targets
from dcc.staffing.report import StaffingView, staffing_view
from dcc.staffing.shifts import rota_from_plan
from dcc.users.models import User
from dcc.web import heatmap
from dcc.web.common import me, roles
from dcc.web.manager_forms import field_message
from dcc.web.messages import problem_of, say
from dcc.web.reports import title

bp = Blueprint("web_staffing", __name__)

DAYS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
#: The targets a supervisor edits on the page; shares are entered as percents.
TARGET_FIELDS = {
    "call_answer_share": _l("Calls answered (%)"),
    "call_answer_seconds": _l("Calls answered within (seconds)"),
    "web_lead_share": _l("Web leads called (%)"),
    "web_lead_seconds": _l("Web leads called within (seconds)"),
    "weeks": _l("Weeks measured"),
}
MARKS = {"under": _l("understaffed"), "over": _l("overstaffed")}


def _specs() -> list[tuple[str, str]]:
    """The other reports, for the reports' tabs."""
    return [(name, title(name, spec)) for name, spec in reports.REPORTS.items()]


def _days() -> list[str]:
    return [str(d) for d in DAYS]


@bp.get("/reports/staffing")
@roles(*access.OVERSEEING)
def page() -> tuple[str, int]:
    """The plan: required agents and the rota as heat-maps, the inputs, the targets."""
    return _page(errors=[], status=200)


def _weeks_asked() -> int | None:
    raw = request.args.get("weeks")
    if not raw:
        return None
    clean = targets.validate({"weeks": raw})
    return int(clean["weeks"])


def _page(
    *, errors: list[str], status: int, asked: dict[str, str] | None = None
) -> tuple[str, int]:
    settings = get_settings()
    user = me()
    try:
        weeks = _weeks_asked()
    except ValidationError as error:
        errors = [*errors, _target_message(error)]
        status, weeks = 422, None
    view = staffing_view(get_session(), reader=user, now=clock.now(), weeks=weeks)
    opening = parse_hours(settings.calling_hours)
    slots = heatmap.visible_slots(view.required, view.rostered, opening=opening)
    marks = _marks(view)
    stored = view.plan.targets
    body = render_template(
        "web/reports/staffing.html",
        specs=_specs(),
        view=view,
        totals=view.totals,
        days=_days(),
        required_map=heatmap.render(
            view.required,
            slots=slots,
            days=_days(),
            title=_("Required agents"),
            element_id="required-map",
        ),
        rota_map=heatmap.render(
            view.rostered,
            slots=slots,
            days=_days(),
            title=_("Agents on the rota"),
            marks=marks,
            mark_names={k: str(v) for k, v in MARKS.items()},
            element_id="rota-map",
        ),
        errors=errors,
        fields=TARGET_FIELDS,
        values=asked or _target_values(stored),
        export_url=url_for("staffing.StaffingExport", weeks=weeks)
        if user.role in access.OVERSEEING
        else None,
        period=view.period(),
        timezone=settings.timezone,
        cell=_cell,
        seconds=_measured_seconds(view),
    )
    return body, status


def _measured_seconds(view: StaffingView) -> dict[str, str]:
    m = view.plan.measured
    figures = {
        "talk": m.talk_seconds,
        "web": m.web_call_seconds,
        "wrap": m.wrap_up_seconds,
        "patience": m.patience_seconds,
    }
    return {k: "—" if v is None else str(round(v)) for k, v in figures.items()}


def _marks(view: StaffingView) -> list[list[str | None]]:
    """``under`` or ``over`` for each half hour the rota misses the need, by weekday."""
    per_day = rota.SLOTS_PER_DAY
    return [
        [
            "under" if row.under else "over" if row.over else None
            for row in view.rows[day * per_day : (day + 1) * per_day]
        ]
        for day in range(7)
    ]


def _target_values(stored: targets.Targets) -> dict[str, str]:
    return {
        "call_answer_share": f"{stored.call_answer_share * 100:g}",
        "call_answer_seconds": str(stored.call_answer_seconds),
        "web_lead_share": f"{stored.web_lead_share * 100:g}",
        "web_lead_seconds": str(stored.web_lead_seconds),
        "weeks": str(stored.weeks),
    }


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "float":
        return f"{value:g}"
    return str(value)


@bp.post("/reports/staffing/targets")
@roles(*access.OVERSEEING)
def save_targets() -> Response | tuple[str, int]:
    """Store the dealer's targets; a bad one changes nothing and is named (422)."""
    asked = {name: request.form.get(name, "").strip() for name in TARGET_FIELDS}
    try:
        changes: dict[str, Any] = {}
        for name, raw in asked.items():
            if name.endswith("_share"):
                try:
                    changes[name] = float(raw) / 100
                except ValueError:
                    changes[name] = raw  # refused below, naming the field
            else:
                changes[name] = raw
        targets.save(get_session(), **changes)
    except ValidationError as error:
        get_session().rollback()
        return _page(errors=[_target_message(error)], status=422, asked=asked)
    get_session().commit()
    flash(_("Staffing targets saved."), "success")
    return redirect(url_for("web_staffing.page"))


def _target_message(error: ValidationError) -> str:
    """A refused target, naming its field and the values it accepts."""
    name = error.field or ""
    low, high = targets.LIMITS.get(name, (0, 0))
    if name.endswith("_share"):
        problem = _("a percent from %(low)g to %(high)g.", low=low * 100, high=high * 100)
    else:
        problem = _("a whole number from %(low)g to %(high)g.", low=low, high=high)
    return field_message(TARGET_FIELDS.get(name, name), problem)


# --- the rota editor ---------------------------------------------------------------------------


@bp.get("/reports/staffing/rota")
@roles(*access.OVERSEEING)
def rota_page() -> tuple[str, int]:
    """Each agent's shifts, one text box per weekday."""
    return _rota_page(errors=[], status=200)


def _rota_page(
    *, errors: list[str], status: int, asked: dict[str, str] | None = None
) -> tuple[str, int]:
    session = get_session()
    user = me()
    agents = rota.plannable_agents(session, user)
    plan = rota.week(session, agents)
    values = asked or {
        _field(a.id, d): rota.format_day(plan[a.id][d]) for a in agents for d in range(7)
    }
    view = staffing_view(session, reader=user, now=clock.now())
    suggested = _suggested(view)
    body = render_template(
        "web/reports/rota.html",
        specs=_specs(),
        agents=agents,
        days=_days(),
        values=values,
        field=_field,
        errors=errors,
        suggested=suggested,
    )
    return body, status


def _field(agent_id: int, weekday: int) -> str:
    return f"shift-{agent_id}-{weekday}"


def _suggested(view: StaffingView) -> list[tuple[str, str]]:
    """The shifts that would cover the plan, per weekday, as text."""
    shifts = rota_from_plan(view.plan)
    return [
        (day, rota.format_day((s.start, s.end) for s in shifts if s.weekday == n))
        for n, day in enumerate(_days())
    ]


@bp.post("/reports/staffing/rota")
@roles(*access.OVERSEEING)
def save_rota() -> Response | tuple[str, int]:
    """Save the whole week shown; any bad day refuses all of it (422) and says which."""
    session = get_session()
    user = me()
    agents = rota.plannable_agents(session, user)
    asked = {
        _field(a.id, d): request.form.get(_field(a.id, d), "") for a in agents for d in range(7)
    }
    changes: dict[tuple[int, int], list[rota.Interval]] = {}
    errors: list[str] = []
    for agent in agents:
        for day in range(7):
            try:
                changes[(agent.id, day)] = rota.parse_day(asked[_field(agent.id, day)])
            except ValidationError as error:
                errors.append(_bad_day(agent, day, error))
    if errors:
        return _rota_page(errors=errors, status=422, asked=asked)
    try:
        rota.set_days(session, user, changes)
    except DCCError as error:
        session.rollback()
        return _rota_page(errors=[say(error)], status=422, asked=asked)
    session.commit()
    flash(_("Rota saved."), "success")
    return redirect(url_for("web_staffing.rota_page"))


def _bad_day(agent: User, day: int, error: ValidationError) -> str:
    return field_message(f"{agent.name} · {_days()[day]}", problem_of(error))
