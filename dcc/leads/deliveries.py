"""Lead deliveries from web forms and portals, recorded once however often they are sent.

Portals resend: after a timeout, on a ``status="resend"`` ADF prospect, or by a bug. A delivery
is known by its ``Idempotency-Key`` header and by its external id (the portal's lead id); a
replay matching either gets the original answer (status and body) and writes nothing.

Concurrent duplicates race on the ``lead_deliveries`` unique constraint: the delivery rows
are inserted first, in a savepoint, so the loser waits for the winner's commit (PostgreSQL
blocks on the unique index), gets an IntegrityError, and answers with the winner's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dcc.errors import Conflict
from dcc.leads import intake, speed
from dcc.leads.intake import IntakeResult, LeadInput
from dcc.leads.models import LeadDelivery, LeadSource

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 120
CREATED = 201


@dataclass(frozen=True)
class Answer:
    """What the webhook answers: the status and JSON body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def keys_for(*, idempotency_key: str | None, external_id: str | None) -> list[str]:
    """The keys a delivery is known by; empty when it carries neither."""
    keys = []
    if idempotency_key and idempotency_key.strip():
        keys.append("key:" + idempotency_key.strip()[:MAX_KEY_LENGTH])
    if external_id:
        keys.append("ext:" + external_id[:MAX_KEY_LENGTH])
    return keys


def stored_answer(session: Session, source: LeadSource, keys: list[str]) -> Answer | None:
    """The answer an earlier delivery with one of ``keys`` got, or None."""
    if not keys:
        return None
    row = session.scalar(
        select(LeadDelivery)
        .where(LeadDelivery.source_id == source.id, LeadDelivery.key.in_(keys))
        .order_by(LeadDelivery.id)
        .limit(1)
    )
    if row is None:
        return None
    return Answer(row.response_status, dict(row.response_body), replayed=True)


def claim(session: Session, source: LeadSource, keys: list[str]) -> list[LeadDelivery] | Answer:
    """Insert this delivery's rows before doing the work; a duplicate gets the stored answer.

    The rows carry a placeholder answer that :func:`receive` fills in the same transaction,
    so no other transaction ever sees it.
    """
    rows = [
        LeadDelivery(source_id=source.id, key=key, response_status=0, response_body={})
        for key in keys
    ]
    if not rows:
        return rows
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        answer = stored_answer(session, source, keys)
        if answer is None:  # the other delivery is still running or rolled back: retry later
            raise Conflict(
                "the same delivery is being processed; retry", field=IDEMPOTENCY_HEADER
            ) from None
        return answer
    return rows


def receive(
    session: Session,
    source: LeadSource,
    data: LeadInput,
    *,
    idempotency_key: str | None = None,
    region: str = "CN",
) -> Answer:
    """Record a delivery once: dedup by phone, speed-to-lead for new leads, replay-safe.

    Only flushes; the request commits. Errors (invalid phone …) raise before anything stays
    written, and leave no delivery row, so a corrected resend is processed.
    """
    keys = keys_for(idempotency_key=idempotency_key, external_id=data.external_id)
    replay = stored_answer(session, source, keys)
    if replay is not None:
        return replay
    claimed = claim(session, source, keys)
    if isinstance(claimed, Answer):
        return claimed
    result = _intake(session, source, data, region)
    if result.new_lead:
        speed.lead_received(session, result.lead, source)
    body = {
        "lead_id": result.lead.id,
        "customer_id": result.customer.id,
        "duplicate": result.duplicate,
        "new_lead": result.new_lead,
    }
    for row in claimed:
        row.response_status = CREATED
        row.response_body = body
        row.lead_id = result.lead.id
    session.flush()
    return Answer(CREATED, body)


def _intake(session: Session, source: LeadSource, data: LeadInput, region: str) -> IntakeResult:
    """``intake.receive`` in a savepoint, retried once when a concurrent intake of the same new
    phone committed its customer first (customers.phone / customer_phones.phone are unique)."""
    try:
        with session.begin_nested():
            return intake.receive(session, data, source=source, region=region)
    except IntegrityError:
        with session.begin_nested():
            return intake.receive(session, data, source=source, region=region)
