"""展厅来源分析表: per channel and lead source, leads -> valid -> invited -> arrived -> orders.

The same cohort and definitions as :mod:`dcc.reports.funnel` (leads received in the period),
broken down by where each lead came from: the lead source's name (汽车之家, 易车 …) when it
has one, else the channel. Rates: valid rate = valid / leads, invitation rate = invited /
valid, show rate = showed / invited, close rate after visit = orders / arrived, lead close
rate = orders / valid.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dcc import labels
from dcc.leads.models import Channel, Lead
from dcc.reports import funnel, scope
from dcc.reports.funnel import FunnelRow
from dcc.reports.period import Group, Period
from dcc.reports.result import Column, Report, chart
from dcc.users.models import User

NAME, TITLE = "sources", "展厅来源分析表"
GROUPS: frozenset[Group] = frozenset()
COLUMNS = (
    Column("label", "来源", "text"),
    *funnel.COUNT_COLUMNS[:6],
    Column("valid_rate", "线索有效率", "rate"),
    Column("invitation_rate", "邀约率", "rate"),
    Column("show_rate", "邀约到店率", "rate"),
    Column("close_rate_after_visit", "进店成交率", "rate"),
    Column("lead_close_rate", "线索成交率", "rate"),
)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[FunnelRow, FunnelRow]:
    """One row per (channel, lead source), most leads first."""
    where = funnel.cohort(reader, period)
    by_key, _histograms = funnel.scan(
        session, where, [Lead.channel, Lead.source_id], histograms=False
    )
    sources = scope.source_names(session)
    rows: dict[tuple[object, ...], FunnelRow] = {}
    total = FunnelRow(label=labels.TOTAL)
    for (channel, source_id), c in by_key.items():
        channel_name = labels.CHANNEL.get(Channel(channel), str(channel))
        name = sources.get(source_id, channel_name) if source_id else channel_name
        row = rows.setdefault(
            (channel, source_id),
            FunnelRow(key=f"{Channel(channel).value}:{source_id or ''}", label=name),
        )
        row.add(c)
        total.add(c)
    ordered = sorted(rows.values(), key=lambda r: (-r.leads, r.label))
    for row in ordered:
        row.with_rates()
    total.with_rates()
    return Report(
        NAME,
        TITLE,
        period,
        group,
        COLUMNS,
        ordered,
        total,
        chart(
            ordered,
            lambda r: r.label,
            funnel.CHART_SERIES,
        ),
    )
