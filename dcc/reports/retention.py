"""首洽客户信息留存率 (info retention rate, 展厅留档率), per local day or per consultant.

info retention rate = first-visit walk-ins who left a phone / first-visit walk-ins not closed

- first-visit walk-ins: visits marked ``first_visit`` that came without an appointment (an
  invited customer's number is already known, so counting them would flatter the rate)
- not closed: the visit did not end in an order (a buyer leaves their details with the order)
- left a phone: ``left_contact`` - of those same visits, so the rate is at most 1

The deck's case: 1,143 of 1,682 (68%) before an information clerk, 1,689 of 1,787 (95%) after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import labels
from dcc.reports import scope
from dcc.reports.period import Group, Period, as_date, local_day, prepare, rate
from dcc.reports.result import Column, Report, Row, chart
from dcc.reports.traffic import V, arrived_in, visit_label_column
from dcc.users.models import User

NAME, TITLE = "retention", "首洽客户信息留存率"
GROUPS = frozenset({Group.AGENT})


@dataclass
class RetentionRow(Row):
    first_visits: int = 0
    not_closed: int = 0
    left_phone: int = 0
    retention_rate: float | None = None


COLUMNS = (
    Column("first_visits", "首次到店(自然到店)"),
    Column("not_closed", "首洽未成交"),
    Column("left_phone", "留下电话"),
    Column("retention_rate", "信息留存率", "rate"),
)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[RetentionRow, RetentionRow]:
    prepare(session)
    key: Any = V.consultant_id if group == Group.AGENT else local_day(V.arrived_at, period.timezone)
    not_closed = V.closed_on_visit.is_(False)
    stmt = (
        select(
            key,
            func.count(),
            func.count().filter(not_closed),
            func.count().filter(not_closed & V.left_contact.is_(True)),
        )
        .select_from(V)
        .where(arrived_in(period), V.first_visit.is_(True), V.appointment_id.is_(None))
        .group_by(key)
    )
    # One query, or two whose rows for the same key add up (see scope.visit_queries).
    found: dict[Any, list[int]] = {}
    for part in scope.visit_queries(stmt, reader):
        for k, *counts in session.execute(part):
            sums = found.setdefault(k, [0, 0, 0])
            for i, n in enumerate(counts):
                sums[i] += n
    names = scope.user_names(session, found) if group else {}
    total = RetentionRow(label=labels.TOTAL)
    rows = []
    for k, (first, open_, kept) in found.items():
        if group:
            label = names.get(k, labels.UNASSIGNED)
        else:
            k = as_date(k)
            label = k.isoformat()
        rows.append(RetentionRow(k, label, first, open_, kept, rate(kept, open_)))
        total.first_visits += first
        total.not_closed += open_
        total.left_phone += kept
    total.retention_rate = rate(total.left_phone, total.not_closed)
    rows.sort(key=lambda r: r.label)
    return Report(
        NAME,
        TITLE,
        period,
        group,
        (visit_label_column(group), *COLUMNS),
        rows,
        total,
        chart(rows, lambda r: r.label, {"信息留存率": "retention_rate"}),
    )
