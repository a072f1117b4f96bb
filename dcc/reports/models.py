"""Report storage: the daily roll-ups, and the indexes the reports lean on.

The indexes are declared here (not on the models they index) so that the reports own what
they need; SQLAlchemy attaches each one to its table, so the metadata and migrations 0004 and
0005 agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from dcc import clock
from dcc.calls.models import Call
from dcc.db import Base, UTCDateTime
from dcc.leads.models import FollowUp, FollowUpStatus, Lead
from dcc.reports import median
from dcc.sales.models import Appointment, ShowroomVisit


class AgentDay(Base):
    """One agent's work on one closed local day (工作日报表), summed from calls and bookings.

    Closed days do not change any more, so they are summed once and read many times; the open
    day is always computed live. See :mod:`dcc.reports.rollup`.
    """

    __tablename__ = "report_agent_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    dialled: Mapped[int] = mapped_column(default=0)
    outbound_connects: Mapped[int] = mapped_column(default=0)
    inbound_answered: Mapped[int] = mapped_column(default=0)
    talk_seconds: Mapped[int] = mapped_column(default=0)
    appointments: Mapped[int] = mapped_column(default=0)
    arrivals: Mapped[int] = mapped_column(default=0)


class BuiltDay(Base):
    """A local day whose roll-up of ``kind`` is complete (a day without calls has no rows)."""

    __tablename__ = "report_built_days"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(60))
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


#: The funnel's counts (see :mod:`dcc.reports.funnel`), in :class:`FunnelCounts` order.
FUNNEL_MEASURES = (
    "leads",
    "valid",
    "invited",
    "showed",
    "arrived",
    "orders",
    "lost",
    "lost_subjective",
    "responded",
    "responded_5min",
)
#: First responses per coarse bucket (:data:`dcc.reports.median.EDGES`).
RESPONSE_COLUMNS = tuple(f"response_{b:02d}" for b in range(median.BUCKETS))

#: The funnel of the leads received on one closed local day, per team and owner (the lead's
#: own, which decide who may see them), with their first responses per coarse bucket, so that
#: the exact median needs to rank only one bucket's values. A lead keeps changing after its
#: day (it is invited, arrives, orders), so a day is rebuilt when one of its leads changes
#: (``leads.updated_at``; see :mod:`dcc.reports.rollup`).
lead_days = Table(
    "report_lead_days",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("team_id", ForeignKey("teams.id")),
    Column("owner_id", ForeignKey("users.id")),
    *(Column(name, Integer, nullable=False, default=0) for name in FUNNEL_MEASURES),
    *(Column(name, Integer, nullable=False, default=0) for name in RESPONSE_COLUMNS),
)

#: The follow-ups done on one closed local day (有望客户跟踪进度), per follow-up owner and
#: the lead's team and owner (who may see them). A done follow-up does not change; its lead's
#: team and owner may, so a day is rebuilt when the lead of one of its follow-ups changes.
follow_up_days = Table(
    "report_follow_up_days",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("owner_id", ForeignKey("users.id")),
    Column("lead_team_id", ForeignKey("teams.id")),
    Column("lead_owner_id", ForeignKey("users.id")),
    Column("done", Integer, nullable=False, default=0),
    Column("with_result", Integer, nullable=False, default=0),
    Column("on_time", Integer, nullable=False, default=0),
)

_leads, _calls = Lead.__table__.c, Call.__table__.c
_follow_ups, _appointments = FollowUp.__table__.c, Appointment.__table__.c

# The funnel reads a period's leads from this index alone (an index-only scan on PostgreSQL):
# every column the lead reports count by is carried in the index.
LEAD_REPORT_COLUMNS = (
    "status",
    "grade",
    "channel",
    "source_id",
    "owner_id",
    "team_id",
    "series",
    "model",
    "invited_at",
    "arrived_at",
    "first_response_at",
    "lost_reason",
)
REPORT_INDEXES = (
    Index("ix_leads_report", _leads.created_at, postgresql_include=list(LEAD_REPORT_COLUMNS)),
    # Lost statistics count by the day the manager confirmed the loss.
    Index("ix_leads_status_closed", _leads.status, _leads.closed_at),
    # The roll-up and the live day read calls, bookings and visits by time.
    Index("ix_calls_created_at", _calls.created_at),
    Index("ix_appointments_created_at", _appointments.created_at),
    Index("ix_follow_ups_status_due", _follow_ups.status, _follow_ups.due_at),
    Index("ix_follow_ups_done_at", _follow_ups.done_at),
    Index("ix_showroom_visits_appointment_id", ShowroomVisit.__table__.c.appointment_id),
)

SPEED_INDEXES = (
    # Which closed days' roll-ups a lead change makes stale: the leads changed since.
    Index("ix_leads_updated_at", _leads.updated_at),
    # Open follow-ups per owner (and due time) from the index alone; the lead for the scope.
    Index(
        "ix_follow_ups_open_owner_due",
        _follow_ups.owner_id,
        _follow_ups.due_at,
        postgresql_include=["lead_id"],
        postgresql_where=_follow_ups.status == FollowUpStatus.OPEN.value,
        sqlite_where=_follow_ups.status == FollowUpStatus.OPEN.value,
    ),
    # The first response times of a coarse bucket in order, for the funnel's exact median:
    # an index on the expression itself, so PostgreSQL only (SQLite has no need of it).
    Index(
        "ix_leads_first_response",
        median.seconds_between(_leads.first_response_at, _leads.created_at),
        _leads.created_at,
        postgresql_include=["team_id", "owner_id", "first_response_at"],
        postgresql_where=_leads.first_response_at.is_not(None),
    ).ddl_if(dialect="postgresql"),
)
