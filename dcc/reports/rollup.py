"""Roll-ups of closed days: summed once, then read; the open day is always live.

Ten million call legs cannot be summed per request in 200 ms, but a day's calls stop changing
once the day is over (a call still ringing at midnight ends within minutes), so a closed day
is summed into ``report_agent_days`` the first time a report needs it, or ahead of time by
:func:`build` from a nightly job, and marked in ``report_built_days``. Days are local to the
dealer: a change of time zone makes the marks of the old one count as missing, and a day is
"closed" only ``GRACE`` after its local midnight. :func:`rebuild` redoes days after a data fix.

The lead roll-ups (the funnel's lead days, the follow-up days) are built the same way, but
their days do change afterwards: a lead received in March is invited in April. Each changed
lead has a new ``leads.updated_at``, so a built day is stale once a lead it depends on was
updated at or after its mark's ``built_at`` less ``MARGIN`` (an update stamped just before a
build may commit just after it, unseen). Before reading, :meth:`Rollup.ensure` rebuilds the
stale days; it finds them among the leads updated since the oldest mark it reads (an index
range). The nightly :func:`dcc.reports.build_rollups` checks every built day against all its
leads with a day's margin, rebuilds what changed and re-dates the marks of the rest, so that
range stays about a day long.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, astuple, dataclass
from itertools import groupby
from typing import Any, cast

from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dcc import clock
from dcc.leads.models import Lead
from dcc.reports.models import AgentDay, BuiltDay
from dcc.reports.period import Period, as_date, prepare
from dcc.reports.work import AgentDayKey, AgentFilter, Work, live

KIND = "agent_day"
GRACE = dt.timedelta(hours=2)
#: How long an update stamped before a build may take to commit (see the module docstring).
MARGIN = dt.timedelta(minutes=10)
#: The same, for the nightly check that re-dates the marks of unchanged days.
LATE = dt.timedelta(days=1)
MEASURES = (
    AgentDay.dialled,
    AgentDay.outbound_connects,
    AgentDay.inbound_answered,
    AgentDay.talk_seconds,
    AgentDay.appointments,
    AgentDay.arrivals,
)

#: ``summarize(session, span)``: the roll-up's rows (column -> value) for the days of ``span``.
Summarize = Callable[[Session, Period], list[dict[str, Any]]]
#: ``changed(session, span, since)``: for each day of ``span``, when a lead it depends on was
#: last updated, among the leads updated at or after ``since`` (all of them when None).
Changed = Callable[[Session, Period, dt.datetime | None], dict[dt.date, dt.datetime]]


def closed_days(period: Period) -> list[dt.date]:
    """The period's days that are over (plus the grace), so their sums are final."""
    now = clock.now()
    return [d for d in period.days if Period(d, d, period.timezone).utc_end + GRACE <= now]


def open_span(period: Period, closed: list[dt.date]) -> Period | None:
    """The period's days after its closed ones (the open day, or days ahead), or None."""
    if len(closed) == len(period.days):
        return None
    start = closed[-1] + dt.timedelta(days=1) if closed else period.start
    return Period(start, period.end, period.timezone)


