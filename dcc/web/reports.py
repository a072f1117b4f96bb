"""``/reports``: each report of :mod:`dcc.reports` as a page — period, grouping, chart, table.

The figures are the JSON API's (the same :func:`dcc.reports.run`); the chart is inline SVG
drawn on the server (:mod:`dcc.web.charts`); "Export Excel" links the API's ``.xlsx``
endpoint, which checks the role and writes the audit entry itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from dcc import clock, reports
from dcc.api.reports import REPORT_ROLES
from dcc.app import get_settings
from dcc.db import get_session
from dcc.errors import NotFound, ValidationError
from dcc.reports.export import value
from dcc.reports.period import Group, Period, parse_group
from dcc.users.models import Role
from dcc.web import charts
from dcc.web.common import me, roles
from dcc.web.manager_forms import field_message, period_message

bp = Blueprint("web_reports", __name__)
VIEW_ROLES = (Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)

#: The reports' names in the reader's language; a report without one shows its own title.
TITLES = {
    "traffic": _l("Showroom traffic analysis"),
    "daily_work": _l("Daily work report"),
    "customers": _l("Customer analysis"),
    "lost_stats": _l("Lost statistics"),
    "lost_analysis": _l("Lost analysis"),
    "sources": _l("Showroom source analysis"),
    "followups": _l("Prospect follow-up progress"),
    "arrivals": _l("Arrivals analysis"),
    "funnel": _l("DCC funnel and KPIs"),
    "retention": _l("First-visit info retention"),
}
GROUPS = {
    Group.AGENT: _l("By agent"),
    Group.SOURCE: _l("By source"),
    Group.MODEL: _l("By model"),
}


def title(name: str, spec: reports.ReportSpec) -> str:
    """The report's name in the reader's language."""
    return str(TITLES.get(name, spec.title))


@bp.get("/reports")
@roles(*VIEW_ROLES)
def index() -> str:
    """Every report the API offers, one link each."""
    return render_template("web/reports/index.html", specs=_specs())


def _specs() -> list[tuple[str, str]]:
    return [(name, title(name, spec)) for name, spec in reports.REPORTS.items()]


@bp.get("/reports/<name>")
@roles(*VIEW_ROLES)
def page(name: str) -> tuple[str, int]:
    """One report: controls, chart and table (422 naming the field of a bad period or group)."""
    try:
        spec = reports.get(name)
    except NotFound:
        abort(404)
    timezone = get_settings().timezone
    asked = {k: request.args.get(k) or None for k in ("from", "to", "group")}
    errors: list[str] = []
    report = None
    try:
        period = Period.parse(asked["from"], asked["to"], timezone)
        group = parse_group(asked["group"], spec.groups)
        report = reports.run(get_session(), name, reader=me(), period=period, group=group)
    except ValidationError as error:
        errors.append(_explain(error))
    user = me()
    body = render_template(
        "web/reports/report.html",
        name=name,
        specs=_specs(),
        title=title(name, spec),
        report=report,
        errors=errors,
        asked=asked,
        groups=[(g.value, GROUPS[g]) for g in Group if g in spec.groups],
        ranges=quick_ranges(clock.local(clock.now(), timezone).date()),
        chart=charts.render(report.chart, title=title(name, spec)) if report else None,
        cell=cell,
        totals=totals_cells(report) if report else [],
        export_url=_export_url(name, report) if report and user.role in REPORT_ROLES else None,
        timezone=timezone,
    )
    return body, 422 if errors else 200


def _explain(error: ValidationError) -> str:
    """The period's or grouping's refusal, naming the field, in the reader's language."""
    if error.field == "group":
        return field_message(_("Group"), _("this report cannot be grouped that way."))
    return period_message(error, _("From"), _("To"))


def _export_url(name: str, report: reports.Report[Any, Any]) -> str:
    params: dict[str, Any] = {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
    }
    if report.group is not None:
        params["group"] = report.group.value
    return url_for("reports.ReportExport", name=name, **params)


def quick_ranges(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The usual periods, in the dealer's local days: (label, from, to)."""
    month_start = today.replace(day=1)
    last_month_end = month_start - dt.timedelta(days=1)
    return [
        (_("Today"), today, today),
        (_("Yesterday"), today - dt.timedelta(days=1), today - dt.timedelta(days=1)),
        (_("Last 7 days"), today - dt.timedelta(days=6), today),
        (_("Last 30 days"), today - dt.timedelta(days=29), today),
        (_("This month"), month_start, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
    ]


def totals_cells(report: reports.Report[Any, Any]) -> list[str]:
    """The totals line; its first cell says "Total" unless a text column of it already does."""
    cells = [cell(report.totals, c.key, c.kind) for c in report.columns]
    named = any(c.kind == "text" and value(report.totals, c.key) for c in report.columns)
    if cells and not named:
        cells[0] = _("Total")
    return cells


def cell(row: Any, key: str, kind: str) -> str:
    """One table cell: rates as percents, seconds and counts as numbers, dates ISO."""
    raw = value(row, key)
    if raw is None:
        return "—"
    if kind == "rate":
        return f"{raw * 100:.1f}%"
    if kind == "float":
        return f"{raw:.2f}"
    if kind in ("int", "seconds"):
        return f"{int(raw):,}"
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return str(raw)
