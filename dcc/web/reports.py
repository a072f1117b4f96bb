"""``/reports``: each report of :mod:`dcc.reports` as a page — period, grouping, chart, table.

The figures are the JSON API's (the same :func:`dcc.reports.run`); the chart is inline SVG
drawn on the server (:mod:`dcc.web.charts`); "Export Excel" links the API's ``.xlsx``
endpoint, which checks the role and writes the audit entry itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from dcc import access, clock, labels, reports
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import NotFound, ValidationError
from dcc.labels import Label
from dcc.reports.export import value
from dcc.reports.period import Group, Period, parse_group
from dcc.reports.result import Chart
from dcc.web import charts
from dcc.web.common import me, roles
from dcc.web.labels import label, shown
from dcc.web.messages import say

bp = Blueprint("web_reports", __name__)

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
#: The table headers in the reader's language, by the Chinese title a report gives its column
#: (the chart's series are named after columns too). The JSON API and the Excel export keep the
#: Chinese: they are the dealership's own names. One English msgid per title, and an existing
#: msgid only where its Chinese is the title itself, so Chinese readers see the titles unchanged.
HEADERS = {
    # what a row is
    "日期": _l("Date"),
    "坐席": _l("Agent"),
    "分组": _l("Group"),
    "销售顾问": _l("Consultant"),
    "车型": _l("Model"),
    "来源": _l("Lead source"),
    "跟进人": _l("Follow-up owner"),
    "战败原因": _l("Lost reason"),
    "类别": _l("Category"),
    "意向级别": _l("Grade"),
    # showroom traffic and first-visit info retention
    "到店批次": _l("Visits"),
    "到店人数": _l("Visitors"),
    "首次到店": _l("First visits"),
    "首次到店(自然到店)": _l("First visits (walk-in)"),
    "再次到店": _l("Return visits"),
    "留档": _l("Contact left"),
    "未留档": _l("No contact left"),
    "当场成交": _l("Closed on visit"),
    "平均人数": _l("Average party size"),
    "首洽未成交": _l("Not closed on first visit"),
    "留下电话": _l("Left a phone"),
    "信息留存率": _l("Info retention rate"),
    # calls and appointments
    "通话量": _l("Call count"),
    "外呼量": _l("Dialled"),
    "外呼接通": _l("Outbound connects"),
    "呼入接听": _l("Inbound answered"),
    "接通量": _l("Connected calls"),
    "接通率": _l("Connect rate"),
    "通话时长(秒)": _l("Talk time"),
    "邀约": _l("Appointments"),
    "邀约数": _l("Invitations"),
    "到店": _l("Arrivals"),
    "已到预约时间": _l("Due by now"),
    "未到店": _l("No show"),
    "待到店": _l("Upcoming"),
    "已取消": _l("Canceled"),
    "到店率": _l("Show rate"),
    # follow-ups
    "待跟进": _l("Pending"),
    "本期到期": _l("Due in period"),
    "已逾期": _l("Overdue"),
    "本期完成": _l("Done in period"),
    "有跟进结果": _l("With result"),
    "按时完成": _l("On time"),
    "按时完成率": _l("On-time rate"),
    # the funnel and its KPIs
    "线索量": _l("Leads"),
    "有效线索": _l("Valid leads"),
    "邀约到店": _l("Invited arrivals"),
    "成交": _l("Orders"),
    "战败": _l("Lost"),
    "线索有效率": _l("Valid lead rate"),
    "首次响应时长中位数(秒)": _l("Median first response"),
    "5分钟内响应占比": _l("Responded within 5 min"),
    "邀约率": _l("Invitation rate"),
    "邀约到店率": _l("Invited show rate"),
    "进店成交率": _l("Close rate after visit"),
    "线索成交率": _l("Lead close rate"),
    "战败率": _l("Lost rate"),
    "主观战败占比": _l("Subjective lost share"),
    # lost leads, objective (客观) or subjective (主观): the lost statistics' chart series
    "战败数": _l("Lost leads"),
    "客观战败": _l("Objective losses"),
    "主观战败": _l("Subjective losses"),
    "客观占比": _l("Objective share"),
    "主观占比": _l("Subjective share"),
    "占比": _l("Share"),
}


def title(name: str, spec: reports.ReportSpec) -> str:
    """The report's name in the reader's language."""
    return str(TITLES.get(name, spec.title))


def header(title: str) -> str:
    """A column's (or chart series') name in the reader's language; unknown ones show as given.

    A column named after a value (a lead status) carries its label; the others are the
    report's own titles."""
    if isinstance(title, Label):
        return shown(title)
    return str(HEADERS.get(title, title))


def legend(chart: Chart) -> Chart:
    """The chart with its series named in the reader's language, for the legend and tooltips."""
    return dataclasses.replace(
        chart, series=[dataclasses.replace(s, name=header(s.name)) for s in chart.series]
    )


def categories(chart: Chart) -> Chart:
    """The chart with its categories (the x-axis, and the tooltips) as the table's rows read."""
    return dataclasses.replace(chart, labels=[shown(label) for label in chart.labels])


@bp.get("/reports")
@roles(*access.OVERSEEING)
def index() -> str:
    """Every report the API offers, one link each."""
    return render_template("web/reports/index.html", specs=_specs())


def _specs() -> list[tuple[str, str]]:
    return [(name, title(name, spec)) for name, spec in reports.REPORTS.items()]


@bp.get("/reports/<name>")
@roles(*access.OVERSEEING)
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
        errors.append(say(error))  # names From, To or Group
    user = me()
    body = render_template(
        "web/reports/report.html",
        name=name,
        specs=_specs(),
        title=title(name, spec),
        report=report,
        errors=errors,
        asked=asked,
        groups=[(g.value, label(g, "report_group")) for g in Group if g in spec.groups],
        ranges=quick_ranges(clock.local(clock.now(), timezone).date()),
        chart=_chart(report, title(name, spec)) if report else None,
        header=header,
        cell=cell,
        totals=totals_cells(report) if report else [],
        export_url=_export_url(name, report) if report and user.role in access.OVERSEEING else None,
        timezone=timezone,
    )
    return body, 422 if errors else 200


def _chart(report: reports.Report[Any, Any], caption: str) -> Markup:
    """The report's chart, its series, categories and tooltips in the reader's language."""
    return charts.render(categories(legend(report.chart)), title=caption)


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
        cells[0] = shown(labels.TOTAL)
    return cells


def duration(seconds: float) -> str:
    """A length of time as the reader says it: 4分27秒, 4 min 27 s (1:02:03 past an hour)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s h %(m)s min", h=f"{hours:,}", m=minutes)
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=secs)
    return _("%(s)s s", s=secs)


def cell(row: Any, key: str, kind: str) -> str:
    """One table cell: rates as percents, durations in minutes and seconds, counts as
    numbers, dates ISO."""
    raw = value(row, key)
    if raw is None:
        return "—"
    if kind == "rate":
        return f"{raw * 100:.1f}%"
    if kind == "float":
        return f"{raw:.2f}"
    if kind == "seconds":
        return duration(raw)
    if kind == "int":
        return f"{int(raw):,}"
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return shown(raw)
