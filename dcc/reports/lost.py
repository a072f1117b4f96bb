"""战败统计表 and 战败分析表: leads confirmed lost in the period, by owner and by reason.

Counted by the day the manager confirmed the loss (the lead's ``closed_at``), not by the day
the lead came in: a month's losses are the requests approved that month. (The funnel's lost
rate is the other view: lost among the leads received in the period.)

- objective (客观): a reason in OBJECTIVE_LOST_REASONS (budget, plan changed, design,
  configuration) - outside the dealer's reach; every other reason is subjective (主观)
- objective share = objective / lost; subjective share = subjective / lost
- share of a reason = lost for it / lost
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dcc import labels
from dcc.leads.models import OBJECTIVE_LOST_REASONS, Lead, LeadStatus, LostReason
from dcc.reports import scope
from dcc.reports.period import Group, Period, prepare, rate
from dcc.reports.result import Column, Report, Row, chart, label_column
from dcc.users.models import User

OBJECTIVE, SUBJECTIVE = labels.LOST_KIND["objective"], labels.LOST_KIND["subjective"]


@dataclass
class LostRow(Row):
    lost: int = 0
    objective: int = 0
    subjective: int = 0
    objective_share: float | None = None
    subjective_share: float | None = None

    def finish(self) -> LostRow:
        self.objective_share = rate(self.objective, self.lost)
        self.subjective_share = rate(self.subjective, self.lost)
        return self


@dataclass
class ReasonRow:
    reason: str = ""
    label: str = ""
    kind: str = ""
    lost: int = 0
    share: float | None = None


def confirmed(reader: User, period: Period) -> ColumnElement[bool]:
    """Leads confirmed lost in the period that ``reader`` may see."""
    return (
        (Lead.status == LeadStatus.LOST)
        & (Lead.closed_at >= period.utc_start)
        & (Lead.closed_at < period.utc_end)
        & scope.leads(reader)
    )


def by_reason(
    session: Session, reader: User, period: Period, group: Group | None
) -> dict[tuple[Any, LostReason | None], int]:
    prepare(session)
    keys = [scope.lead_dimension(group)] if group else []
    stmt = (
        select(*keys, Lead.lost_reason, func.count())
        .where(confirmed(reader, period))
        .group_by(*keys, Lead.lost_reason)
    )
    counts: dict[tuple[Any, LostReason | None], int] = {}
    for record in session.execute(stmt):
        key = record[0] if group else None
        reason = LostReason(record[-2]) if record[-2] else None
        counts[(key, reason)] = record[-1]
    return counts


def is_objective(reason: LostReason | None) -> bool:
    return reason in OBJECTIVE_LOST_REASONS


STATS_NAME, STATS_TITLE = "lost_stats", "战败统计表"
STATS_GROUPS = frozenset(Group)
STATS_COLUMNS = (
    Column("lost", "战败数"),
    Column("objective", "客观战败"),
    Column("subjective", "主观战败"),
    Column("objective_share", "客观占比", "rate"),
    Column("subjective_share", "主观占比", "rate"),
)


def stats(
    session: Session, *, reader: User, period: Period, group: Group | None = Group.AGENT
) -> Report[LostRow, LostRow]:
    """Confirmed losses per owner (default), source or model, objective vs subjective."""
    group = group or Group.AGENT
    counts = by_reason(session, reader, period, group)
    names = scope.label_for(session, group, (k for k, _ in counts))
    rows: dict[Any, LostRow] = {}
    total = LostRow(label=labels.TOTAL)
    for (key, reason), n in counts.items():
        row = rows.setdefault(key, LostRow(key, names.get(key, labels.ALL)))
        for target in (row, total):
            target.lost += n
            if is_objective(reason):
                target.objective += n
            else:
                target.subjective += n
    ordered = sorted((r.finish() for r in rows.values()), key=lambda r: (-r.lost, r.label))
    total.finish()
    return Report(
        STATS_NAME,
        STATS_TITLE,
        period,
        group,
        (label_column(group, ungrouped="分组"), *STATS_COLUMNS),
        ordered,
        total,
        chart(ordered, lambda r: r.label, {OBJECTIVE: "objective", SUBJECTIVE: "subjective"}),
    )


ANALYSIS_NAME, ANALYSIS_TITLE = "lost_analysis", "战败分析表"
ANALYSIS_GROUPS: frozenset[Group] = frozenset()
ANALYSIS_COLUMNS = (
    Column("label", "战败原因", "text"),
    Column("kind", "类别", "text"),
    Column("lost", "战败数"),
    Column("share", "占比", "rate"),
)


def analysis(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[ReasonRow, LostRow]:
    """Confirmed losses per reason, every reason listed, with the objective/subjective split."""
    counts: dict[LostReason | None, int] = defaultdict(int)
    for (_key, reason), n in by_reason(session, reader, period, None).items():
        counts[reason] += n
    total = LostRow(label=labels.TOTAL)
    for reason, n in counts.items():
        total.lost += n
        if is_objective(reason):
            total.objective += n
        else:
            total.subjective += n
    total.finish()
    rows = [
        ReasonRow(
            reason.value,
            labels.LOST_REASON[reason],
            OBJECTIVE if is_objective(reason) else SUBJECTIVE,
            counts.get(reason, 0),
            rate(counts.get(reason, 0), total.lost),
        )
        for reason in LostReason
    ]
    if counts.get(None):  # lost before reasons were recorded
        rows.append(
            ReasonRow(
                "", labels.NOT_GIVEN, SUBJECTIVE, counts[None], rate(counts[None], total.lost)
            )
        )
    rows.sort(key=lambda r: (r.kind != OBJECTIVE, -r.lost))
    return Report(
        ANALYSIS_NAME,
        ANALYSIS_TITLE,
        period,
        None,
        ANALYSIS_COLUMNS,
        rows,
        total,
        chart(rows, lambda r: r.label, {"战败数": "lost"}),
    )
