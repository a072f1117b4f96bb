"""The DCC funnel and its KPIs (DOMAIN.md), over the leads received in the period.

The funnel is a cohort: the leads created in the period, and what has become of them since.
So every numerator is a part of its denominator, and a month's rates keep improving while its
leads are still worked. Definitions (each rate is None when its denominator is 0):

- leads: leads received in the period (visible to the reader)
- valid: leads not invalid and not duplicate
- invited: valid leads with an appointment (``invited_at`` is set by every booking)
- showed: invited leads that arrived
- arrived: valid leads that came to the showroom (walk-ins included)
- orders: leads ordered or delivered (a canceled order puts a lead back to arrived)
- lost: leads confirmed lost; subjective: lost for a reason not in OBJECTIVE_LOST_REASONS

- valid lead rate (线索有效率) = valid / leads
- first response time (首次响应时长) = first_response_at - created_at, over leads that have had
  one (the first call attempt, or an agent answering the customer's call): the median in
  seconds, and the share within 5 minutes (<= 300 s) = responded within 5 min / responded
- connect rate (接通率) = answered outbound calls / dialled (see :mod:`dcc.reports.daily_work`;
  calls in the period by the reader's agents; per agent when grouped by agent, None per row
  when grouped by source or model, since a call has no channel of its own)
- invitation rate (邀约率) = invited / valid
- show rate (邀约到店率) = showed / invited
- close rate after visit (进店成交率) = orders / arrived
- lead close rate (线索成交率) = orders / valid
- lost rate (战败率) = lost / leads, with subjective share (主观战败占比) = subjective / lost

In total and per agent, closed days come from the lead-day roll-up (per day, team and owner,
with first responses counted per coarse bucket; see :mod:`dcc.reports.rollup`) and the open day
is scanned; the exact medians then rank only the middle bucket's leads
(:func:`dcc.reports.median.coarse_medians`). Per source or model every lead is scanned.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import QueryableAttribute, Session

from dcc import labels
from dcc.leads.models import OBJECTIVE_LOST_REASONS, Lead, LeadStatus
from dcc.reports import daily_work, median, rollup, scope
from dcc.reports.models import FUNNEL_MEASURES, RESPONSE_COLUMNS, lead_days
from dcc.reports.period import Group, Period, as_date, local_day, prepare, rate
from dcc.reports.result import Column, Report, chart, label_column
from dcc.users.models import User

NAME, TITLE = "funnel", "DCC 漏斗与关键指标"
GROUPS = frozenset(Group)
FIVE_MINUTES = 300

VALID = Lead.status.not_in([LeadStatus.INVALID, LeadStatus.DUPLICATE])
INVITED = VALID & Lead.invited_at.is_not(None)
ARRIVED = VALID & Lead.arrived_at.is_not(None)
ORDERED = Lead.status.in_([LeadStatus.ORDERED, LeadStatus.DELIVERED])
LOST = Lead.status == LeadStatus.LOST
SUBJECTIVE = LOST & Lead.lost_reason.not_in(sorted(OBJECTIVE_LOST_REASONS))
RESPONSE = median.seconds_between(Lead.first_response_at, Lead.created_at)
RESPONSE_BUCKET = median.bucket(RESPONSE)
WITHIN_5MIN = median.within_seconds(Lead.first_response_at, Lead.created_at, FIVE_MINUTES)
#: How each of FUNNEL_MEASURES counts a group of leads, in that order.
MEASURES = (
    func.count(),
    func.count().filter(VALID),
    func.count().filter(INVITED),
    func.count().filter(INVITED & Lead.arrived_at.is_not(None)),
    func.count().filter(ARRIVED),
    func.count().filter(ORDERED),
    func.count().filter(LOST),
    func.count().filter(SUBJECTIVE),
    func.count().filter(Lead.first_response_at.is_not(None)),
    func.count().filter(WITHIN_5MIN),
)


#: The funnel's stages as the chart draws them (this report's and the sources report's).
CHART_SERIES = {
    "线索量": "leads",
    "有效线索": "valid",
    "邀约": "invited",
    "到店": "arrived",
    "成交": "orders",
}


@dataclass
class FunnelCounts:
    """The counts of one group of leads; the report rows add the rates."""

    leads: int = 0
    valid: int = 0
    invited: int = 0
    showed: int = 0
    arrived: int = 0
    orders: int = 0
    lost: int = 0
    lost_subjective: int = 0
    responded: int = 0
    responded_5min: int = 0

    def add(self, other: FunnelCounts) -> None:
        for f in fields(FunnelCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class FunnelRow(FunnelCounts):
    key: Any = None
    label: str = ""
    first_response_median_seconds: float | None = None
    dialled: int | None = None
    outbound_connects: int | None = None
    valid_rate: float | None = None
    first_response_5min_share: float | None = None
    connect_rate: float | None = None
    invitation_rate: float | None = None
    show_rate: float | None = None
    close_rate_after_visit: float | None = None
    lead_close_rate: float | None = None
    lost_rate: float | None = None
    subjective_lost_share: float | None = None

    def with_rates(self) -> FunnelRow:
        """Fill the rates from the counts, exactly as the module docstring defines them."""
        self.valid_rate = rate(self.valid, self.leads)
        self.first_response_5min_share = rate(self.responded_5min, self.responded)
        if self.dialled is not None and self.outbound_connects is not None:
            self.connect_rate = rate(self.outbound_connects, self.dialled)
        self.invitation_rate = rate(self.invited, self.valid)
        self.show_rate = rate(self.showed, self.invited)
        self.close_rate_after_visit = rate(self.orders, self.arrived)
        self.lead_close_rate = rate(self.orders, self.valid)
        self.lost_rate = rate(self.lost, self.leads)
        self.subjective_lost_share = rate(self.lost_subjective, self.lost)
        return self


COUNT_COLUMNS = (
    Column("leads", "线索量"),
    Column("valid", "有效线索"),
    Column("invited", "邀约"),
    Column("showed", "邀约到店"),
    Column("arrived", "到店"),
    Column("orders", "成交"),
    Column("lost", "战败"),
)
COLUMNS = (
    *COUNT_COLUMNS,
    Column("valid_rate", "线索有效率", "rate"),
    Column("first_response_median_seconds", "首次响应时长中位数(秒)", "seconds"),
    Column("first_response_5min_share", "5分钟内响应占比", "rate"),
    Column("dialled", "外呼量"),
    Column("outbound_connects", "外呼接通"),
    Column("connect_rate", "接通率", "rate"),
    Column("invitation_rate", "邀约率", "rate"),
    Column("show_rate", "邀约到店率", "rate"),
    Column("close_rate_after_visit", "进店成交率", "rate"),
    Column("lead_close_rate", "线索成交率", "rate"),
    Column("lost_rate", "战败率", "rate"),
    Column("subjective_lost_share", "主观战败占比", "rate"),
)


def cohort(reader: User, period: Period) -> ColumnElement[bool]:
    """The leads received in the period that ``reader`` may see."""
    return (
        (Lead.created_at >= period.utc_start)
        & (Lead.created_at < period.utc_end)
        & scope.leads(reader)
    )


Key = tuple[Any, ...]
Histogram = dict[int, int]


def scan(
    session: Session,
    where: ColumnElement[bool],
    keys: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
    histograms: bool = True,
) -> tuple[dict[Key, FunnelCounts], dict[Key, Histogram]]:
    """Funnel counts per combination of ``keys``, with each one's response-time histogram.

    One pass over the period's leads (an index-only scan of ``ix_leads_report`` on
    PostgreSQL) counts everything the funnel needs.
    """
    prepare(session)
    # The bucket multiplies the groups; reports without a median (sources) leave it out.
    bucket = RESPONSE_BUCKET if histograms else literal(None)
    stmt = select(*keys, bucket, *MEASURES).where(where)
    rows = session.execute(stmt.group_by(*keys, *([bucket] if histograms else []))).all()
    totals: dict[Key, FunnelCounts] = defaultdict(FunnelCounts)
    found: dict[Key, Histogram] = defaultdict(dict)
    width = len(keys)
    for row in rows:
        key, b, values = tuple(row[:width]), row[width], row[width + 1 :]
        totals[key].add(FunnelCounts(*values))
        if b is not None:
            found[key][b] = values[8]
    return dict(totals), dict(found)


def response_medians(
    session: Session,
    where: ColumnElement[bool],
    keys: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
    histograms: dict[Key, Histogram],
) -> dict[Key, float | None]:
    """The median first response (seconds) per key, from the histograms of :func:`scan`."""
    if len(keys) == 1:
        column = keys[0]

        def fetch(extra: ColumnElement[bool]) -> list[tuple[Any, int, float]]:
            stmt = select(column, RESPONSE_BUCKET, RESPONSE).where(where, extra)
            return [(r[0], r[1], r[2]) for r in session.execute(stmt)]

        found = median.medians(
            {k[0]: h for k, h in histograms.items()}, fetch, column, RESPONSE_BUCKET
        )
        return {(k,): v for k, v in found.items()}
    # No key, or several (the source report: few groups): one small fetch per group.
    result: dict[Key, float | None] = {}
    for key, histogram in histograms.items():
        same = [c.is_(None) if v is None else c == v for c, v in zip(keys, key, strict=True)]

        def fetch_one(
            extra: ColumnElement[bool], same: list[Any] = same
        ) -> list[tuple[Any, int, float]]:
            stmt = select(RESPONSE_BUCKET, RESPONSE).where(where, *same, extra)
            return [(None, r[0], r[1]) for r in session.execute(stmt)]

        result[key] = median.medians({None: histogram}, fetch_one, None, RESPONSE_BUCKET)[None]
    return result


# --- the lead-day roll-up (closed days) and the same sums live (the open day) -----------------

Coarse = list[int]  # first responses per coarse bucket (median.EDGES)


def summarize(
    session: Session,
    where: ColumnElement[bool],
    keys: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
) -> dict[Key, tuple[FunnelCounts, Coarse]]:
    """Funnel counts and coarse first-response histogram per combination of ``keys``.

    Counted per key and bucket first (the bucket is computed once per lead), then the
    buckets are spread into columns.
    """
    prepare(session)
    bucket = median.coarse_bucket(RESPONSE)
    named = [k.label(f"k{i}") for i, k in enumerate(keys)]
    inner = (
        select(
            *named,
            bucket.label("b"),
            *(m.label(name) for m, name in zip(MEASURES, FUNNEL_MEASURES, strict=True)),
        )
        .where(where)
        .group_by(*named, bucket)
        .subquery()
    )
    outer_keys = [inner.c[f"k{i}"] for i in range(len(keys))]
    stmt = select(
        *outer_keys,
        *(func.sum(inner.c[name]) for name in FUNNEL_MEASURES),
        *(func.sum(inner.c.leads).filter(inner.c.b == b) for b in range(median.BUCKETS)),
    ).group_by(*outer_keys)
    return _sums(session.execute(stmt), len(keys))


def _sums(rows: Any, width: int) -> dict[Key, tuple[FunnelCounts, Coarse]]:
    """Rows of keys, then the FUNNEL_MEASURES sums, then the coarse histogram."""
    found: dict[Key, tuple[FunnelCounts, Coarse]] = {}
    size = len(FUNNEL_MEASURES)
    for row in rows:
        values = [int(v or 0) for v in row[width:]]
        if not values[0]:
            continue  # no lead at all (an aggregate without keys still returns a row)
        found[tuple(row[:width])] = (FunnelCounts(*values[:size]), values[size:])
    return found


def _lead_day_rows(session: Session, span: Period) -> list[dict[str, Any]]:
    """The roll-up's rows for the days of ``span``: per local day, team and owner."""
    day = local_day(Lead.created_at, span.timezone)
    received = (Lead.created_at >= span.utc_start) & (Lead.created_at < span.utc_end)
    rows = []
    for (d, team, owner), (counts, coarse) in summarize(
        session, received, [day, Lead.team_id, Lead.owner_id]
    ).items():
        row: dict[str, Any] = {"day": as_date(d), "team_id": team, "owner_id": owner}
        row.update(vars(counts))
        row.update(zip(RESPONSE_COLUMNS, coarse, strict=True))
        rows.append(row)
    return rows


