"""Text messages to customers (appointment confirmations and reminders), sent at most once."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime
from telephony import Telephony, TelephonyError

log = logging.getLogger(__name__)


class SentMessage(Base):
    """One SMS per purpose (``key``): a retried job finds it and does not send again."""

    __tablename__ = "sent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="sending")  # sending, sent, failed
    sid: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def send_once(
    session: Session,
    telephony: Telephony,
    *,
    key: str,
    to: str,
    body: str,
    from_: str,
    lead_id: int | None = None,
) -> SentMessage:
    """Send ``body`` to ``to`` unless a message with ``key`` was already sent or attempted.

    The intent is committed before the provider is asked: if the worker dies in between, the
    retry finds the row and does not send a second message (at most once, never twice).
    """
    existing = session.scalar(select(SentMessage).where(SentMessage.key == key))
    if existing is not None and existing.status != "failed":
        return existing
    message = existing or SentMessage(key=key, to_number=to, body=body, lead_id=lead_id)
    message.status = "sending"
    session.add(message)
    session.commit()
    try:
        message.sid = telephony.send_sms(to=to, body=body, from_=from_)
    except TelephonyError as error:
        log.error(
            "telephony provider refused SMS %d (lead %s): %s",
            message.id,
            lead_id,
            error,
            extra={"message_id": message.id, "lead_id": lead_id},
        )
        message.status, message.error = "failed", str(error)
        session.commit()
        raise
    message.status, message.sent_at = "sent", clock.now()
    return message
