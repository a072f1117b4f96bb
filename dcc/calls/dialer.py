"""Dialling: a bridged call is checked and put on record, then the provider is asked; what
a refusal undoes. One path for the agent's Call button (pages and API), a due callback (the
worklist and the callback job) and speed-to-lead."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, clock
from dcc.calls import queue
from dcc.calls import service as calls
from dcc.calls.models import Call
from dcc.config import Settings
from dcc.db import load, load_one
from dcc.errors import CallRefused, DCCError
from dcc.jobs import hooks, outbox
from dcc.leads.models import Callback, CallbackStatus, Lead
from dcc.users.models import User
from dcc.voice import public_url
from telephony import Telephony, TelephonyError, TelephonyTimeout

#: A placement whose outcome the provider never told us.
UNKNOWN = "unknown"
#: How long after a time-out the attempt is looked up again (the provider lists calls at
#: once; the status callback, which carries our call id, usually settles it before).
RECONCILE_AFTER = dt.timedelta(seconds=30)
#: Calls created this long before our request still count as ours (clock skew).
LOOKUP_SLACK = dt.timedelta(seconds=60)
RECONCILE_TASK = "call.reconcile"

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
    check_provider(telephony, lead.customer.phone, settings)
    call = calls.start_click_to_dial(session, lead, actor=agent, settings=settings)
    return place(session, call, settings=settings, telephony=telephony)


def check_provider(telephony: Telephony, customer: str, settings: Settings) -> None:
    """Refuse up front (409, with the provider's reason) a call the provider would refuse:
    a destination it does not serve, or a caller ID it will not present there."""
    reason = telephony.check_dial(customer, settings.hotline_number)
    if reason is not None:
        raise CallRefused("call.provider_rules", field="lead_id", reason=reason)


def call_back(
    session: Session, callback: Callback, *, agent: User, settings: Settings, telephony: Telephony
) -> Call:
    """Ring ``agent`` for the due ``callback``, which is marked done with the call before the
    provider is asked (the commit in :func:`place`), so nobody else takes it meanwhile; if
    the provider refuses, the callback is owed again and :class:`ProviderFailed` raised."""
    lead = load_one(session, Lead, callback.lead_id)
    check_provider(telephony, lead.customer.phone, settings)
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
    """Ask the provider to ring the agent leg of ``call``; the customer is dialled only once the
    agent presses 1 at the screen (``twilio_voice.agent_screen``).

    The call row is committed first: the provider's first webhook may arrive before it
    answers us, and a retried job must find the attempt instead of dialling again. A refusal
    leaves the attempt on record as failed and raises :class:`ProviderFailed`. A time-out
    after the request was sent leaves it ``unknown``: it is looked up at once and again later
    (:func:`reconcile`), and never dialled a second time before it is known not to exist.
    """
    return _place(
        session,
        call,
        _ring_agent(call, calls.customer_number_for(session, call), settings, telephony),
        telephony,
    )


def ring_customer_first(
    session: Session, call: Call, *, settings: Settings, telephony: Telephony
) -> Call:
    """Ask the provider to ring the customer of a call rung first
    (:func:`dcc.calls.service.start_customer_first`); once they answer they hear the greeting
    and wait in the queue (``twilio_voice.customer_first``). A voicemail is detected and
    hung up on. Refusals and time-outs as in :func:`place`."""

    def request() -> str:
        return telephony.place_call(
            to=call.to_number or "",
            caller_id=settings.hotline_number,
            url=public_url("twilio_voice.customer_first", call_id=call.id),
            status_callback=public_url("twilio_voice.status", call_id=call.id, leg="customer"),
            machine_detection=True,
        )

    return _place(session, call, request, telephony)


def place_pickup(
    session: Session, pickup: Call, caller: Call, *, settings: Settings, telephony: Telephony
) -> Call | None:
    """Ring the agent of a queue ``pickup`` leg (see :func:`dcc.calls.queue.plan`); once they
    press 1 they take the longest waiting caller. A refusal is logged and the leg ends failed
    (the caller keeps waiting for the next agent)."""
    try:
        return _place(
            session,
            pickup,
            _ring_agent(pickup, caller.from_number or "", settings, telephony),
            telephony,
        )
    except ProviderFailed:
        return None


def serve_queue(session: Session, *, settings: Settings, telephony: Telephony) -> list[Call]:
    """Give every ready inbound agent the longest waiting caller (:mod:`dcc.calls.queue`):
    called whenever an agent may have become ready. Returns the pickup legs placed."""
    pairs = queue.plan(session, softphone=settings.softphone, hotline=settings.hotline_number)
    session.commit()
    placed = []
    for pickup, caller in pairs:
        if place_pickup(session, pickup, caller, settings=settings, telephony=telephony):
            placed.append(pickup)
    return placed


def _ring_agent(
    call: Call, customer: str, settings: Settings, telephony: Telephony
) -> Callable[[], str]:
    """The provider request that rings the agent leg ``call``; they are screened, then
    connected to ``customer`` (a click-to-dial call) or to the queue's caller (a pickup)."""

    def request() -> str:
        return telephony.place_bridged_call(
            agent=call.to_number or "",
            customer=customer,
            caller_id=settings.hotline_number,
            bridge_url=public_url("twilio_voice.agent_screen", call_id=call.id),
            status_callback=public_url("twilio_voice.status", call_id=call.id, leg="agent"),
        )

    return request


def _place(session: Session, call: Call, request: Callable[[], str], telephony: Telephony) -> Call:
    """Commit ``call``, then make the provider ``request`` that places it (see :func:`place`)."""
    session.commit()
    if call.sid is not None:
        return call  # placed already (a retried job): never twice
    if call.placement == UNKNOWN and reconcile(session, call, telephony):
        return call
    try:
        sid = request()
    except TelephonyTimeout as error:
        log.warning(
            "telephony provider did not answer for call %d: %s",
            call.id,
            error,
            extra={"call_id": call.id, "lead_id": call.lead_id},
        )
        call.placement = UNKNOWN
        session.commit()
        try:
            found = reconcile(session, call, telephony)
        except ProviderFailed:
            found = False  # the look-up failed too: still unknown, looked up again later
        if not found:
            outbox.schedule(
                session,
                RECONCILE_TASK,
                run_at=clock.now() + RECONCILE_AFTER,
                key=f"call-reconcile-{call.id}",
                call_id=call.id,
            )
        session.commit()
        return call
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
    call.placement = None
    return call


def reconcile(session: Session, call: Call, telephony: Telephony) -> bool:
    """Settle an attempt whose outcome is unknown: True when the provider has it (its status
    callback, which carries our call id, put the sid on record; or a lookup of the recent
    calls to that number finds it), False when it certainly does not exist. A lookup that
    fails too leaves it unknown and raises :class:`ProviderFailed`."""
    if call.sid is not None:
        call.placement = None
        return True
    since = (call.requested_at or clock.now()) - LOOKUP_SLACK
    try:
        found = telephony.find_calls(to=call.to_number or "", since=since)
    except TelephonyError as error:
        raise ProviderFailed("call.provider_refused", detail=str(error)) from error
    known = set(session.scalars(select(Call.sid).where(Call.sid.in_([f.sid for f in found]))))
    ours = [f for f in found if f.sid not in known and f.parent_sid is None]
    if not ours:
        return False
    call.sid = min(ours, key=lambda f: f.created_at or since).sid
    call.placement = None
    return True


def settle_unknown(session: Session, call_id: int, *, telephony: Telephony) -> str:
    """The later look-up of an attempt left unknown: found, or failed (then a callback that
    placed it is owed again, and rings through its own job)."""
    call = load(session, Call, call_id)
    if call is None or call.placement != UNKNOWN:
        return "settled"
    if reconcile(session, call, telephony):
        return f"placed ({call.sid})"
    calls.provider_failed(session, call, "never reached the provider")
    call.placement = None
    callback = session.scalar(select(Callback).where(Callback.placed_call_id == call.id))
    if callback is not None:
        callback.status, callback.done_at, callback.placed_call_id = (
            CallbackStatus.PENDING,
            None,
            None,
        )
        hooks.callback_ring_again(session, callback.id)
    return "not placed"