def _lead_changes(
    session: Session, span: Period, since: dt.datetime | None
) -> dict[dt.date, dt.datetime]:
    """Per day of ``span``, the last update of a lead received that day (since ``since``)."""
    received = select().where(Lead.created_at >= span.utc_start, Lead.created_at < span.utc_end)
    day = local_day(Lead.created_at, span.timezone)
    return rollup.last_lead_update(session, day, received, since)


LEAD_DAYS = rollup.Rollup("lead_day", lead_days, _lead_day_rows, _lead_changes)


def rolled_up(
    session: Session, reader: User, period: Period, group: Group | None
) -> tuple[dict[Key, FunnelCounts], dict[Key, float | None], float | None]:
    """Counts per key (the owner, or none), each key's median and the total median: closed
    days from the roll-up, the rest live, and the medians from one ranking of the leads."""
    prepare(session)
    closed = rollup.closed_days(period)
    LEAD_DAYS.ensure(session, closed, period.timezone)
    sums: dict[Key, tuple[FunnelCounts, Coarse]] = {}
    parts = []
    if closed:
        t = lead_days
        keys = [t.c.owner_id] if group else []
        stmt = (
            select(*keys, *(func.sum(t.c[name]) for name in FUNNEL_MEASURES + RESPONSE_COLUMNS))
            .where(
                t.c.day >= closed[0],
                t.c.day <= closed[-1],
                scope.lead_rows(reader, t.c.team_id, t.c.owner_id),
            )
            .group_by(*keys)
        )
        parts.append(_sums(session.execute(stmt), len(keys)))
    span = rollup.open_span(period, closed)
    if span is not None:
        parts.append(summarize(session, cohort(reader, span), [Lead.owner_id] if group else []))
    for part in parts:
        for key, (counts, coarse) in part.items():
            if key in sums:
                sums[key][0].add(counts)
                sums[key] = (
                    sums[key][0],
                    [a + b for a, b in zip(sums[key][1], coarse, strict=True)],
                )
            else:
                sums[key] = (counts, coarse)
    by_key = {key: counts for key, (counts, _coarse) in sums.items()}
    where = cohort(reader, period)
    medians: dict[Key, float | None] = {}
    if group:
        found = median.coarse_medians(
            session, where, RESPONSE, Lead.owner_id, {k[0]: c for k, (_n, c) in sums.items()}
        )
        medians = {(k,): v for k, v in found.items()}
    total = [sum(column) for column in zip(*(c for _n, c in sums.values()), strict=True)]
    total_median = median.coarse_medians(session, where, RESPONSE, None, {None: total})[None]
    return by_key, medians, total_median


