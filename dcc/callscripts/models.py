"""Call-script templates: the 7-step invitation script, versioned per dealer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime


class CallScript(Base):
    """One version of a script. Editing creates a new version; old calls keep theirs."""

    __tablename__ = "call_scripts"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_call_scripts_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column()
    # [{"title": "准备", "text": "…{customer_name}…"}, …]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The other kinds of call's wording: {"inbound_first": [steps], …}; ``steps`` is the
    # invitation's. A variant missing here reads with its built-in wording.
    variants: Mapped[dict[str, list[dict[str, Any]]] | None] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Offer(Base):
    """A current offer or showroom event the scripts mention, with the days it runs."""

    __tablename__ = "script_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))  # as the agent says it: 本周六试驾会
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
