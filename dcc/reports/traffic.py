"""展厅流量分析表: showroom visits per local day (or per consultant), and per hour of the day.

Every registered visit counts, anonymous traffic included (see :func:`scope.visit_queries`).

- visits (批次): visits registered; people (人数): the sum of their party sizes
- first / return visits (首次/再次到店): by the visit's ``first_visit`` mark
- with / without contact (留档/未留档): whether the visitor left a phone
- closed on visit (当场成交): the visit ended in an order
- average party size = people / visits
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import labels
from dcc.reports import scope
from dcc.reports.period import (
    Group,
    Period,
    as_datetime,
    hour_of,
    local_hour_start,
    prepare,
    rate,
)
from dcc.reports.result import Column, Report, Row, chart, label_column
from dcc.sales.models import ShowroomVisit
from dcc.users.models import User

NAME, TITLE = "traffic", "展厅流量分析表"
GROUPS = frozenset({Group.AGENT})
V = ShowroomVisit


@dataclass
class TrafficRow(Row):
    visits: int = 0
    people: int = 0
    first_visits: int = 0
    return_visits: int = 0
    with_contact: int = 0
    without_contact: int = 0
    closed: int = 0
    average_party_size: float | None = None


@dataclass
class TrafficTotals(TrafficRow):
    visits_by_hour: list[int] = field(default_factory=lambda: [0] * 24)


COLUMNS = (
    Column("visits", "到店批次"),
    Column("people", "到店人数"),
    Column("first_visits", "首次到店"),
    Column("return_visits", "再次到店"),
    Column("with_contact", "留档"),
    Column("without_contact", "未留档"),
    Column("closed", "当场成交"),
    Column("average_party_size", "平均人数", "float"),
)
MEASURES = (
    "visits",
    "people",
    "first_visits",
    "return_visits",
    "with_contact",
    "without_contact",
    "closed",
)


def visit_label_column(group: Group | None) -> Column:
    """The first column of the showroom reports: a row is a day, or a consultant."""
    return label_column(group, ungrouped="日期", agent="销售顾问")


def arrived_in(period: Period) -> Any:
    return (V.arrived_at >= period.utc_start) & (V.arrived_at < period.utc_end)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[TrafficRow, TrafficTotals]:
    prepare(session)
    # Per consultant and hour of the day; or per local hour, which gives both the day and the
    # hour from one time zone conversion per visit (the costliest part of the query).
    keys: list[Any] = (
        [V.consultant_id, hour_of(V.arrived_at, period)]
        if group == Group.AGENT
        else [local_hour_start(V.arrived_at, period.timezone)]
    )
    stmt = (
        select(
            *keys,
            func.count(),
            func.coalesce(func.sum(V.party_size), 0),
            func.count().filter(V.first_visit.is_(True)),
            func.count().filter(V.first_visit.is_(False)),
            func.count().filter(V.left_contact.is_(True)),
            func.count().filter(V.left_contact.is_(False)),
            func.count().filter(V.closed_on_visit.is_(True)),
        )
        .select_from(V)
        .where(arrived_in(period))
        .group_by(*keys)
    )
    result = [row for part in scope.visit_queries(stmt, reader) for row in session.execute(part)]
    names = scope.user_names(session, (r[0] for r in result)) if group else {}
    rows: dict[Any, TrafficRow] = {}
    total = TrafficTotals(label=labels.TOTAL)
    for record in result:
        if group:
            k, h, *counts = record
            label = names.get(k, labels.UNASSIGNED)
        else:
            slot, *counts = record
            slot = as_datetime(slot)
            k, h = slot.date(), slot.hour
            label = k.isoformat()
        row = rows.setdefault(k, TrafficRow(k, label))
        for name, n in zip(MEASURES, counts, strict=True):
            setattr(row, name, getattr(row, name) + int(n))
            setattr(total, name, getattr(total, name) + int(n))
        total.visits_by_hour[int(h)] += counts[0]
    ordered = sorted(rows.values(), key=_order)
    for row in [*ordered, total]:
        row.average_party_size = rate(row.people, row.visits)
    return Report(
        NAME,
        TITLE,
        period,
        group,
        (visit_label_column(group), *COLUMNS),
        ordered,
        total,
        chart(
            ordered,
            lambda r: r.label,
            {"首次到店": "first_visits", "再次到店": "return_visits", "留档": "with_contact"},
        ),
    )


def _order(row: TrafficRow) -> Any:
    return (0, row.key, "") if isinstance(row.key, dt.date) else (1, dt.date.min, row.label)