def merged(histograms: dict[Key, Histogram]) -> Histogram:
    """One histogram for every group together: the total's median needs no second scan."""
    total: Histogram = defaultdict(int)
    for histogram in histograms.values():
        for b, n in histogram.items():
            total[b] += n
    return dict(total)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[FunnelRow, FunnelRow]:
    """The funnel and KPIs, in total and per agent (lead owner), source (channel) or model.

    In total and per agent the closed days come from the lead-day roll-up; per source or
    model (a roll-up by those too would hold about a row per lead) every lead is scanned.
    """
    if group in (None, Group.AGENT):
        by_key, medians, total_median = rolled_up(session, reader, period, group)
    else:
        keys = [scope.lead_dimension(group)]
        where = cohort(reader, period)
        by_key, histograms = scan(session, where, keys)
        medians = response_medians(session, where, keys, histograms)
        total_median = response_medians(session, where, [], {(): merged(histograms)})[()]
    names = scope.label_for(session, group, (k[0] for k in by_key) if group else [])
    work = daily_work.outbound_by_agent(session, reader, period)
    total = FunnelRow(label=labels.TOTAL, first_response_median_seconds=total_median)
    total.dialled = sum(d for d, _ in work.values())
    total.outbound_connects = sum(c for _, c in work.values())
    rows = []
    for key, c in sorted(by_key.items(), key=lambda kv: -kv[1].leads):
        total.add(c)
        if not group:
            continue
        row = FunnelRow(**vars(c), key=key[0], label=names.get(key[0], labels.ALL))
        row.first_response_median_seconds = medians.get(key)
        if group == Group.AGENT:
            row.dialled, row.outbound_connects = work.get(row.key, (0, 0))
        rows.append(row.with_rates())
    total.with_rates()
    if not group and by_key:
        rows = [_copy_as(total, labels.ALL)]
    return Report(
        NAME,
        TITLE,
        period,
        group,
        (label_column(group, ungrouped="分组"), *COLUMNS),
        rows,
        total,
        chart(
            rows or [total],
            lambda r: r.label,
            CHART_SERIES,
        ),
    )


def _copy_as(row: FunnelRow, label: str) -> FunnelRow:
    copy = FunnelRow(**{f.name: getattr(row, f.name) for f in fields(row)})
    copy.label = label
    return copy
