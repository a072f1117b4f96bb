"""Calls: what each provider event means for a lead, and click-to-dial."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from dcc import access, clock, live
from dcc.calls import agents, events, queue, routing
from dcc.calls.models import (
    CUSTOMER_FIRST,
    TERMINAL_CALL_STATUSES,
    Call,
    CallDirection,
    CallStatus,
)
from dcc.callscripts import context as script_context
from dcc.callscripts import service as callscripts
from dcc.config import Settings, parse_hours
from dcc.customers.models import Customer
from dcc.db import load, load_one
from dcc.errors import CallRefused, NotFound, ValidationError
from dcc.jobs import hooks, policy
from dcc.leads import callbacks, lifecycle
from dcc.leads.models import Callback, CallbackStatus, Lead
from dcc.users.models import AgentStatus, User

# --- provider events -----------------------------------------------------------------------


def record_status(
    session: Session,
    params: Mapping[str, str],
    *,
    call_id: int | None = None,
    parent_call_id: int | None = None,
    leg: str | None = None,
) -> Call:
    """A status callback for any leg. ``call_id`` / ``parent_call_id`` come from the URL the
    app gave the provider, linking legs to the records made before they were dialled."""
    side = leg if leg in {"agent", "customer"} else None
    call = _locate(session, params, call_id, status=True, **({"leg": side} if side else {}))
    events.log_event(session, "status", params)
    if side is not None and call.lead_id is None:
        call.leg = side  # a dialled leg's first event: the URL says which side it rings
    if parent_call_id is not None:
        _inherit(session, call, parent_call_id)
    _after_event(session, call)
    return call


def record_dial_result(session: Session, params: Mapping[str, str], *, call_id: int | None) -> Call:
    """The ``<Dial>`` action: how the bridge ended (DialCallStatus) for the parent leg."""
    call = _locate(session, params, call_id)
    events.log_event(session, "dial", params)
    if params.get("RecordingUrl"):
        events.merge_recording(call, {**params, "RecordingStatus": "completed"})
    dialled_sid = params.get("DialCallSid")
    dialled = events.by_sid(session, dialled_sid) if dialled_sid else None
    if dialled is not None:
        events.merge_dial_result(dialled, params)
        _after_event(session, dialled)
    _after_event(session, call)
    return call


def record_recording(session: Session, params: Mapping[str, str]) -> Call:
    call = _locate(session, params, None)
    events.log_event(session, "recording", params)
    events.merge_recording(call, params)
    return call


def _locate(
    session: Session,
    params: Mapping[str, str],
    call_id: int | None,
    *,
    status: bool = False,
    **fields: object,
) -> Call:
    """The locked record of the event's CallSid (merged with the event when ``status``)."""
    sid = params.get("CallSid", "")
    if not sid:
        raise ValidationError("field.required", field="CallSid")
    if call_id is not None:
        call = events.lock_call(session, call_id)
        if call is not None and call.sid in (None, sid):
            call.sid = sid
            call.placement = None  # the provider has it: an unknown placement is settled
            if status:
                events.merge_status(call, params)
            return call
    return events.call_for_sid(
        session, sid, events.direction_of(params), params if status else None, **fields
    )


def _inherit(session: Session, child: Call, parent_call_id: int) -> None:
    """A dialled leg belongs to its parent's lead; an agent leg names the agent it reached."""
    parent = load(session, Call, parent_call_id)
    if parent is None:
        return
    child.parent_sid = child.parent_sid or parent.sid
    child.lead_id = child.lead_id or parent.lead_id
    child.customer_id = child.customer_id or parent.customer_id
    child.direction = parent.direction
    if child.leg == "agent":
        agent = routing.agent_for_endpoint(session, child.to_number)
        child.agent_id = child.agent_id or (agent.id if agent else None)
    else:
        child.agent_id = child.agent_id or parent.agent_id


