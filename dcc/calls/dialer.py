"""Dialling: a bridged call is checked and put on record, then the provider is asked; what
a refusal undoes. One path for the agent's Call button (pages and API), a due callback (the
worklist and the callback job) and speed-to-lead."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from dcc import access, clock
from dcc.calls import service as calls
from dcc.calls.models import Call
from dcc.config import Settings
from dcc.errors import DCCError
from dcc.leads.models import Callback, CallbackStatus, Lead
from dcc.users.models import User
from dcc.voice import public_url
from telephony import Telephony, TelephonyError

log = logging.getLogger(__name__)


class ProviderFailed(DCCError):
    """The telephony provider refused or could not be reached."""

    status_code = 502


def dial(
    session: Session, lead: Lead, *, agent: User, settings: Settings, telephony: Telephony
) -> Call:
    """Ring ``agent`` (phone or browser), then bridge the lead's customer.

    Refused before anything is dialled (:class:`~dcc.errors.CallRefused`: do-not-call, outside
    calling hours, a closed lead); a provider refusal leaves the attempt on record as failed
    and raises :class:`ProviderFailed`. Only who may work the lead dials it
    (:func:`dcc.access.check_may_work_lead`).
    """
    access.check_may_work_lead(session, agent, lead, "call.not_allowed")
    call = calls.start_click_to_dial(session, lead, actor=agent, settings=settings)
    return place(session, call, settings=settings, telephony=telephony)


def call_back(
    session: Session, callback: Callback, *, agent: User, settings: Settings, telephony: Telephony
) -> Call:
    """Ring ``agent`` for the due ``callback``, which is marked done with the call before the
    provider is asked (the commit in :func:`place`), so nobody else takes it meanwhile; if
    the provider refuses, the callback is owed again and :class:`ProviderFailed` raised."""
    lead = session.get_one(Lead, callback.lead_id)
    call = calls.start_click_to_dial(session, lead, actor=agent, settings=settings)
    callback.status, callback.done_at, callback.placed_call_id = (
        CallbackStatus.DONE,
        clock.now(),
        call.id,
    )
    session.flush()
    try:
        return place(session, call, settings=settings, telephony=telephony)
    except ProviderFailed:
        callback.status, callback.done_at, callback.placed_call_id = (
            CallbackStatus.PENDING,
            None,
            None,
        )
        session.commit()
        raise


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
        raise ProviderFailed("call.provider_refused", detail=str(error)) from error
    call.sid = call.sid or sid
    return call
