"""What each run of the loop audit found, kept so that every web node serves the same gauge
and the manager's page can say when the loop was last checked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime


class LoopAuditRun(Base):
    __tablename__ = "loop_audit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now, index=True)
    total: Mapped[int] = mapped_column(default=0)
    #: Violations per kind, every kind present (0 when none).
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