def _after_event(session: Session, call: Call) -> None:
    """Consequences for the lead, each idempotent so that replays change nothing."""
    _track_agent(session, call)
    if call.leg == "agent" and call.parent_sid and call.accepted_at is not None:
        parent = events.by_sid(session, call.parent_sid)
        if parent is not None and _waits_for_agent(parent):
            # An agent took the hotline call or the customer rung first (pressed 1 at the
            # screen): the customer's leg was answered by them.
            if parent.agent_id is None and call.agent_id is not None:
                give_agent(session, parent, call.agent_id)
            _customer_reached(session, parent, call.accepted_at)
            _settle_caller(session, parent)
    if call.leg != "customer":
        return
    if _waits_for_agent(call):
        # The customer's own leg is answered by a notice or a greeting, not by a person: only
        # an agent leg's answer (above) counts as reaching them.
        if call.direction == CallDirection.INBOUND or call.reached_person:
            _settle_caller(session, call)
        elif call.status in TERMINAL_CALL_STATUSES:
            hooks.outbound_attempt_ended(session, call.id)  # rung first, never answered
    elif call.direction == CallDirection.OUTBOUND:
        _customer_reached(session, call, call.answered_at)
        if call.reached_person:
            _withdraw_retry(session, call)
        elif call.status in TERMINAL_CALL_STATUSES and call.answered_at is None:
            hooks.outbound_attempt_ended(session, call.id)


def _waits_for_agent(call: Call) -> bool:
    """A customer's leg that waits for an agent to take it: a hotline caller, or a customer
    rung first (:data:`dcc.calls.models.CUSTOMER_FIRST`)."""
    return call.direction == CallDirection.INBOUND or call.kind == CUSTOMER_FIRST


def _track_agent(session: Session, call: Call) -> None:
    """Keep the agent's status with their calls and push the call's state to their screen."""
    if call.agent_id is None:
        return
    agent = (
        load(session, User, call.agent_id)
        if call.leg == "agent" and call.status in TERMINAL_CALL_STATUSES
        else None
    )
    if agent is not None:
        if call.accepted_at is not None:
            if agent.agent_status == AgentStatus.ON_CALL:
                agents.begin_wrap_up(session, agent)  # the outcome is recorded next
        elif _let_ring_go(session, call):
            agents.skip(session, agent)
    state = {
        "call_id": call.id,
        "sid": call.sid,
        "lead_id": call.lead_id,
        "leg": call.leg,
        "direction": call.direction.value,
        "status": call.status.value,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": call.duration,
    }
    live.to_user(session, call.agent_id, "call", state)
    for channel in access.call_channels(session, call):  # the dealer's board and the teams'
        live.publish(session, channel, "call", {**state, "agent_id": call.agent_id})


def _let_ring_go(session: Session, call: Call) -> bool:
    """A hotline ring (a stage of the hotline or a pickup from the queue) ended without the
    agent taking it: nobody answered, busy, or an answer that never pressed the key (a
    voicemail). A ring ended because someone else took the call does not count."""
    if call.direction != CallDirection.INBOUND:
        return False  # the agent's own outbound call
    if call.parent_sid:
        parent = events.by_sid(session, call.parent_sid)
        if parent is not None and parent.agent_id not in (None, call.agent_id):
            return False
    return call.status in {CallStatus.NO_ANSWER, CallStatus.BUSY} or (
        call.answered_at is not None and call.status == CallStatus.COMPLETED
    )


def accept_leg(
    session: Session,
    params: Mapping[str, str],
    *,
    call_id: int | None = None,
    parent_call_id: int | None = None,
) -> Call:
    """The agent pressed the key at the screen: this leg is theirs and is connected now.

    ``call_id`` names a leg the app created (click-to-dial, a queue pickup); ``parent_call_id``
    the hotline call whose ``<Dial>`` rang this leg. Repeats change nothing.
    """
    call = _locate(session, params, call_id, leg="agent")
    events.log_event(session, "screen", params)
    call.leg = "agent"
    if parent_call_id is not None:
        _inherit(session, call, parent_call_id)
    if call.kind == queue.PICKUP and call.parent_sid is None:
        # <Dial><Queue> takes the longest waiting caller: the agent's leg is now theirs.
        caller = queue.head(session)
        call.parent_sid = caller.sid if caller is not None else None
    if call.accepted_at is None:
        call.accepted_at = events.event_time(params)
    if call.agent_id is not None:
        agent = load(session, User, call.agent_id)
        if agent is not None:
            agents.set_status(session, agent, AgentStatus.ON_CALL)
    _after_event(session, call)
    return call


