"""Reports for supervisors and managers (报表管理): plain functions on a session.

Each report takes the reader (for scoping: :func:`dcc.access.visible_leads`), a
:class:`~dcc.reports.period.Period` of local days and an optional grouping, and returns a
:class:`~dcc.reports.result.Report`: typed rows and totals that are at once the table, the
chart series and the Excel sheet. The formulas are in each module's docstring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dcc.errors import NotFound, ValidationError
from dcc.reports import (
    arrivals,
    customers,
    daily_work,
    followups,
    funnel,
    lost,
    retention,
    rollup,
    sources,
    traffic,
)
from dcc.reports.period import Group, Period
from dcc.reports.result import Report
from dcc.users.models import User


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    function: Callable[..., Report[Any, Any]]
    groups: frozenset[Group]


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(traffic.NAME, traffic.TITLE, traffic.report, traffic.GROUPS),
        ReportSpec(daily_work.NAME, daily_work.TITLE, daily_work.report, daily_work.GROUPS),
        ReportSpec(customers.NAME, customers.TITLE, customers.report, customers.GROUPS),
        ReportSpec(lost.STATS_NAME, lost.STATS_TITLE, lost.stats, lost.STATS_GROUPS),
        ReportSpec(lost.ANALYSIS_NAME, lost.ANALYSIS_TITLE, lost.analysis, lost.ANALYSIS_GROUPS),
        ReportSpec(sources.NAME, sources.TITLE, sources.report, sources.GROUPS),
        ReportSpec(followups.NAME, followups.TITLE, followups.report, followups.GROUPS),
        ReportSpec(arrivals.NAME, arrivals.TITLE, arrivals.report, arrivals.GROUPS),
        ReportSpec(funnel.NAME, funnel.TITLE, funnel.report, funnel.GROUPS),
        ReportSpec(retention.NAME, retention.TITLE, retention.report, retention.GROUPS),
    )
}


def get(name: str) -> ReportSpec:
    spec = REPORTS.get(name)
    if spec is None:
        raise NotFound("report.not_found", field="name", report=name, reports=list(REPORTS))
    return spec


def run(
    session: Session, name: str, *, reader: User, period: Period, group: Group | None = None
) -> Report[Any, Any]:
    """Run the report ``name`` for ``reader`` over ``period``."""
    spec = get(name)
    if group is not None and group not in spec.groups:
        choices = ", ".join(sorted(g.value for g in spec.groups)) or "none"
        raise ValidationError("field.group_not_offered", field="group", choices=choices)
    if group is None:
        return spec.function(session, reader=reader, period=period)
    return spec.function(session, reader=reader, period=period, group=group)


#: Every roll-up: the agent days, and the lead roll-ups of the reports that read them.
ROLLUPS: tuple[rollup.Rollup, ...] = (rollup.AGENT_DAYS, funnel.LEAD_DAYS, followups.FOLLOW_UP_DAYS)


def build_rollups(session: Session, days: list[dt.date], timezone: str) -> dict[str, int]:
    """Nightly: build every roll-up's missing or stale ``days``, then check all its built days
    against the leads (see :meth:`~dcc.reports.rollup.Rollup.verify`); return the days built
    per roll-up."""
    built = {}
    for each in ROLLUPS:
        built[each.kind] = each.ensure(session, days, timezone)
        built[each.kind] += each.verify(session, timezone)
    return built


__all__ = [
    "REPORTS",
    "ROLLUPS",
    "Group",
    "Period",
    "Report",
    "ReportSpec",
    "build_rollups",
    "get",
    "run",
]
