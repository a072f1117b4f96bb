"""An agent may have become ready: the hotline's queued callers first, then the new leads
waiting for their first call (speed to lead).

Every door where an agent may have become ready calls :func:`agent_may_be_ready`: the status
buttons and the outcome form (:func:`set_status`, :func:`save_outcome`), the end of a
wrap-up (:func:`end_wrap_up`), a call leg that ends and the queue's webhooks. The queue is
served first (:func:`dcc.calls.dialer.serve_queue`): a caller on hold keeps priority. Then
each agent still ready and not ringing takes the oldest waiting new lead they may take
(:func:`waiting_leads`); a lead that is not theirs is given to them first
(:func:`dcc.leads.reassignment.give_to_ready_agent`) and dialled at once. The speed-to-lead
job asks the same module for a new lead's first call (:func:`first_call`).

Exactly once: the lead row is locked and every condition read again inside the transaction
that puts its first call on record, so two agents who become ready at the same moment never
dial the same lead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, Select, bindparam, exists, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls import agents, dialer, queue, routing, wrapup
from dcc.calls import service as calls
from dcc.calls.models import CUSTOMER_FIRST, TERMINAL_CALL_STATUSES, Call, CallDirection
from dcc.config import Settings
from dcc.customers.models import Customer
from dcc.errors import DCCError
from dcc.leads import closing, reassignment, rules
from dcc.leads.models import Channel, Lead, LeadSource
from dcc.notifications import notify
from dcc.users.models import AgentStatus, Role, User
from telephony import Telephony

#: Only a lead received this recently is dialled by whoever becomes ready: an old backlog
#: (after a holiday, an import) is worked from the worklist, never auto-dialled.
WAITING_WINDOW = dt.timedelta(hours=24)
#: An agent's leg asked for this recently and not yet ended still rings them (a ring gives
#: up well before): they are not given a lead meanwhile. An older leg the provider never
#: reported on does not keep them out for ever.
RINGING_AT_MOST = dt.timedelta(minutes=2)
#: Why the dealer's rules gave a lead to another agent, as the audit log records it.
REASON_OWNER_NOT_READY = "first_call_owner_not_ready"
#: How many of the oldest waiting leads one serving looks at.
LOOK_AT = 50

log = logging.getLogger(__name__)


@dataclass
class Served:
    """What one serving placed: pickup legs for queued callers, first calls of new leads."""

    pickups: list[Call] = field(default_factory=list)
    first_calls: list[Call] = field(default_factory=list)


def agent_may_be_ready(session: Session, *, settings: Settings, telephony: Telephony) -> Served:
    """The one entry point for "an agent may have become ready": the queue is served, then
    every agent still ready takes the oldest waiting new lead (see the module's docstring)."""
    pickups = dialer.serve_queue(session, settings=settings, telephony=telephony)
    return Served(pickups, dial_waiting_leads(session, settings=settings, telephony=telephony))


def set_status(
    session: Session, agent: User, status: AgentStatus, *, settings: Settings, telephony: Telephony
) -> Served | None:
    """The agent (the status buttons) changes their status; once available they are served."""
    agents.set_status(session, agent, status)
    if agent.agent_status != AgentStatus.AVAILABLE:
        return None
    session.commit()
    return agent_may_be_ready(session, settings=settings, telephony=telephony)


def start_shift(
    session: Session, agent: User, *, settings: Settings, telephony: Telephony
) -> Served | None:
    """The agent comes on shift, available: leads that came in overnight are dialled now."""
    agent.on_shift = True
    return set_status(session, agent, AgentStatus.AVAILABLE, settings=settings, telephony=telephony)


def end_shift(session: Session, agent: User) -> None:
    """The agent goes off shift: nobody rings them any more."""
    agents.set_status(session, agent, AgentStatus.OFFLINE)
    agent.on_shift = False


def save_outcome(
    session: Session,
    lead: Lead,
    outcome: wrapup.Outcome,
    *,
    actor: User,
    call: Call | None = None,
    settings: Settings,
    telephony: Telephony,
) -> wrapup.WrapUp:
    """The outcome form (:func:`dcc.calls.wrapup.save_outcome`), in a savepoint so that a
    refusal changes nothing; saving ends the wrap-up, so the agent is served."""
    with session.begin_nested():
        saved = wrapup.save_outcome(session, lead, outcome, actor=actor, call=call)
    session.commit()
    agent_may_be_ready(session, settings=settings, telephony=telephony)
    return saved


def end_wrap_up(
    session: Session, user_id: int, *, settings: Settings, telephony: Telephony
) -> Served | None:
    """The agent's wrap-up time is over: available again and served; None when not due."""
    if not agents.end_due_wrap_ups(session, user_id):
        return None
    session.commit()
    return agent_may_be_ready(session, settings=settings, telephony=telephony)


# --- new leads waiting for their first call ------------------------------------------------


def waiting_leads(now: dt.datetime) -> Select[Lead]:
    """New leads waiting for their first call, oldest first: open and owed contact, from a
    source that auto-dials, never responded to nor called, not met in the showroom, the
    customer not on the do-not-call list, received within :data:`WAITING_WINDOW`.
    (Calling hours are the caller's check: they hold for every lead alike.)"""
    return _waiting_since(now - WAITING_WINDOW)


def _waiting_since(since: dt.datetime | BindParameter[dt.datetime]) -> Select[Lead]:
    called = exists().where(Call.lead_id == Lead.id, Call.direction == CallDirection.OUTBOUND)
    return (
        select(Lead)
        .join(LeadSource, LeadSource.id == Lead.source_id)
        .join(Customer, Customer.id == Lead.customer_id)
        .where(
            Lead.status.in_(closing.WORKED_STATUSES),
            Lead.first_response_at.is_(None),
            Lead.channel != Channel.WALK_IN,
            Lead.arrived_at.is_(None),
            LeadSource.auto_dial.is_(True),
            Customer.do_not_call.is_(False),
            Lead.created_at >= since,
            ~called,
        )
        .order_by(Lead.created_at, Lead.id)
    )


#: The oldest waiting leads, read whenever an agent may be ready: built once.
_OLDEST_WAITING = _waiting_since(bindparam("since")).limit(LOOK_AT)


def lock_if_waiting(session: Session, lead_id: int) -> Lead | None:
    """The lead, its row locked, when it still waits (read again inside this transaction);
    None when it no longer waits or another transaction holds it (that one dials it)."""
    query = waiting_leads(clock.now()).where(Lead.id == lead_id)
    return session.scalar(query.with_for_update(of=Lead, skip_locked=True))


def _busy(session: Session) -> set[int]:
    """Agents whose own leg is ringing or live (a pickup, a first call just placed)."""
    rows = session.scalars(
        select(Call.agent_id).where(
            Call.leg == "agent",
            Call.agent_id.is_not(None),
            Call.status.not_in(TERMINAL_CALL_STATUSES),
            Call.requested_at >= clock.now() - RINGING_AT_MOST,
        )
    )
    return {agent_id for agent_id in rows if agent_id is not None}


def takers(session: Session, lead: Lead, *, softphone: bool) -> list[routing.Agent]:
    """The agents ready now who may take ``lead``, longest idle first: the rule of the
    assignment at intake (:func:`dcc.leads.assignment.choose_owner`: the role for the
    lead's channel, the source's team) applied to the ready agents
    (:func:`dcc.calls.routing.ready_agents`)."""
    if Role.DCC_AGENT.value not in rules.owner_roles_for(lead.channel):
        return []  # only DCC agents are rung for a first call
    team_id = lead.source.team_id if lead.source is not None else None
    return routing.ready_agents(session, softphone=softphone, team_id=team_id)


def first_call(
    session: Session, lead_id: int, *, settings: Settings, telephony: Telephony
) -> Call | None:
    """Dial a new lead's first call now when someone can: its owner when ready; else the
    longest idle ready agent who may take it, who is given the lead first. None when the lead
    no longer waits or nobody is ready (it waits for :func:`agent_may_be_ready`)."""
    if not calls.in_calling_hours(settings):
        return None
    lead = lock_if_waiting(session, lead_id)
    if lead is None:
        return None
    agent = routing.ready_user(session, lead.owner_id, softphone=settings.softphone)
    if agent is None:
        busy = _busy(session)
        free = [a for a in takers(session, lead, softphone=settings.softphone) if a.id not in busy]
        agent = free[0] if free else None
    if agent is None:
        return None
    return _dial(session, lead, session.get_one(User, agent.id), settings, telephony)


def customer_first(
    session: Session, lead_id: int, *, settings: Settings, telephony: Telephony
) -> Call | None:
    """A new lead still waits the dealer-set time after it came in
    (:attr:`dcc.calls.policy.CallPolicy.customer_first_after_seconds`): an agent free by now
    dials it (:func:`first_call`); else, while the queue has room
    (:func:`dcc.calls.queue.has_room`), the customer is rung first and, once they answer,
    waits in the hotline queue for the first agent who becomes free. None when nothing was
    placed: the lead waits for the next agent who becomes ready."""
    call = first_call(session, lead_id, settings=settings, telephony=telephony)
    if call is not None:
        return call
    session.rollback()  # the lead's row lock, if any, is let go before it is taken again
    if not calls.in_calling_hours(settings):
        return None
    lead = lock_if_waiting(session, lead_id)
    if lead is None or not queue.has_room(session):
        return None
    try:
        dialer.check_provider(telephony, lead.customer.phone, settings)
        call = calls.start_customer_first(session, lead, settings=settings)
        return dialer.ring_customer_first(session, call, settings=settings, telephony=telephony)
    except dialer.ProviderFailed:
        return None  # the failed attempt is on record; the lead waits for an agent
    except DCCError as error:
        session.rollback()
        log.warning(
            "customer-first call of lead %d refused: %s",
            lead_id,
            error.code,
            extra={"lead_id": lead_id},
        )
        return None


def customer_waiting(
    session: Session, call_id: int | None, *, settings: Settings, telephony: Telephony
) -> Call | None:
    """A customer rung first answered: they join the hotline queue, which is served at once
    (an agent may have become free meanwhile). None for a call not rung first."""
    call = session.get(Call, call_id) if call_id is not None else None
    if call is None or call.kind != CUSTOMER_FIRST:
        return None
    queue.join(call)
    session.commit()
    agent_may_be_ready(session, settings=settings, telephony=telephony)
    return call


def dial_waiting_leads(session: Session, *, settings: Settings, telephony: Telephony) -> list[Call]:
    """Each agent ready and not ringing takes the oldest waiting new lead they may take.
    Returns the first calls placed."""
    session.commit()
    if not calls.in_calling_hours(settings):
        return []
    placed: list[Call] = []
    tried: set[int] = set()  # dialled, or refused in this serving
    while (call := _dial_next(session, settings, telephony, tried=tried)) is not None:
        placed.append(call)
    return placed


def _dial_next(
    session: Session, settings: Settings, telephony: Telephony, *, tried: set[int]
) -> Call | None:
    """One pairing: the longest idle free agent with a lead they may take gets the oldest."""
    leads = [
        lead
        for lead in session.scalars(_OLDEST_WAITING, {"since": clock.now() - WAITING_WINDOW})
        if lead.id not in tried
    ]
    if not leads:
        return None
    busy = _busy(session)
    free = [
        a.id
        for a in routing.ready_agents(session, softphone=settings.softphone)
        if a.id not in busy
    ]
    may_take: dict[tuple[Channel, int | None], set[int]] = {}
    for agent_id in free:
        for lead in leads:
            if lead.id in tried:
                continue
            key = (lead.channel, lead.source.team_id if lead.source is not None else None)
            if key not in may_take:
                found = takers(session, lead, softphone=settings.softphone)
                may_take[key] = {a.id for a in found}
            if agent_id not in may_take[key]:
                continue
            lead_id = lead.id
            tried.add(lead_id)
            locked = lock_if_waiting(session, lead_id)
            if locked is None:
                session.rollback()
                continue
            call = _dial(session, locked, session.get_one(User, agent_id), settings, telephony)
            if call is not None:
                return call
    return None


def _dial(
    session: Session, lead: Lead, agent: User, settings: Settings, telephony: Telephony
) -> Call | None:
    """Give the locked ``lead`` to ``agent`` when not theirs, and ring them for it."""
    previous = lead.owner_id
    try:
        dialer.check_provider(telephony, lead.customer.phone, settings)
        if previous != agent.id:
            reassignment.give_to_ready_agent(session, lead, agent, reason=REASON_OWNER_NOT_READY)
            if previous is not None:
                notify(
                    session,
                    previous,
                    "lead_taken",
                    "新线索已由空闲同事立即拨打",
                    lead_id=lead.id,
                    new_owner_id=agent.id,
                )
        return dialer.dial(session, lead, agent=agent, settings=settings, telephony=telephony)
    except dialer.ProviderFailed:
        return None  # the failed attempt is on record; the attempt policy takes it from here
    except DCCError as error:
        session.rollback()
        log.warning(
            "first call of lead %d to agent %d refused: %s",
            lead.id,
            agent.id,
            error.code,
            extra={"lead_id": lead.id},
        )
        return None