def whisper(session: Session, call: Call | None, *, inbound: bool) -> str:
    """What the agent hears before pressing 1: where the call comes from, who, which car."""
    lead = load(session, Lead, call.lead_id) if call is not None and call.lead_id else None
    name = lead.customer.name if lead is not None and lead.customer.name else "新客户"
    car = (lead.series or lead.model) if lead is not None else None
    origin = "400 来电" if inbound else "外呼"
    if call is not None and call.kind == CUSTOMER_FIRST:
        origin = "新线索，客户在线等候"
    return f"{origin}：{name}，{car + '，' if car else ''}按 1 接听"


def give_agent(session: Session, call: Call, agent_id: int) -> None:
    """``call`` gets the agent who talks on it: an answered hotline call, or any outbound
    call (click-to-dial, a callback, speed-to-lead). The one place a screen pop is sent: the
    agent's screen (every tab) opens the call's panel with the script chosen for this call.
    """
    call.agent_id = agent_id
    session.flush()
    lead = load(session, Lead, call.lead_id) if call.lead_id else None
    inbound = call.direction == CallDirection.INBOUND
    script = callscripts.active(session)
    call.script_variant = script_context.variant_for(session, lead, inbound=inbound)
    call.script_version = script.version if script is not None else 0
    # Who is on the other end: the caller's number, or the customer an outbound call rings.
    number = call.from_number if inbound or lead is None else lead.customer.phone
    live.to_user(
        session,
        agent_id,
        "screen_pop",
        {
            "call_id": call.id,
            "lead_id": call.lead_id,
            "customer_id": call.customer_id,
            "from": access.phone_for(
                load(session, User, agent_id), number, owner_id=lead.owner_id if lead else None
            ),
            "direction": call.direction.value,
            "variant": call.script_variant,
        },
    )


#: Read as a call's events arrive: built once.
_PENDING_RETRY = select(Callback).where(
    Callback.call_id == bindparam("call_id"),
    Callback.reason == "retry",
    Callback.status == CallbackStatus.PENDING,
)
_CALLBACK_OF_CALL = select(Callback).where(Callback.call_id == bindparam("call_id"))
_CHILD_ACCEPTED = (
    select(Call.id)
    .where(Call.parent_sid == bindparam("sid"), Call.accepted_at.is_not(None))
    .limit(1)
)


def _withdraw_retry(session: Session, call: Call) -> None:
    """A retry owed because this leg looked unanswered, withdrawn once an event proves it was."""
    retry = session.scalar(_PENDING_RETRY, {"call_id": call.id})
    if retry is not None:
        retry.status, retry.canceled_reason = CallbackStatus.CANCELED, "answered"


def _customer_reached(session: Session, call: Call, at: dt.datetime | None) -> None:
    """A person spoke with the customer at ``at``: the lead has had its first response."""
    if at is None or call.lead_id is None:
        return
    lead = load_one(session, Lead, call.lead_id)
    lead.first_response_at = events.earliest(lead.first_response_at, at)
    lifecycle.mark_contacted(lead)


def _settle_caller(session: Session, call: Call) -> None:
    """After a hotline call (or a customer rung first who answered) ends: owe the customer a
    callback unless an agent took the call.

    Child legs may report after the parent ends; an answer that shows up late cancels the
    callback, so the final state does not depend on the order of events.
    """
    if call.status not in TERMINAL_CALL_STATUSES or call.lead_id is None:
        return
    answered = call.agent_id is not None or _child_answered(session, call)
    existing = session.scalar(_CALLBACK_OF_CALL, {"call_id": call.id})
    if answered:
        if existing is not None and existing.status == CallbackStatus.PENDING:
            existing.status = CallbackStatus.CANCELED
        return
    if existing is None:
        lead = load_one(session, Lead, call.lead_id)
        delay = dt.timedelta(minutes=policy.load(session).missed_call_callback_minutes)
        callbacks.owe(
            session, lead, reason="missed_call", due_at=clock.now() + delay, call_id=call.id
        )


def _child_answered(session: Session, call: Call) -> bool:
    if call.sid is None:  # not yet known to the provider: nothing was dialled from it
        return False
    return session.scalar(_CHILD_ACCEPTED, {"sid": call.sid}) is not None


# --- click-to-dial -------------------------------------------------------------------------


