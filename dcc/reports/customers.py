"""客户分析: the leads received in the period by intent grade (意向级别) and current status.

Each row is one grade (within one group when grouped): how many leads hold it now, and how
many of them are in each status. Grades are counted as they stand today, so a month's
leads that have since ordered show under O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import labels
from dcc.leads.models import Grade, Lead, LeadStatus
from dcc.reports import funnel, scope
from dcc.reports.period import Group, Period, prepare
from dcc.reports.result import Chart, Column, Report, Series, label_column
from dcc.users.models import User

NAME, TITLE = "customers", "客户分析"
GROUPS = frozenset(Group)
STATUSES = [s.value for s in LeadStatus]


@dataclass
class GradeRow:
    group_key: Any = None
    group: str = labels.ALL
    grade: str = ""
    grade_label: str = ""
    leads: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


@dataclass
class GradeTotals:
    leads: int = 0
    by_grade: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)


COLUMNS = (
    Column("grade_label", "意向级别", "text"),
    Column("leads", "线索量"),
    *(Column(f"by_status.{s.value}", labels.LEAD_STATUS[s]) for s in LeadStatus),
)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[GradeRow, GradeTotals]:
    prepare(session)
    keys = [scope.lead_dimension(group)] if group else []
    stmt = (
        select(*keys, Lead.grade, Lead.status, func.count())
        .where(funnel.cohort(reader, period))
        .group_by(*keys, Lead.grade, Lead.status)
    )
    rows: dict[tuple[Any, str], GradeRow] = {}
    totals = GradeTotals(by_grade={g.value: 0 for g in Grade}, by_status=dict.fromkeys(STATUSES, 0))
    result = session.execute(stmt).all()
    names = scope.label_for(session, group, (r[0] for r in result) if group else [])
    for record in result:
        key = record[0] if group else None
        grade, status, n = Grade(record[-3]), LeadStatus(record[-2]), record[-1]
        row = rows.setdefault(
            (key, grade.value),
            GradeRow(key, names.get(key, labels.ALL), grade.value, labels.GRADE[grade]),
        )
        row.leads += n
        row.by_status[status.value] += n
        totals.leads += n
        totals.by_grade[grade.value] += n
        totals.by_status[status.value] += n
    order = {g.value: i for i, g in enumerate(Grade)}
    ordered = sorted(rows.values(), key=lambda r: (r.group, order[r.grade]))
    grades = [g for g in Grade if totals.by_grade[g.value]]
    chart = Chart(
        labels=[labels.GRADE[g] for g in grades],
        series=[
            Series(labels.LEAD_STATUS[s], [_count(rows, g.value, s.value) for g in grades])
            for s in LeadStatus
            if totals.by_status[s.value]
        ],
    )
    columns = (label_column(group, ungrouped="分组", key="group"), *COLUMNS)
    return Report(NAME, TITLE, period, group, columns, ordered, totals, chart)


def _count(rows: dict[tuple[Any, str], GradeRow], grade: str, status: str) -> int:
    return sum(r.by_status[status] for (_k, g), r in rows.items() if g == grade)
