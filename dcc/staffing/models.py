"""The rota (排班): the week's planned shifts of each DCC agent, in the dealer's local time.

The rota is the plan. Who is on shift right now stays each user's ``on_shift`` flag, which the
agents and supervisors set as the day goes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcc import clock
from dcc.db import Base, UTCDateTime
from dcc.users.models import User


class RotaShift(Base):
    """One agent's shift on one weekday: ``start_minute`` to ``end_minute`` after local midnight.

    Weekdays count from Monday (0) as Python's ``date.weekday()`` does; a shift starts and ends
    on the half hour (the planner's slots) and within the day (``end_minute`` 1440 is midnight).
    """

    __tablename__ = "rota_shifts"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name="within_day",
        ),
        Index("ix_rota_shifts_agent_weekday", "agent_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    weekday: Mapped[int] = mapped_column()
    start_minute: Mapped[int] = mapped_column()
    end_minute: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)

    agent: Mapped[User] = relationship()