def in_calling_hours(settings: Settings) -> bool:
    """Whether the dealer calls customers now (``DCC_CALLING_HOURS``, local time)."""
    return clock.within_hours(clock.now(), settings.timezone, parse_hours(settings.calling_hours))


def start_click_to_dial(session: Session, lead: Lead, *, actor: User, settings: Settings) -> Call:
    """Check that the call may be placed now and record it before the provider is asked.

    ``actor`` is the agent whose phone rings first. Raises :class:`CallRefused` (409) for a
    do-not-call number, outside calling hours or a closed lead. The caller commits, then asks
    the provider, then stores the sid.
    """
    check_may_call(lead, settings)
    endpoint = routing.agent_endpoint(actor, softphone=settings.softphone)
    if endpoint is None:
        raise ValidationError("call.no_agent_phone", field="phone")
    call = Call(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        direction=CallDirection.OUTBOUND,
        leg="agent",
        from_number=settings.hotline_number,
        to_number=endpoint,
        status=CallStatus.QUEUED,
        requested_at=clock.now(),
    )
    session.add(call)
    give_agent(session, call, actor.id)  # the script is chosen from the lead before this call
    _count_attempt(session, lead, call)
    return call


def start_customer_first(session: Session, lead: Lead, *, settings: Settings) -> Call:
    """Record a call that rings the customer first (no agent is free): once they answer they
    wait in the hotline queue, and the agent who takes them gets the call. Checked and
    counted as :func:`start_click_to_dial` does; the caller commits, then asks the provider."""
    check_may_call(lead, settings)
    call = Call(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        direction=CallDirection.OUTBOUND,
        leg="customer",
        kind=CUSTOMER_FIRST,
        from_number=settings.hotline_number,
        to_number=lead.customer.phone,
        status=CallStatus.QUEUED,
        requested_at=clock.now(),
    )
    session.add(call)
    _count_attempt(session, lead, call)
    return call


def check_may_call(lead: Lead, settings: Settings) -> None:
    """Refuse (:class:`CallRefused`, 409) a call to a closed lead, a customer who asked not
    to be called, or any call outside calling hours."""
    if not lead.is_open:
        raise CallRefused("call.lead_closed", field="lead_id", lead=lead.id, status=lead.status)
    if lead.customer.do_not_call:
        raise CallRefused("call.do_not_call", field="lead_id")
    if not in_calling_hours(settings):
        raise CallRefused(
            "call.outside_hours",
            field="lead_id",
            hours=settings.calling_hours,
            timezone=settings.timezone,
        )


def _count_attempt(session: Session, lead: Lead, call: Call) -> None:
    """The lead's attempt is on record: counted, and the first one is its first response."""
    lead.attempt_count += 1
    if lead.first_response_at is None:
        lead.first_response_at = call.requested_at  # the first call attempt is the first response
    lifecycle.mark_contacted(lead)
    session.flush()


def provider_failed(session: Session, call: Call, message: str) -> None:
    """The provider refused the call: the attempt stays on record as failed.

    The customer was never dialled, so the lead does not count it as an attempt or as its
    first response: a retry (or the agent) must still make that call.
    """
    call.status, call.status_rank = CallStatus.FAILED, events.STATUS_RANK[CallStatus.FAILED]
    call.ended_at = clock.now()
    call.outcome = f"provider error: {message}"[:200]
    lead = load(session, Lead, call.lead_id) if call.lead_id else None
    if lead is not None:
        lead.attempt_count = max(0, lead.attempt_count - 1)
        if lead.first_response_at is not None and lead.first_response_at == call.requested_at:
            lead.first_response_at = None


def bridge_target(session: Session, call_id: int | None) -> tuple[Call, str | None]:
    """The agent answered a click-to-dial call: the customer's number to bridge to, or None
    when the call must not go through any more (the lead closed, or the customer asked not
    to be called, while the agent's phone rang)."""
    call = load(session, Call, call_id) if call_id is not None else None
    if call is None:
        raise NotFound("call.unknown", field="call_id")
    lead = call.lead
    if lead is not None and (not lead.is_open or lead.customer.do_not_call):
        return call, None
    return call, customer_number_for(session, call)


def customer_number_for(session: Session, call: Call) -> str:
    if call.customer_id is None:
        raise NotFound("call.no_customer", field="call_id", call=call.id)
    return load_one(session, Customer, call.customer_id).phone
