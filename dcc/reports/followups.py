"""有望客户跟踪进度: each owner's follow-up work - open, due in the period, overdue, done.

- open: follow-ups open now
- due: open follow-ups due within the period
- overdue: open follow-ups whose due time has passed (now)
- done: follow-ups done within the period; with result: those with a result written
- on time: done on or before their due local day; on-time rate = on time / done

Per owner (the default), closed days' done follow-ups come from a roll-up (:mod:`rollup`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from dcc import clock, labels
from dcc.leads.models import FollowUp, FollowUpStatus, Lead
from dcc.reports import rollup, scope
from dcc.reports.models import follow_up_days
from dcc.reports.period import Group, Period, as_date, local_day, prepare, rate
from dcc.reports.result import Column, Report, Row, chart, label_column
from dcc.users.models import User

NAME, TITLE = "followups", "有望客户跟踪进度"
GROUPS = frozenset(Group)


@dataclass
class FollowUpRow(Row):
    open: int = 0
    due: int = 0
    overdue: int = 0
    done: int = 0
    with_result: int = 0
    on_time: int = 0
    on_time_rate: float | None = None

    def add(self, other: FollowUpRow) -> None:
        for f in fields(self)[2:-1]:
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


COLUMNS = (
    Column("open", "待跟进"),
    Column("due", "本期到期"),
    Column("overdue", "已逾期"),
    Column("done", "本期完成"),
    Column("with_result", "有跟进结果"),
    Column("on_time", "按时完成"),
    Column("on_time_rate", "按时完成率", "rate"),
)


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
IS_OPEN = FollowUp.status == FollowUpStatus.OPEN
IS_DONE = FollowUp.status == FollowUpStatus.DONE
HAS_RESULT = FollowUp.result.is_not(None) & (FollowUp.result != "")


def on_time(timezone: str) -> ColumnElement[bool]:
    """Done on or before the local day it was due."""
    return local_day(FollowUp.done_at, timezone) <= local_day(FollowUp.due_at, timezone)


def done_between(span: Period) -> ColumnElement[bool]:
    return IS_DONE & (FollowUp.done_at >= span.utc_start) & (FollowUp.done_at < span.utc_end)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = Group.AGENT
) -> Report[FollowUpRow, FollowUpRow]:
    prepare(session)
    group = group or Group.AGENT
    if group == Group.AGENT:
        result = by_owner(session, reader, period)
    else:
        result = [tuple(r) for r in session.execute(_one_pass(reader, period, group))]
    names = scope.label_for(session, group, (r[0] for r in result))
    total = FollowUpRow(label=labels.TOTAL)
    rows = []
    for k, *counts in result:
        row = FollowUpRow(k, names.get(k, labels.UNASSIGNED), *counts)
        row.on_time_rate = rate(row.on_time, row.done)
        total.add(row)
        rows.append(row)
    total.on_time_rate = rate(total.on_time, total.done)
    rows.sort(key=lambda r: (-r.overdue, r.label))
    return Report(
        NAME,
        TITLE,
        period,
        group,
        (label_column(group, ungrouped="跟进人", agent="跟进人"), *COLUMNS),
        rows,
        total,
        chart(
            rows, lambda r: r.label, {"本期到期": "due", "已逾期": "overdue", "本期完成": "done"}
        ),
    )


def _one_pass(reader: User, period: Period, group: Group) -> Select[Any]:
    """Every count per source or model in one pass over open and recently done follow-ups."""
    key = scope.lead_dimension(group)
    done = done_between(period)
    in_period = (FollowUp.due_at >= period.utc_start) & (FollowUp.due_at < period.utc_end)
    return (
        select(
            key,
            func.count().filter(IS_OPEN),
            func.count().filter(IS_OPEN & in_period),
            func.count().filter(IS_OPEN & (FollowUp.due_at < clock.now())),
            func.count().filter(done),
            func.count().filter(done & HAS_RESULT),
            func.count().filter(done & on_time(period.timezone)),
        )
        .join(Lead, Lead.id == FollowUp.lead_id)
        .where(or_(IS_OPEN, done), scope.leads(reader))
        .group_by(key)
    )


def by_owner(session: Session, reader: User, period: Period) -> list[tuple[Any, ...]]:
    """``(owner, open, due, overdue, done, with result, on time)`` per follow-up owner.

    Open follow-ups are counted live (from a partial index of the open ones); done ones come
    from the follow-up-day roll-up for closed days and live for the rest.
    """
    closed = rollup.closed_days(period)
    FOLLOW_UP_DAYS.ensure(session, closed, period.timezone)
    joined = not scope.dealer_wide(reader)  # only the lead knows its team

    def visible(stmt: SelectT) -> SelectT:
        if not joined:
            return stmt
        return stmt.join(Lead, Lead.id == FollowUp.lead_id).where(scope.leads(reader))

    counts: dict[Any, list[int]] = {}

    def add(rows: Any, offset: int) -> None:
        for owner, *values in rows:
            row = counts.setdefault(owner, [0] * 6)
            for i, value in enumerate(values):
                row[offset + i] += int(value or 0)

    due = (FollowUp.due_at >= period.utc_start) & (FollowUp.due_at < period.utc_end)
    open_now = select(
        FollowUp.owner_id,
        func.count(),
        func.count().filter(due),
        func.count().filter(FollowUp.due_at < clock.now()),
    ).where(IS_OPEN)
    add(session.execute(visible(open_now).group_by(FollowUp.owner_id)), 0)
    if closed:
        t = follow_up_days
        done = (
            select(
                t.c.owner_id, func.sum(t.c.done), func.sum(t.c.with_result), func.sum(t.c.on_time)
            )
            .where(
                t.c.day >= closed[0],
                t.c.day <= closed[-1],
                scope.lead_rows(reader, t.c.lead_team_id, t.c.lead_owner_id),
            )
            .group_by(t.c.owner_id)
        )
        add(session.execute(done), 3)
    span = rollup.open_span(period, closed)
    if span is not None:
        done_live = select(
            FollowUp.owner_id,
            func.count(),
            func.count().filter(HAS_RESULT),
            func.count().filter(on_time(period.timezone)),
        ).where(done_between(span))
        add(session.execute(visible(done_live).group_by(FollowUp.owner_id)), 3)
    return [(owner, *values) for owner, values in counts.items()]


def _follow_up_day_rows(session: Session, span: Period) -> list[dict[str, Any]]:
    """The roll-up's rows for the days of ``span``: per local day of completion, follow-up
    owner, and the lead's team and owner."""
    day = local_day(FollowUp.done_at, span.timezone)
    keys = (day, FollowUp.owner_id, Lead.team_id, Lead.owner_id)
    stmt = (
        select(
            *keys,
            func.count(),
            func.count().filter(HAS_RESULT),
            func.count().filter(on_time(span.timezone)),
        )
        .join(Lead, Lead.id == FollowUp.lead_id)
        .where(done_between(span))
        .group_by(*keys)
    )
    names = ("owner_id", "lead_team_id", "lead_owner_id", "done", "with_result", "on_time")
    return [
        {"day": as_date(d), **dict(zip(names, values, strict=True))}
        for d, *values in session.execute(stmt)
    ]


def _follow_up_changes(
    session: Session, span: Period, since: dt.datetime | None
) -> dict[dt.date, dt.datetime]:
    """Per day of ``span``, the last update of the lead of a follow-up done that day."""
    done = select().select_from(FollowUp).join(Lead, Lead.id == FollowUp.lead_id)
    day = local_day(FollowUp.done_at, span.timezone)
    return rollup.last_lead_update(session, day, done.where(done_between(span)), since)


FOLLOW_UP_DAYS = rollup.Rollup(
    "follow_up_day", follow_up_days, _follow_up_day_rows, _follow_up_changes
)
