"""What a simulated run measured, read back from the database the app wrote.

- the DOMAIN KPIs: the funnel report's own totals (:mod:`dcc.reports.funnel`), for the whole
  run and per day, over the leads received then, as the manager sees them;
- the hotline (calls arriving in opening hours, as the staffing planner counts them): service
  level = answered by an agent within 20 s / calls; abandoned = hung up before any agent
  answered; abandoned without callback = abandoned calls for which no callback was owed;
  queue wait = from arrival to the agent's answer (or to hanging up), p50 and p95;
- speed to lead: for web and portal leads received in staffed hours (an agent on shift, inside
  calling hours), the first call attempt's time after the lead; p50, p95 (seconds; null when
  that share of leads was never attempted) and the share within 60 s; how many of them had
  their customer rung first (every agent busy: :data:`dcc.calls.models.CUSTOMER_FIRST`);
- the loop audit's violations (:func:`dcc.loop.audit.find_violations`) at the end, and the
  nightly audits' totals per day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import clock, reports
from dcc.calls.models import CUSTOMER_FIRST, Call, CallDirection
from dcc.config import Settings, parse_hours
from dcc.leads.models import Callback, Channel, Lead
from dcc.loop import audit
from dcc.loop.models import LoopAuditRun
from dcc.reports.result import plain
from dcc.users.models import User

ANSWER_TARGET = 20.0
LEAD_TARGET = 60.0
WEB_CHANNELS = (Channel.WEB, Channel.PORTAL, Channel.OEM)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values, or when it falls on an infinite one."""
    if not values:
        return None
    ranked = sorted(values)
    value = ranked[max(0, math.ceil(share * len(ranked)) - 1)]
    return None if math.isinf(value) else round(value, 1)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Hotline:
    calls: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    abandoned_without_callback: int = 0
    waits: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "answered": self.answered,
            "service_level": share(self.answered_in_target, self.calls),
            "abandoned": self.abandoned,
            "abandoned_without_callback": self.abandoned_without_callback,
            "queue_wait": {"p50": percentile(self.waits, 0.5), "p95": percentile(self.waits, 0.95)},
        }


@dataclass
class SpeedToLead:
    leads: int = 0
    within_target: int = 0
    rung_first: int = 0
    delays: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "p50": percentile(self.delays, 0.5),
            "p95": percentile(self.delays, 0.95),
            "within_60s_share": share(self.within_target, self.leads),
            "rung_first": self.rung_first,
        }


def kpis(session: Session, reader: User, first: dt.date, last: dt.date, timezone: str) -> Any:
    """The funnel report's totals (the DOMAIN KPIs) over the leads received in the days."""
    period = reports.Period(first, last, timezone)
    return plain(reports.run(session, "funnel", reader=reader, period=period).totals)


def hotline(
    session: Session, settings: Settings, start: dt.datetime, end: dt.datetime, day_of: Any
) -> dict[dt.date | None, Hotline]:
    """Hotline figures per local day (and ``None``: the whole run)."""
    opening = parse_hours(settings.opening_hours)
    parents = session.execute(
        select(Call.id, Call.sid, Call.started_at, Call.created_at, Call.ended_at).where(
            Call.direction == CallDirection.INBOUND,
            Call.parent_sid.is_(None),
            Call.leg == "customer",
            Call.created_at >= start,
            Call.created_at < end,
        )
    ).all()
    answers = dict(
        session.execute(
            select(Call.parent_sid, func.min(Call.answered_at))
            .where(Call.leg == "agent", Call.answered_at.is_not(None), Call.parent_sid.is_not(None))
            .group_by(Call.parent_sid)
        ).all()
    )
    owed = set(session.scalars(select(Callback.call_id).where(Callback.call_id.is_not(None))))
    figures: dict[dt.date | None, Hotline] = defaultdict(Hotline)
    for call_id, sid, started, created, ended in parents:
        arrived = started or created
        if not clock.within_hours(arrived, settings.timezone, opening):
            continue
        answered_at = answers.get(sid)
        for f in (figures[None], figures[day_of(arrived)]):
            f.calls += 1
            if answered_at is not None:
                wait = (answered_at - arrived).total_seconds()
                f.answered += 1
                f.answered_in_target += wait <= ANSWER_TARGET
                f.waits.append(wait)
            elif ended is not None:
                f.abandoned += 1
                f.abandoned_without_callback += call_id not in owed
                f.waits.append((ended - arrived).total_seconds())
    return figures


def speed_to_lead(
    session: Session,
    settings: Settings,
    start: dt.datetime,
    end: dt.datetime,
    staffed: Any,
    day_of: Any,
) -> dict[dt.date | None, SpeedToLead]:
    """Speed to lead per local day (and ``None``: the whole run)."""
    calling = parse_hours(settings.calling_hours)
    leads = session.execute(
        select(Lead.id, Lead.created_at).where(
            Lead.channel.in_(WEB_CHANNELS), Lead.created_at >= start, Lead.created_at < end
        )
    ).all()
    first_attempt = dict(
        session.execute(
            select(Call.lead_id, func.min(Call.created_at))
            .where(Call.direction == CallDirection.OUTBOUND, Call.lead_id.is_not(None))
            .group_by(Call.lead_id)
        ).all()
    )
    rung_first = set(
        session.scalars(
            select(Call.lead_id).where(Call.kind == CUSTOMER_FIRST, Call.lead_id.is_not(None))
        )
    )
    figures: dict[dt.date | None, SpeedToLead] = defaultdict(SpeedToLead)
    for lead_id, created in leads:
        if not (staffed(created) and clock.within_hours(created, settings.timezone, calling)):
            continue
        attempt = first_attempt.get(lead_id)
        delay = (attempt - created).total_seconds() if attempt is not None else math.inf
        for f in (figures[None], figures[day_of(created)]):
            f.leads += 1
            f.within_target += delay <= LEAD_TARGET
            f.rung_first += lead_id in rung_first
            f.delays.append(max(0.0, delay))
    return figures


def violations(session: Session) -> list[dict[str, Any]]:
    """The loop audit's findings now, each as ``{"kind", "ids"}``."""
    return [
        {"kind": v["kind"], "ids": {k: value for k, value in v.items() if k != "kind"}}
        for v in audit.find_violations(session)
    ]


def nightly_audits(
    session: Session, start: dt.datetime, end: dt.datetime, timezone: str
) -> dict[dt.date, int]:
    """The nightly loop audits' totals by the local day they ran."""
    zone = ZoneInfo(timezone)
    runs = session.execute(
        select(LoopAuditRun.ran_at, LoopAuditRun.total).where(
            LoopAuditRun.ran_at >= start, LoopAuditRun.ran_at <= end
        )
    ).all()
    return {ran.astimezone(zone).date(): total for ran, total in runs}
