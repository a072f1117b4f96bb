"""The 400 hotline: a caller arrives, the lead is attached, and routing decides who rings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls import events, policy, queue, routing
from dcc.calls.models import Call, CallDirection
from dcc.config import Settings, parse_hours
from dcc.db import load, load_one
from dcc.errors import InvalidPhoneNumber, ValidationError
from dcc.leads import callbacks, intake, sources
from dcc.leads.models import Channel, Lead


@dataclass
class InboundDecision:
    """What the hotline does with a caller: ring agents, queue them, or take a message."""

    call_id: int
    lead_id: int | None
    endpoints: list[str]  # whom to ring at once (at most ten); none: the caller queues
    after_hours: bool
    tried: list[int] = field(default_factory=list)  # every agent rung so far, this stage's too
    ring_seconds: int = 20  # how long this stage rings


_calls = cast(Table, Call.__table__)
_CALL_ON_RECORD = (
    select(_calls.c.id, _calls.c.lead_id).where(_calls.c.sid == bindparam("sid")).with_for_update()
)


def receive(session: Session, params: Mapping[str, str], settings: Settings) -> InboundDecision:
    """A caller reached the 400 hotline: record the call, attach the lead, decide routing.

    A repeated request for the same CallSid (a provider retry) finds the call and its lead and
    records no second touch; two first calls from one new number at once end on one customer
    (the intake settles that race). Every hotline call comes through here, so the common path
    reads and writes with prebuilt statements and loads no ORM object.
    """
    sid = params["CallSid"]
    on_record = session.connection().execute(_CALL_ON_RECORD, {"sid": sid}).first()
    lead_id: int | None
    owner_id: int | None
    if on_record is not None and on_record.lead_id is not None:
        lead = load_one(session, Lead, on_record.lead_id)
        call_id = events.call_for_sid(session, sid, CallDirection.INBOUND, params).id
        lead_id, owner_id = lead.id, lead.owner_id
    else:
        # A first request, or one whose call a status callback put on record before it.
        attached = _attach_lead(session, sid, params, settings)
        link = (
            {"lead_id": attached.lead_id, "customer_id": attached.customer_id}
            if attached is not None
            else {}
        )
        new_id = None
        if on_record is None:
            new_id = events.insert_call(session, sid, CallDirection.INBOUND, params, **link)
        # On record already, or the same call's first request racing this one: merge into it.
        call_id = (
            new_id
            if new_id is not None
            else events.call_for_sid(session, sid, CallDirection.INBOUND, params, **link).id
        )
        lead_id = attached.lead_id if attached else None
        owner_id = attached.owner_id if attached else None
    events.log_event(session, "voice", params)
    now = clock.now()
    hours = parse_hours(settings.opening_hours)
    if not clock.within_hours(now, settings.timezone, hours):
        if lead_id is not None:
            due = clock.next_opening(now, settings.timezone, hours)
            lead = load_one(session, Lead, lead_id)
            callbacks.owe(session, lead, reason="after_hours", due_at=due, call_id=call_id)
        return InboundDecision(call_id, lead_id, [], after_hours=True)
    return _stage(session, call_id, lead_id, owner_id, [], settings)


def next_stage(
    session: Session, call_id: int | None, tried: list[int], settings: Settings
) -> InboundDecision | None:
    """Nobody took the hotline call in the last stage (the ``<Dial>`` action): the next
    stage of agents not yet rung, or the queue. None for a call not on record."""
    call = load(session, Call, call_id) if call_id is not None else None
    if call is None:
        return None
    lead = load(session, Lead, call.lead_id) if call.lead_id is not None else None
    owner_id = lead.owner_id if lead is not None else None
    return _stage(session, call.id, call.lead_id, owner_id, tried, settings)


def _stage(
    session: Session,
    call_id: int,
    lead_id: int | None,
    owner_id: int | None,
    tried: list[int],
    settings: Settings,
) -> InboundDecision:
    """Owner first, then up to ten ready inbound agents at a time, then the queue. Callers
    already waiting come first: a new caller joins the queue behind them."""
    stage = routing.next_stage(session, owner_id, softphone=settings.softphone, tried=tried)
    if stage.agents and not (not tried and queue.anyone_waiting(session)):
        rules = policy.load(session)
        return InboundDecision(
            call_id,
            lead_id,
            [a.endpoint(softphone=settings.softphone) for a in stage.agents],
            after_hours=False,
            tried=[*tried, *(a.id for a in stage.agents)],
            ring_seconds=rules.owner_ring_seconds if stage.owner else rules.agent_ring_seconds,
        )
    queue.join(load_one(session, Call, call_id))
    return InboundDecision(call_id, lead_id, [], after_hours=False, tried=tried)


def _attach_lead(
    session: Session, sid: str, params: Mapping[str, str], settings: Settings
) -> intake.IntakeResult | None:
    """Create or touch the caller's lead; withheld numbers get a call record but no lead."""
    enquiry = intake.LeadInput(
        phone=params.get("From", ""), channel=Channel.HOTLINE, details={"call_sid": sid}
    )
    try:
        return intake.receive(
            session,
            enquiry,
            source=sources.first_of_channel(session, Channel.HOTLINE),
            region=settings.default_region,
        )
    except InvalidPhoneNumber:  # the intake checks the number before it writes anything
        return None


def fallback(session: Session, params: Mapping[str, str], settings: Settings) -> int:
    """The hotline's voice URL failed and the provider asked the fallback URL: the call and
    the caller's lead are put on record (as on the voice URL) and a callback is owed now.
    Returns the call's id."""
    sid = params.get("CallSid", "")
    if not sid:
        raise ValidationError("field.required", field="CallSid")
    on_record = session.connection().execute(_CALL_ON_RECORD, {"sid": sid}).first()
    lead_id = on_record.lead_id if on_record is not None else None
    if lead_id is None:
        attached = _attach_lead(session, sid, params, settings)
        lead_id = attached.lead_id if attached is not None else None
        link = {"lead_id": lead_id, "customer_id": attached.customer_id} if attached else {}
    else:
        link = {}
    call = events.call_for_sid(session, sid, CallDirection.INBOUND, params, **link)
    call.lead_id = call.lead_id or lead_id
    events.log_event(session, "fallback", params)
    if call.lead_id is not None:
        lead = load_one(session, Lead, call.lead_id)
        callbacks.owe(session, lead, reason="fallback", due_at=clock.now(), call_id=call.id)
    return call.id
