"""The hotline queue, served: callers wait in arrival order and every ready agent is given the
longest waiting one at once.

A caller nobody could take joins the provider's queue (``<Enqueue>``) and is marked
``queued_at``. Whenever an agent may have become ready (a status change, a wrap-up that ends,
a call that ends, and on every hold announcement) :func:`serve` pairs the waiting callers
with the ready inbound agents, longest idle first: each agent gets a screened leg
(``kind="pickup"``) which, once they press 1, takes the caller at the head of the queue
(``<Dial><Queue>``). An agent who does not answer is skipped and the caller stays in place for
the next one. The wallboard's queue figures read the same rows (:func:`waiting`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls import agents, routing
from dcc.calls.models import TERMINAL_CALL_STATUSES, Call, CallDirection, CallStatus
from dcc.leads import callbacks
from dcc.leads.models import Lead
from dcc.users.models import AgentStatus, Role, User

log = logging.getLogger(__name__)

PICKUP = "pickup"
#: What a caller is told to expect per caller ahead when the provider has no average yet.
DEFAULT_SECONDS_PER_CALLER = 60


def join(call: Call) -> None:
    """The caller goes to the queue (once: a repeated request keeps their arrival time)."""
    call.queued_at = call.queued_at or clock.now()


#: A caller in the queue: queued, not taken by an agent, not ended.
_IN_QUEUE = (
    Call.queued_at.is_not(None),
    Call.agent_id.is_(None),
    Call.status.not_in(TERMINAL_CALL_STATUSES),
)
# Read whenever an agent may be ready and on every hotline call: built once.
_WAITING = select(Call).where(*_IN_QUEUE).order_by(Call.queued_at, Call.id)
_WAITING_LOCKED = _WAITING.with_for_update()
_ANYONE_WAITING = select(Call.id).where(*_IN_QUEUE).limit(1)
_HOW_MANY_WAITING = select(func.count()).select_from(Call).where(*_IN_QUEUE)
_PICKUPS_RINGING = select(Call).where(
    Call.kind == PICKUP,
    Call.accepted_at.is_(None),
    Call.status.not_in(TERMINAL_CALL_STATUSES),
)


def waiting(session: Session, *, lock: bool = False) -> list[Call]:
    """The callers waiting in the queue, longest waiting first."""
    return list(session.scalars(_WAITING_LOCKED if lock else _WAITING))


def anyone_waiting(session: Session) -> bool:
    """Whether a caller waits in the queue (read on every hotline call: one indexed row)."""
    return session.scalar(_ANYONE_WAITING) is not None


def has_room(session: Session) -> bool:
    """Whether a customer rung first would soon be taken: fewer callers wait than there are
    agents on a call or wrapping up (on shift, taking the hotline). With nobody at work, or a
    queue as long as those about to become free, a new lead waits for an agent instead."""
    coming = session.scalar(
        select(func.count(User.id)).where(
            User.is_active.is_(True),
            User.on_shift.is_(True),
            User.role == Role.DCC_AGENT,
            User.takes_inbound.is_(True),
            User.agent_status.in_((AgentStatus.ON_CALL, AgentStatus.WRAP_UP)),
        )
    )
    return (session.scalar(_HOW_MANY_WAITING) or 0) < (coming or 0)


def _pickups_ringing(session: Session) -> list[Call]:
    """Pickup legs placed and not yet accepted nor ended."""
    return list(session.scalars(_PICKUPS_RINGING))


def position(session: Session, call: Call) -> int:
    """The caller's place in the queue (1: next)."""
    queue = waiting(session)
    ids = [c.id for c in queue]
    return ids.index(call.id) + 1 if call.id in ids else 1


def expected_wait(position: int, average_seconds: float) -> float:
    """Seconds a caller at ``position`` should expect: the provider's average wait per taken
    caller, or a minute per caller while it has none."""
    per_caller = average_seconds if average_seconds > 0 else DEFAULT_SECONDS_PER_CALLER
    return per_caller * max(position, 1)


def waited_seconds(call: Call) -> float:
    return (clock.now() - (call.queued_at or clock.now())).total_seconds()


def longest_wait_seconds(queue: list[Call], now: dt.datetime) -> int:
    return max((math.floor((now - (c.queued_at or now)).total_seconds()) for c in queue), default=0)


def keep_place_as_callback(session: Session, call: Call) -> None:
    """The caller pressed 1: they leave the queue and are owed a callback, due now."""
    if call.lead_id is None:
        return
    lead = session.get_one(Lead, call.lead_id)
    callbacks.owe(session, lead, reason="queue_callback", due_at=clock.now(), call_id=call.id)


def plan(session: Session, *, softphone: bool, hotline: str) -> list[tuple[Call, Call]]:
    """Pair each waiting caller not yet being fetched with a ready inbound agent who has no
    ring of their own, and put the agents' pickup legs on record: (pickup, caller) pairs.

    The waiting rows are locked, so two processes serving at once do not fetch one caller
    twice; an agent whose wrap-up time is over is available again first. The caller commits,
    then places the legs (:func:`dcc.calls.dialer.place_pickup`).
    """
    queue = waiting(session, lock=True)
    if not queue:
        return []
    # Rows are locked in the order every webhook locks them (the call, then its agent), so a
    # status callback and a serving never wait on each other in a circle.
    agents.end_due_wrap_ups(session)
    ringing = _pickups_ringing(session)
    busy = {c.agent_id for c in ringing}
    ready = routing.ready_agents(session, softphone=softphone, inbound=True)
    free = [a for a in ready if a.id not in busy]
    pairs = []
    now = clock.now()
    for caller, agent in zip(queue[len(ringing) :], free, strict=False):
        pickup = Call(
            lead_id=caller.lead_id,
            customer_id=caller.customer_id,
            agent_id=agent.id,
            direction=CallDirection.INBOUND,
            leg="agent",
            kind=PICKUP,
            from_number=hotline,
            to_number=agent.endpoint(softphone=softphone),
            status=CallStatus.QUEUED,
            requested_at=now,
        )
        session.add(pickup)
        pairs.append((pickup, caller))
    session.flush()
    return pairs


def head(session: Session) -> Call | None:
    """The caller the provider's queue gives an agent next."""
    queue = waiting(session)
    return queue[0] if queue else None
