"""Report storage: the daily roll-up of agent work, and the indexes the reports lean on.

The indexes are declared here (not on the models they index) so that the reports own what
they need; SQLAlchemy attaches each one to its table, so the metadata and migration 0004 agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dcc import clock
from dcc.calls.models import Call
from dcc.db import Base, UTCDateTime
from dcc.leads.models import FollowUp, Lead
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
