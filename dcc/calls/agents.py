"""An agent's call status over time: wrap-up with its timer, and skipping an agent who let a
ring go unanswered. One home for every change of status the call flows make."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock, live
from dcc.calls import policy
from dcc.errors import InvalidTransition
from dcc.jobs import outbox
from dcc.users.models import AgentStatus, User

WRAP_UP_END_TASK = "agent.wrap_up_end"
SKIP_OVER_TASK = "agent.skip_over"


def set_status(session: Session, agent: User, status: AgentStatus) -> None:
    """The agent (or a call) changes the agent's status; wrap-up starts its timer, any other
    status clears it."""
    if status == AgentStatus.WRAP_UP:
        begin_wrap_up(session, agent)
        return
    until = agent.wrap_up_until
    if until is not None and until > clock.now():
        # The wrap-up ends before its time (the outcome is saved): its timer has nothing to do.
        outbox.cancel(session, _wrap_up_key(agent, until))
    agent.agent_status = status
    agent.wrap_up_until = None
    announce(session, agent)


def announce(session: Session, agent: User) -> None:
    """Every screen of the agent shows their status (and the wrap-up's end) as it is now."""
    until = agent.wrap_up_until if agent.agent_status == AgentStatus.WRAP_UP else None
    live.to_user(
        session,
        agent.id,
        "agent_status",
        {"status": agent.agent_status.value, "wrap_up_until": until.isoformat() if until else None},
    )


def begin_wrap_up(session: Session, agent: User) -> None:
    """A call ended: the agent records its outcome, for at most the dealer-set wrap-up time
    (then they are available again by themselves)."""
    seconds = policy.load(session).wrap_up_seconds
    if seconds <= 0:
        set_status(session, agent, AgentStatus.AVAILABLE)
        return
    agent.agent_status = AgentStatus.WRAP_UP
    _time_wrap_up(session, agent, clock.now() + dt.timedelta(seconds=seconds))


def extend_wrap_up(session: Session, agent: User) -> dt.datetime:
    """The agent needs more time: the wrap-up ends one extension later than it would."""
    if agent.agent_status != AgentStatus.WRAP_UP:
        raise InvalidTransition("agent.not_in_wrap_up", field="status")
    extra = dt.timedelta(seconds=policy.load(session).wrap_up_extension_seconds)
    until = max(agent.wrap_up_until or clock.now(), clock.now()) + extra
    _time_wrap_up(session, agent, until)
    return until


def _wrap_up_key(agent: User, until: dt.datetime) -> str:
    return f"wrap-up-end-{agent.id}-{until.isoformat()}"


def _time_wrap_up(session: Session, agent: User, until: dt.datetime) -> None:
    earlier = agent.wrap_up_until
    if earlier is not None and earlier != until:
        outbox.cancel(session, _wrap_up_key(agent, earlier))  # extended: the later timer holds
    agent.wrap_up_until = until
    announce(session, agent)
    session.flush()
    outbox.schedule(
        session, WRAP_UP_END_TASK, run_at=until, key=_wrap_up_key(agent, until), user_id=agent.id
    )


def end_due_wrap_ups(session: Session, user_id: int | None = None) -> list[User]:
    """Every agent whose wrap-up time is over is available again (those returned)."""
    query = select(User).where(
        User.agent_status == AgentStatus.WRAP_UP,
        User.wrap_up_until.is_not(None),
        User.wrap_up_until <= clock.now(),
    )
    if user_id is not None:
        query = query.where(User.id == user_id)
    ended = list(session.scalars(query.with_for_update()))
    for agent in ended:
        set_status(session, agent, AgentStatus.AVAILABLE)
    session.flush()
    return ended


def skip(session: Session, agent: User) -> None:
    """The agent let a hotline ring go unanswered (or their voicemail took it): the hotline
    and the queue do not ring them again for a while."""
    minutes = policy.load(session).skip_unanswered_minutes
    until = clock.now() + dt.timedelta(minutes=minutes)
    agent.skip_until = until
    # Once the time is over they may take a queued caller or a waiting new lead at once, not
    # only at the next event that serves them.
    outbox.schedule(
        session,
        SKIP_OVER_TASK,
        run_at=until,
        key=f"skip-over-{agent.id}-{until.isoformat()}",
        user_id=agent.id,
    )
