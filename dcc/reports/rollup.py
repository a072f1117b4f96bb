"""The agent-day roll-up: closed days are summed once, then read; the open day is live.

Ten million call legs cannot be summed per request in 200 ms, but a day's calls stop changing
once the day is over (a call still ringing at midnight ends within minutes), so a closed day
is summed into ``report_agent_days`` the first time a report needs it, or ahead of time by
:func:`build` from a nightly job, and marked in ``report_built_days``. Days are local to the
dealer: a change of time zone makes the marks of the old one count as missing, and a day is
"closed" only ``GRACE`` after its local midnight. :func:`rebuild` redoes days after a data fix.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dcc import clock
from dcc.reports.models import AgentDay, BuiltDay
from dcc.reports.period import Period, prepare
from dcc.reports.work import AgentDayKey, AgentFilter, Work, live

KIND = "agent_day"
GRACE = dt.timedelta(hours=2)
MEASURES = (
    AgentDay.dialled,
    AgentDay.outbound_connects,
    AgentDay.inbound_answered,
    AgentDay.talk_seconds,
    AgentDay.appointments,
    AgentDay.arrivals,
)


def closed_days(period: Period) -> list[dt.date]:
    """The period's days that are over (plus the grace), so their sums are final."""
    now = clock.now()
    return [d for d in period.days if Period(d, d, period.timezone).utc_end + GRACE <= now]


def work(
    session: Session, period: Period, agents: AgentFilter | None = None
) -> dict[AgentDayKey, Work]:
    """Each agent's work per day of ``period``: the roll-up for closed days, live for the rest."""
    prepare(session)
    closed = closed_days(period)
    build(session, closed, period.timezone)
    result: dict[AgentDayKey, Work] = {}
    if closed:
        # Plain tuples, not ORM objects: a year is some 20,000 rows.
        stmt = select(AgentDay.day, AgentDay.agent_id, *MEASURES).where(
            AgentDay.day >= closed[0], AgentDay.day <= closed[-1]
        )
        if agents is not None:
            stmt = stmt.where(agents(AgentDay.agent_id))
        for day, agent, *values in session.execute(stmt):
            result[(day, agent)] = Work(*values)
    open_days = [d for d in period.days if d not in set(closed)]
    if open_days:
        start = Period(open_days[0], open_days[-1], period.timezone)
        result.update(live(session, start.utc_start, start.utc_end, period.timezone, agents))
    return result


def by_agent(
    session: Session, period: Period, agents: AgentFilter | None = None
) -> dict[int, Work]:
    """Each agent's work summed over the whole period (summed in SQL for closed days)."""
    prepare(session)
    closed = closed_days(period)
    build(session, closed, period.timezone)
    result: dict[int, Work] = {}
    if closed:
        stmt = (
            select(AgentDay.agent_id, *(func.sum(m) for m in MEASURES))
            .where(AgentDay.day >= closed[0], AgentDay.day <= closed[-1])
            .group_by(AgentDay.agent_id)
        )
        if agents is not None:
            stmt = stmt.where(agents(AgentDay.agent_id))
        for agent, *values in session.execute(stmt):
            result[agent] = Work(*(int(v or 0) for v in values))
    open_days = [d for d in period.days if d not in set(closed)]
    if open_days:
        span = Period(open_days[0], open_days[-1], period.timezone)
        for (_day, agent), w in live(
            session, span.utc_start, span.utc_end, period.timezone, agents
        ).items():
            result.setdefault(agent, Work()).add(w)
    return result


def build(session: Session, days: list[dt.date], timezone: str) -> int:
    """Sum the closed ``days`` not yet in the roll-up; return how many days were built.

    Consecutive missing days are summed in one pass. Another process building the same days
    at the same moment makes this one's insert collide; its savepoint is rolled back and
    that process's rows are used.
    """
    if not days:
        return 0
    prepare(session)  # a nightly job calls this directly, not through a report
    marks = select(BuiltDay.day).where(
        BuiltDay.kind == KIND,
        BuiltDay.timezone == timezone,
        BuiltDay.day >= min(days),
        BuiltDay.day <= max(days),
    )
    built = set(session.scalars(marks))
    missing = [d for d in days if d not in built]
    count = 0
    for _, run in groupby(enumerate(missing), key=lambda pair: pair[1] - dt.timedelta(pair[0])):
        chunk = [d for _, d in run]
        span = Period(chunk[0], chunk[-1], timezone)
        sums = live(session, span.utc_start, span.utc_end, timezone)
        try:
            with session.begin_nested():
                _replace(session, chunk, timezone, sums)
            count += len(chunk)
        except IntegrityError:
            pass  # built concurrently: the other builder's rows are as good as ours
    return count


def rebuild(session: Session, days: list[dt.date], timezone: str) -> int:
    """Forget and rebuild ``days`` (after a correction of old calls or bookings)."""
    session.execute(delete(BuiltDay).where(BuiltDay.kind == KIND, BuiltDay.day.in_(days)))
    return build(session, days, timezone)


def _replace(
    session: Session, days: list[dt.date], timezone: str, sums: dict[AgentDayKey, Work]
) -> None:
    session.execute(delete(AgentDay).where(AgentDay.day >= days[0], AgentDay.day <= days[-1]))
    session.execute(delete(BuiltDay).where(BuiltDay.kind == KIND, BuiltDay.day.in_(days)))
    rows = [{"day": day, "agent_id": agent, **vars(w)} for (day, agent), w in sums.items()]
    if rows:
        session.execute(insert(AgentDay), rows)
    session.execute(
        insert(BuiltDay), [{"kind": KIND, "day": d, "timezone": timezone} for d in days]
    )
