"""Calls: one record per provider CallSid (parent and child legs linked) and their raw events."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcc import clock
from dcc.db import Base, UTCDateTime
from dcc.leads.models import Lead
from dcc.users.models import User, enum_column

#: A call's ``kind``: a new lead's customer rung first while every agent was busy; once they
#: answer they wait in the hotline queue like a caller (:func:`dcc.calls.ready.customer_first`).
#: The agent who takes them did not dial it: it counts as an answered call, not a dialled one.
CUSTOMER_FIRST = "customer_first"


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(enum.StrEnum):
    """Twilio's CallStatus values."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


TERMINAL_CALL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_agent_created", "agent_id", "created_at"),
        Index("ix_calls_lead_created", "lead_id", "created_at"),
        # The hotline queue (dcc.calls.queue): only calls that ever queued are indexed.
        Index(
            "ix_calls_queued",
            "queued_at",
            postgresql_where=text("queued_at IS NOT NULL"),
            sqlite_where=text("queued_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    parent_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    direction: Mapped[CallDirection] = mapped_column(enum_column(CallDirection))
    # "agent" for the leg that rings the agent, "customer" for the leg that reaches the customer.
    leg: Mapped[str] = mapped_column(String(10), default="customer")
    from_number: Mapped[str | None] = mapped_column(String(40))
    to_number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[CallStatus] = mapped_column(enum_column(CallStatus), default=CallStatus.QUEUED)
    status_rank: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration: Mapped[int | None] = mapped_column()  # seconds, from the provider
    answered_by: Mapped[str | None] = mapped_column(String(30))
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_duration: Mapped[int | None] = mapped_column()
    script_step: Mapped[int | None] = mapped_column()  # furthest step of the 7-step script
    # The script the agent's screen shows for this call: its variant and version, chosen when
    # the call got its agent (dcc.callscripts.service.VARIANTS).
    script_variant: Mapped[str | None] = mapped_column(String(30))
    script_version: Mapped[int | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(200))
    # "pickup": an agent leg that takes the longest waiting caller off the hotline queue.
    kind: Mapped[str | None] = mapped_column(String(20))
    # When the caller joined the hotline queue (None: never queued).
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the agent of a screened leg pressed the key that connects the customer.
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # "unknown": the provider may have accepted the call but never said so (a REST time-out);
    # it is reconciled before any retry (see dcc.calls.dialer.reconcile).
    placement: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=clock.now, onupdate=clock.now
    )

    @property
    def reached_person(self) -> bool:
        """Answered, and not by an answering machine: someone spoke on this leg."""
        return self.answered_at is not None and not (self.answered_by or "").startswith("machine")

    lead: Mapped[Lead | None] = relationship()
    agent: Mapped[User | None] = relationship()


class CallEvent(Base):
    """Every provider callback as received, for audit and for replaying a call's history."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # status, dial, recording, voice
    status: Mapped[str | None] = mapped_column(String(20))
    sequence_number: Mapped[int | None] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
