"""工作日报表: per agent per local day, calls, connects, talk time, appointments and arrivals.

The measures are defined in :mod:`dcc.reports.work`; closed days come from the roll-up
(:mod:`dcc.reports.rollup`). connect rate (接通率) = outbound connects / dialled, None when
nothing was dialled. ``group=agent`` sums each agent's days into one row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dcc import labels
from dcc.reports import rollup, scope
from dcc.reports.period import Group, Period, rate
from dcc.reports.result import Column, Report, chart
from dcc.reports.work import Work
from dcc.users.models import User

NAME, TITLE = "daily_work", "工作日报表"
GROUPS = frozenset({Group.AGENT})


@dataclass
class DailyWorkRow(Work):
    day: dt.date | None = None
    agent_id: int | None = None
    agent: str = ""
    calls: int = 0
    connects: int = 0
    connect_rate: float | None = None

    def finish(self) -> DailyWorkRow:
        self.calls = self.dialled + self.inbound_answered
        self.connects = self.outbound_connects + self.inbound_answered
        self.connect_rate = rate(self.outbound_connects, self.dialled)
        return self


COLUMNS = (
    Column("day", "日期", "date"),
    Column("agent", "坐席", "text"),
    Column("calls", "通话量"),
    Column("dialled", "外呼量"),
    Column("outbound_connects", "外呼接通"),
    Column("inbound_answered", "呼入接听"),
    Column("connects", "接通量"),
    Column("connect_rate", "接通率", "rate"),
    Column("talk_seconds", "通话时长(秒)", "seconds"),
    Column("appointments", "邀约"),
    Column("arrivals", "到店"),
)


def outbound_by_agent(session: Session, reader: User, period: Period) -> dict[int, tuple[int, int]]:
    """``{agent id: (dialled, outbound connects)}`` over the period (the funnel's connect rate)."""
    work = rollup.by_agent(session, period, _agents(reader))
    return {agent: (w.dialled, w.outbound_connects) for agent, w in work.items()}


def _agents(reader: User) -> rollup.AgentFilter:
    return lambda column: scope.agents(reader, column)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[DailyWorkRow, DailyWorkRow]:
    """Each agent's day (or, grouped by agent, each agent's period) of work."""
    entries = rollup.agent_days(session, period, _agents(reader))
    names = scope.user_names(session, {entry[1] for entry in entries})
    rows: list[DailyWorkRow] = []
    by_agent: dict[int, DailyWorkRow] = {}
    total = DailyWorkRow(agent=labels.TOTAL)
    # A year is some 20,000 agent-days: one object each, and no more.
    for day, agent, *values in entries:
        if not any(values):
            continue  # rung but never answered nor dialled: nothing to report
        row = DailyWorkRow(*values)
        total.add(row)
        if not group:
            row.day, row.agent_id, row.agent = day, agent, names[agent]
            rows.append(row)
            continue
        one = by_agent.get(agent)
        if one is None:
            row.agent_id, row.agent = agent, names[agent]
            by_agent[agent] = row
        else:
            one.add(row)
    rows.extend(by_agent.values())
    ordered = sorted(rows, key=lambda r: (r.day or dt.date.min, r.agent, r.agent_id or 0))
    for row in ordered:
        row.finish()
    total.finish()
    agents_chart = chart(
        _per_agent(ordered),
        lambda r: r.agent,
        {"通话量": "calls", "接通量": "connects", "邀约": "appointments", "到店": "arrivals"},
    )
    return Report(NAME, TITLE, period, group, COLUMNS, ordered, total, agents_chart)


def _per_agent(rows: list[DailyWorkRow]) -> list[DailyWorkRow]:
    """The chart shows each agent once, whatever the rows are."""
    merged: dict[int | None, DailyWorkRow] = {}
    for row in rows:
        one = merged.get(row.agent_id)
        if one is None:
            one = merged[row.agent_id] = DailyWorkRow(agent_id=row.agent_id, agent=row.agent)
        one.add(row)
    return [r.finish() for r in sorted(merged.values(), key=lambda r: r.agent)]
