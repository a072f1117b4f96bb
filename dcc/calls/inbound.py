"""The 400 hotline: a caller arrives, the lead is attached, and routing decides who rings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock, phones
from dcc.calls import events, routing
from dcc.calls.models import Call, CallDirection
from dcc.config import Settings, parse_hours
from dcc.errors import ValidationError
from dcc.leads import callbacks, intake
from dcc.leads.models import Channel, Lead, LeadSource
from dcc.users.models import User


@dataclass
class InboundDecision:
    """What the hotline does with a caller: ring agents, queue them, or take a message."""

    call: Call
    lead: Lead | None
    targets: list[User]
    after_hours: bool


def receive(session: Session, params: Mapping[str, str], settings: Settings) -> InboundDecision:
    """A caller reached the 400 hotline: record the call, attach the lead, decide routing.

    A repeated request for the same CallSid (a provider retry) finds the call and its lead and
    records no second touch.
    """
    sid = params["CallSid"]
    call = session.scalar(select(Call).where(Call.sid == sid).with_for_update())
    lead = session.get(Lead, call.lead_id) if call is not None and call.lead_id else None
    if lead is None:
        lead = _attach_lead(session, sid, params, settings)
    link = {"lead_id": lead.id, "customer_id": lead.customer_id} if lead is not None else {}
    call = events.call_for_sid(session, sid, CallDirection.INBOUND, params, **link)
    events.log_event(session, "voice", params)
    now = clock.now()
    hours = parse_hours(settings.opening_hours)
    if not clock.within_hours(now, settings.timezone, hours):
        if lead is not None:
            due = clock.next_opening(now, settings.timezone, hours)
            callbacks.owe(session, lead, reason="after_hours", due_at=due, call_id=call.id)
        return InboundDecision(call, lead, [], after_hours=True)
    softphone = bool(settings.twilio_api_key_sid)
    targets = routing.inbound_targets(session, lead, softphone=softphone)
    return InboundDecision(call, lead, targets, after_hours=False)


def _attach_lead(
    session: Session, sid: str, params: Mapping[str, str], settings: Settings
) -> Lead | None:
    """Create or touch the caller's lead; withheld numbers get a call record but no lead."""
    try:
        phones.normalize(params.get("From"), settings.default_region, field="From")
    except ValidationError:
        return None
    hotline = session.scalar(
        select(LeadSource).where(LeadSource.channel == Channel.HOTLINE).order_by(LeadSource.id)
    )
    result = intake.receive(
        session,
        intake.LeadInput(phone=params["From"], channel=Channel.HOTLINE, details={"call_sid": sid}),
        source=hotline,
        region=settings.default_region,
    )
    return result.lead
