"""到店分析: appointments scheduled in the period against arrivals, and the show rate.

- appointments: appointments scheduled in the period, canceled ones apart
- arrived / no-show / booked: their state now; canceled: counted apart
- show rate (到店率) = arrived / appointments whose time has come (scheduled by now, not
  canceled): a booking still ahead has not had its chance to show yet

Rows are per local day of the appointment, or per agent who booked it, source, or model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import clock, labels
from dcc.leads.models import Lead
from dcc.reports import scope
from dcc.reports.period import Group, Period, as_date, local_day, prepare, rate
from dcc.reports.result import Column, Report, Row, chart, label_column
from dcc.sales.models import Appointment, AppointmentStatus
from dcc.users.models import User

NAME, TITLE = "arrivals", "到店分析"
GROUPS = frozenset(Group)


@dataclass
class ArrivalRow(Row):
    appointments: int = 0
    due: int = 0
    arrived: int = 0
    no_show: int = 0
    booked: int = 0
    canceled: int = 0
    show_rate: float | None = None


COLUMNS = (
    Column("appointments", "邀约数"),
    Column("due", "已到预约时间"),
    Column("arrived", "到店"),
    Column("no_show", "未到店"),
    Column("booked", "待到店"),
    Column("canceled", "已取消"),
    Column("show_rate", "到店率", "rate"),
)


def report(
    session: Session, *, reader: User, period: Period, group: Group | None = None
) -> Report[ArrivalRow, ArrivalRow]:
    prepare(session)
    if group == Group.AGENT:
        key: Any = Appointment.booked_by_id
    elif group:
        key = scope.lead_dimension(group)
    else:
        key = local_day(Appointment.scheduled_at, period.timezone)
    status = Appointment.status
    kept = status != AppointmentStatus.CANCELED
    stmt = (
        select(
            key,
            func.count().filter(kept),
            func.count().filter(kept & (Appointment.scheduled_at <= clock.now())),
            func.count().filter(status == AppointmentStatus.ARRIVED),
            func.count().filter(status == AppointmentStatus.NO_SHOW),
            func.count().filter(status == AppointmentStatus.BOOKED),
            func.count().filter(status == AppointmentStatus.CANCELED),
        )
        .where(
            Appointment.scheduled_at >= period.utc_start,
            Appointment.scheduled_at < period.utc_end,
        )
        .group_by(key)
    )
    if group in (Group.SOURCE, Group.MODEL) or not scope.dealer_wide(reader):
        # Only the lead knows its team, channel and model; otherwise the join is wasted.
        stmt = stmt.join(Lead, Lead.id == Appointment.lead_id).where(scope.leads(reader))
    result = session.execute(stmt).all()
    if group:
        names = scope.label_for(session, group, (r[0] for r in result))
    else:
        names = {r[0]: as_date(r[0]).isoformat() for r in result}
    total = ArrivalRow(label=labels.TOTAL)
    rows = []
    for k, *counts in result:
        k = as_date(k) if not group else k
        row = ArrivalRow(k, names.get(k, names.get(str(k), str(k))), *counts)
        row.show_rate = rate(row.arrived, row.due)
        rows.append(row)
        for name in ("appointments", "due", "arrived", "no_show", "booked", "canceled"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    total.show_rate = rate(total.arrived, total.due)
    rows.sort(key=lambda r: r.key if isinstance(r.key, dt.date) else r.label)
    return Report(
        NAME,
        TITLE,
        period,
        group,
        (label_column(group, ungrouped="日期"), *COLUMNS),
        rows,
        total,
        chart(rows, lambda r: r.label, {"邀约数": "appointments", "到店": "arrived"}),
    )
