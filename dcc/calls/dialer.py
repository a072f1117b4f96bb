"""Placing a bridged call through the provider, once the database knows about it."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from dcc.calls import service as calls
from dcc.calls.models import Call
from dcc.config import Settings
from dcc.errors import DCCError
from dcc.voice import public_url
from telephony import Telephony, TelephonyError

log = logging.getLogger(__name__)


class ProviderFailed(DCCError):
    """The telephony provider refused or could not be reached."""

    status_code = 502


def place(session: Session, call: Call, *, settings: Settings, telephony: Telephony) -> Call:
    """Ask the provider to ring the agent leg of ``call``, then the customer.

    The call row is committed first: the provider's first webhook may arrive before it
    answers us, and a retried job must find the attempt instead of dialling again. A refusal
    leaves the attempt on record as failed and raises :class:`ProviderFailed`.
    """
    session.commit()
    try:
        sid = telephony.place_bridged_call(
            agent=call.to_number or "",
            customer=calls.customer_number_for(session, call),
            caller_id=settings.hotline_number,
            bridge_url=public_url("twilio_voice.bridge", call_id=call.id),
            status_callback=public_url("twilio_voice.status", call_id=call.id, leg="agent"),
        )
    except TelephonyError as error:
        log.error(
            "telephony provider refused call %d (lead %s): %s",
            call.id,
            call.lead_id,
            error,
            extra={"call_id": call.id, "lead_id": call.lead_id},
        )
        calls.provider_failed(session, call, str(error))
        session.commit()
        raise ProviderFailed(f"the telephony provider refused the call: {error}") from error
    call.sid = call.sid or sid
    return call
