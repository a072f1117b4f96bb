"""Text messages to customers (appointment confirmations and reminders), sent at most once."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dcc import clock
from dcc.db import Base, UTCDateTime
from telephony import Telephony, TelephonyError, TelephonyTimeout

log = logging.getLogger(__name__)


class SentMessage(Base):
    """One SMS per purpose (``key``): a retried job finds it and does not send again."""

    __tablename__ = "sent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    # sending, sent, failed, or unknown (the provider may have it: looked up before resending)
    status: Mapped[str] = mapped_column(String(20), default="sending")
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
    retry finds the row and does not send a second message (at most once, never twice). A
    time-out after the request was sent leaves the message ``unknown``: a retry first looks
    for it at the provider (:func:`reconcile`) and sends only if it is not there.
    """
    existing = session.scalar(select(SentMessage).where(SentMessage.key == key))
    if existing is not None and existing.status == UNKNOWN and reconcile(existing, telephony):
        return existing
    if existing is not None and existing.status not in ("failed", UNKNOWN):
        return existing
    message = existing or SentMessage(key=key, to_number=to, body=body, lead_id=lead_id)
    message.status = "sending"
    session.add(message)
    session.commit()
    try:
        message.sid = telephony.send_sms(to=to, body=body, from_=from_)
    except TelephonyTimeout as error:
        message.status, message.error = UNKNOWN, str(error)
        session.commit()
        if reconcile(message, telephony):
            return message
        raise
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


UNKNOWN = "unknown"
#: Messages accepted this long before our request still count as ours (clock skew).
LOOKUP_SLACK = dt.timedelta(seconds=60)


def reconcile(message: SentMessage, telephony: Telephony) -> bool:
    """Whether the provider has the message whose sending timed out (then it is ``sent``)."""
    since = (message.created_at or clock.now()) - LOOKUP_SLACK
    try:
        found = telephony.find_messages(to=message.to_number, since=since)
    except TelephonyError:
        return False
    if not found:
        return False
    message.sid = min(found, key=lambda m: m.created_at or since).sid
    message.status, message.sent_at, message.error = "sent", clock.now(), None
    return True
