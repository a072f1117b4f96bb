"""``/api/v1/reports``: the deck's reports as JSON (table + chart series) and as Excel.

Reports are for managers, supervisors and admins (403 for others). Excel exports are
permission-controlled (EXCEL导出权限受系统控制): reports by managers, supervisors and admins,
the customer list by managers and admins only. Every export is audit-logged with its filters
and row count; a refused one produces nothing and logs nothing.
"""

from __future__ import annotations

import io
from typing import Any

import marshmallow as ma
from flask import Response, send_file
from flask.views import MethodView
from marshmallow import validate

from dcc import access, audit, reports
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.schemas import Id, Strict
from dcc.config import get_settings
from dcc.customers import listing
from dcc.db import get_session
from dcc.leads.models import Channel, Grade, LeadStatus
from dcc.reports import export
from dcc.reports.period import Group, Period, check_timezone, parse_group
from dcc.users.models import User

blp = Blueprint("reports", __name__, url_prefix="/reports", description="Reports")
blp.before_request(authenticate_request)
# The customer list export lives under /customers but belongs with the other exports.
exports = Blueprint(
    "customer_export", __name__, url_prefix="/customers", description="Customer export"
)
exports.before_request(authenticate_request)


class ReportQuery(Strict):
    start = ma.fields.Date(data_key="from", load_default=None, metadata={"example": "2026-01-01"})
    end = ma.fields.Date(data_key="to", load_default=None, metadata={"example": "2026-01-31"})
    group = ma.fields.String(load_default=None, validate=validate.OneOf([g.value for g in Group]))


class CustomerExportQuery(Strict):
    q = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "a name, part of one, or a phone number in any format"},
    )
    start = ma.fields.Date(data_key="from", load_default=None)
    end = ma.fields.Date(data_key="to", load_default=None)
    status = ma.fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in LeadStatus])
    )
    grade = ma.fields.String(load_default=None, validate=validate.OneOf([g.value for g in Grade]))
    channel = ma.fields.String(
        load_default=None, validate=validate.OneOf([c.value for c in Channel])
    )
    owner_id = Id(load_default=None)


def _period(query: dict[str, Any]) -> Period:
    start, end = query.get("start"), query.get("end")
    timezone = check_timezone(get_settings().timezone)
    return Period.parse(
        start.isoformat() if start else None, end.isoformat() if end else None, timezone
    )


def _run(name: str, query: dict[str, Any], user: User) -> reports.Report[Any, Any]:
    access.require(user, access.OVERSEEING)
    spec = reports.get(name)
    group = parse_group(query.get("group"), spec.groups)
    return reports.run(get_session(), name, reader=user, period=_period(query), group=group)


@blp.route("")
class ReportList(MethodView):
    def get(self) -> dict[str, Any]:
        """The reports there are, with the groupings each one accepts."""
        access.require(current_user(), access.OVERSEEING)
        return {
            "reports": [
                {"name": s.name, "title": s.title, "groups": sorted(g.value for g in s.groups)}
                for s in reports.REPORTS.values()
            ]
        }


@blp.route("/<name>.xlsx")
class ReportExport(MethodView):
    @blp.arguments(ReportQuery, location="query")
    def get(self, query: dict[str, Any], name: str) -> Response:
        """The report as an Excel workbook (Chinese headers, a totals line); audit-logged."""
        user = current_user()
        report = _run(name, query, user)
        return report_download(report, user, _filters(report))


@blp.route("/<name>")
class ReportView(MethodView):
    @blp.arguments(ReportQuery, location="query")
    def get(self, query: dict[str, Any], name: str) -> dict[str, Any]:
        """``rows``, ``totals`` and ``chart`` (labels and series) of one report.

        ``from``/``to`` are the dealer's local days (default: the last 30 days); ``group`` is
        agent, source or model where the report allows it (422 naming the field otherwise).
        """
        return _run(name, query, current_user()).to_dict()


@exports.route("/export.xlsx")
class CustomerExport(MethodView):
    @exports.arguments(CustomerExportQuery, location="query")
    def get(self, query: dict[str, Any]) -> Response:
        """The customer list (客户信息列表) as Excel: managers and admins; audit-logged."""
        user = current_user()
        access.require(user, access.CUSTOMER_EXPORTERS)
        settings = get_settings()
        has_period = query.get("start") or query.get("end")
        criteria = listing.CustomerSearch(
            text=query.get("q") or "",
            period=_period(query) if has_period else None,
            status=LeadStatus(query["status"]) if query.get("status") else None,
            grade=Grade(query["grade"]) if query.get("grade") else None,
            channel=Channel(query["channel"]) if query.get("channel") else None,
            owner_id=query.get("owner_id"),
        )
        session = get_session()
        body, count = export.customer_workbook(
            session,
            user,
            criteria,
            timezone=settings.timezone,
            max_rows=settings.export_max_rows,
            region=settings.default_region,
        )
        audit.record(
            session,
            actor_id=user.id,
            action="export.customers",
            entity="customer",
            entity_id=None,
            report="customers",
            filters=criteria.to_dict(),
            rows=count,
        )
        return _xlsx(body, "客户信息列表.xlsx")


def _filters(report: reports.Report[Any, Any]) -> dict[str, Any]:
    return {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "group": report.group.value if report.group else None,
    }


def report_download(
    report: reports.Report[Any, Any], user: User, filters: dict[str, Any]
) -> Response:
    """``report`` as an Excel workbook download, audit-logged with ``filters`` and its rows."""
    body = export.report_workbook(report, max_rows=get_settings().export_max_rows)
    audit.record(
        get_session(),
        actor_id=user.id,
        action="export.report",
        entity="report",
        entity_id=None,
        report=report.name,
        filters=filters,
        rows=len(report.rows),
    )
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    return _xlsx(body, f"{report.title}_{start}_{end}.xlsx")


def _xlsx(body: bytes, filename: str) -> Response:
    return send_file(
        io.BytesIO(body), mimetype=export.XLSX, as_attachment=True, download_name=filename
    )
