"""Lead deliveries from web forms and portals, recorded once however often they are sent.

Portals resend: after a timeout, on a ``status="resend"`` ADF prospect, or by a bug. A delivery
is known by its ``Idempotency-Key`` header, by its external id (the portal's lead id) and, when
it is signed with a timestamp, by its signature; a replay matching any of them gets the
original answer (status and body) and writes nothing.

Concurrent copies of one delivery race on the unique ``lead_deliveries`` key: the loser waits
for the winner's commit (PostgreSQL blocks on the unique index), gets an IntegrityError, rolls
its transaction back and answers with the winner's answer. A delivery is therefore the whole
of its transaction (the webhook does nothing else); that spares every delivery a savepoint's
two round trips.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dcc import clock
from dcc.errors import Conflict
from dcc.leads import intake
from dcc.leads.intake import LeadInput
from dcc.leads.models import LeadDelivery
from dcc.leads.sources import SourceRef

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 120
CREATED = 201


@dataclass(frozen=True)
class Answer:
    """What the webhook answers: the status and JSON body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def keys_for(
    *, idempotency_key: str | None, external_id: str | None, replay_key: str | None = None
) -> list[str]:
    """The keys a delivery is known by; empty when it carries none. ``replay_key`` is what
    :func:`dcc.leads.sources.authenticate` answered (a timestamped signature)."""
    keys = [replay_key] if replay_key else []
    if idempotency_key and idempotency_key.strip():
        keys.append("key:" + _bounded(idempotency_key.strip()))
    if external_id:
        keys.append("ext:" + _bounded(external_id))
    return keys


def _bounded(key: str) -> str:
    """Long keys are stored by their hash: cutting them could make two different keys equal."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


_deliveries = cast(Table, LeadDelivery.__table__)
_STORED_ANSWER = (
    select(_deliveries.c.response_status, _deliveries.c.response_body)
    .where(
        _deliveries.c.source_id == bindparam("source_id"),
        _deliveries.c.key.in_(bindparam("keys", expanding=True)),
    )
    .order_by(_deliveries.c.id)
    .limit(1)
)
_INSERT_DELIVERY = insert(_deliveries)


def stored_answer(session: Session, source: SourceRef, keys: list[str]) -> Answer | None:
    """The answer an earlier delivery with one of ``keys`` got, or None."""
    if not keys:
        return None
    session.flush()
    row = (
        session.connection().execute(_STORED_ANSWER, {"source_id": source.id, "keys": keys}).first()
    )
    if row is None:
        return None
    return Answer(row.response_status, dict(row.response_body), replayed=True)


def receive(
    session: Session,
    source: SourceRef,
    data: LeadInput,
    *,
    idempotency_key: str | None = None,
    replay_key: str | None = None,
    region: str = "CN",
) -> Answer:
    """Record a delivery once: dedup by phone, speed-to-lead for new leads, replay-safe.

    The request commits; the transaction must hold nothing else (see :func:`record`). Errors
    (invalid phone …) raise before anything stays written, and leave no delivery row, so a
    corrected resend is processed.
    """
    keys = keys_for(
        idempotency_key=idempotency_key, external_id=data.external_id, replay_key=replay_key
    )
    replay = stored_answer(session, source, keys)
    if replay is not None:
        return replay
    return record(session, source, data, keys, region=region)


def record(
    session: Session, source: SourceRef, data: LeadInput, keys: list[str], *, region: str = "CN"
) -> Answer:
    """Intake and the delivery rows; a racing duplicate gets the stored answer.

    On PostgreSQL the loser of a race blocks on the winner's uncommitted delivery key until
    the winner commits, then fails with an IntegrityError: its transaction is rolled back, so
    its intake leaves no trace, and it answers with the winner's stored answer. (Two different
    deliveries for one new number need nothing here: the intake settles that race.)
    """
    try:
        return _record(session, source, data, keys, region)
    except IntegrityError:
        session.rollback()
        replay = stored_answer(session, source, keys)
        if replay is not None:
            return replay
        raise Conflict("intake.delivery_conflict", field="external_id") from None


def _record(
    session: Session, source: SourceRef, data: LeadInput, keys: list[str], region: str
) -> Answer:
    # A new lead gets its speed-to-lead jobs from the intake itself (dcc.jobs.hooks).
    result = intake.receive(session, data, source=source, region=region)
    body = {
        "lead_id": result.lead_id,
        "customer_id": result.customer_id,
        "duplicate": result.duplicate,
        "new_lead": result.new_lead,
    }
    if keys:  # last, so that the unique keys are held for as short a time as possible
        session.flush()
        session.connection().execute(
            _INSERT_DELIVERY,
            [
                {
                    "source_id": source.id,
                    "key": key,
                    "response_status": CREATED,
                    "response_body": body,
                    "lead_id": result.lead_id,
                    "created_at": clock.now(),
                }
                for key in keys
            ],
        )
    return Answer(CREATED, body)