@dataclass(frozen=True)
class Rollup:
    """A table of sums per closed local day, and what makes a built day stale."""

    kind: str
    table: Table
    summarize: Summarize
    changed: Changed | None = None

    def ensure(self, session: Session, days: list[dt.date], timezone: str) -> int:
        """Build the closed ``days`` that are missing or stale; return how many were built.

        Consecutive days are summed in one pass. Another process building the same days at
        the same moment makes this one's insert collide; its savepoint is rolled back and
        that process's rows are used.
        """
        if not days:
            return 0
        prepare(session)  # a nightly job calls this directly, not through a report
        marks = self._marks(session, timezone, min(days), max(days))
        stale: set[dt.date] = set()
        if self.changed is not None and marks:
            since = min(marks.values()) - MARGIN
            span = Period(min(days), max(days), timezone)
            for day, changed_at in self.changed(session, span, since).items():
                built_at = marks.get(day)
                if built_at is not None and changed_at >= built_at - MARGIN:
                    stale.add(day)
        return self._build(session, [d for d in days if d not in marks or d in stale], timezone)

    def verify(self, session: Session, timezone: str) -> int:
        """Nightly: rebuild every built day whose leads changed since (less ``LATE``) its build,
        and re-date the other marks to now; return how many days were rebuilt."""
        if self.changed is None:
            return 0
        prepare(session)
        started = clock.now()
        marks = self._marks(session, timezone)
        if not marks:
            return 0
        span = Period(min(marks), max(marks), timezone)
        changed = self.changed(session, span, None)
        stale = sorted(
            day
            for day, changed_at in changed.items()
            if day in marks and changed_at >= marks[day] - LATE
        )
        session.execute(
            update(BuiltDay)
            .where(
                BuiltDay.kind == self.kind,
                BuiltDay.timezone == timezone,
                BuiltDay.day.not_in(stale),
            )
            .values(built_at=started)
        )
        return self._build(session, stale, timezone)

    def rebuild(self, session: Session, days: list[dt.date], timezone: str) -> int:
        """Forget and rebuild ``days`` (after a correction of old data)."""
        session.execute(delete(BuiltDay).where(BuiltDay.kind == self.kind, BuiltDay.day.in_(days)))
        return self.ensure(session, days, timezone)

    def _marks(
        self,
        session: Session,
        timezone: str,
        first: dt.date | None = None,
        last: dt.date | None = None,
    ) -> dict[dt.date, dt.datetime]:
        stmt = select(BuiltDay.day, BuiltDay.built_at).where(
            BuiltDay.kind == self.kind, BuiltDay.timezone == timezone
        )
        if first is not None and last is not None:
            stmt = stmt.where(BuiltDay.day >= first, BuiltDay.day <= last)
        return {day: built_at for day, built_at in session.execute(stmt)}

    def _build(self, session: Session, days: list[dt.date], timezone: str) -> int:
        count = 0
        for _, run in groupby(enumerate(days), key=lambda pair: pair[1] - dt.timedelta(pair[0])):
            chunk = [d for _, d in run]
            rows = self.summarize(session, Period(chunk[0], chunk[-1], timezone))
            try:
                with session.begin_nested():
                    self._replace(session, chunk, timezone, rows)
                count += len(chunk)
            except IntegrityError:
                pass  # built concurrently: the other builder's rows are as good as ours
        return count

    def _replace(
        self, session: Session, days: list[dt.date], timezone: str, rows: list[dict[str, Any]]
    ) -> None:
        day = self.table.c.day
        session.execute(delete(self.table).where(day >= days[0], day <= days[-1]))
        session.execute(delete(BuiltDay).where(BuiltDay.kind == self.kind, BuiltDay.day.in_(days)))
        if rows:
            session.execute(insert(self.table), rows)
        session.execute(
            insert(BuiltDay),
            [
                {"kind": self.kind, "day": d, "timezone": timezone, "built_at": clock.now()}
                for d in days
            ],
        )


def last_lead_update(
    session: Session, day: Any, stmt: Select[Any], since: dt.datetime | None
) -> dict[dt.date, dt.datetime]:
    """Per ``day`` (a local day column of ``stmt``'s rows), the last update of their leads
    since ``since`` (any, when None): when a lead roll-up's day last changed."""
    stmt = stmt.add_columns(day, func.max(Lead.updated_at)).group_by(day)
    if since is not None:
        stmt = stmt.where(Lead.updated_at >= since)
    return {as_date(d): changed for d, changed in session.execute(stmt)}


def _agent_rows(session: Session, span: Period) -> list[dict[str, Any]]:
    sums = live(session, span.utc_start, span.utc_end, span.timezone)
    return [{"day": day, "agent_id": agent, **asdict(w)} for (day, agent), w in sums.items()]


AGENT_DAYS = Rollup(KIND, cast(Table, AgentDay.__table__), _agent_rows)


def agent_days(session: Session, period: Period, agents: AgentFilter | None = None) -> list[Any]:
    """Each agent's work per day of ``period`` as ``(day, agent, *Work measures)`` rows: the
    roll-up for closed days, live for the rest. ``agents(column)`` limits the agents counted.
    """
    prepare(session)
    closed = closed_days(period)
    build(session, closed, period.timezone)
    rows: list[Any] = []
    if closed:
        stmt = select(AgentDay.day, AgentDay.agent_id, *MEASURES).where(
            AgentDay.day >= closed[0], AgentDay.day <= closed[-1]
        )
        if agents is not None:
            stmt = stmt.where(agents(AgentDay.agent_id))
        # Plain rows on the connection: a year is some 20,000, and the ORM's row handling
        # would cost more than the query.
        rows.extend(session.connection().execute(stmt).all())
    span = open_span(period, closed)
    if span is not None:
        for (day, agent), w in live(
            session, span.utc_start, span.utc_end, period.timezone, agents
        ).items():
            rows.append((day, agent, *astuple(w)))
    return rows


def work(
    session: Session, period: Period, agents: AgentFilter | None = None
) -> dict[AgentDayKey, Work]:
    """Each agent's work per day of ``period``: the roll-up for closed days, live for the rest."""
    return {
        (day, agent): Work(*values) for day, agent, *values in agent_days(session, period, agents)
    }


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
    span = open_span(period, closed)
    if span is not None:
        for (_day, agent), w in live(
            session, span.utc_start, span.utc_end, period.timezone, agents
        ).items():
            result.setdefault(agent, Work()).add(w)
    return result


def build(session: Session, days: list[dt.date], timezone: str) -> int:
    """Sum the closed ``days`` not yet in the agent-day roll-up; return how many were built."""
    return AGENT_DAYS.ensure(session, days, timezone)


def rebuild(session: Session, days: list[dt.date], timezone: str) -> int:
    """Forget and rebuild ``days`` (after a correction of old calls or bookings)."""
    return AGENT_DAYS.rebuild(session, days, timezone)
