"""Who owns a lead: a known customer's owner, else round-robin over agents on shift."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, cast

import redis
from flask import has_app_context
from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from dcc import clock
from dcc.broker import get_redis
from dcc.leads import rules
from dcc.leads.models import Channel
from dcc.users.models import AgentStatus, Role, User


@dataclass(frozen=True)
class Owner:
    """Who takes a new lead: enough to write the lead (its owner and the owner's team)."""

    id: int
    team_id: int | None


_users = cast(Table, User.__table__)
_KNOWN_OWNER = select(_users.c.id, _users.c.team_id, _users.c.role).where(
    _users.c.id == bindparam("user_id"), _users.c.is_active.is_(True)
)


#: Who may take a new lead, best first: on shift and available (speed-to-lead dials them at
#: once), on shift (busy or away: the lead waits for them), then any active user (nobody is on
#: shift, e.g. a web lead at night: the lead waits for their next shift).
READY, ON_SHIFT, ACTIVE = 0, 1, 2


def _candidates(roles: tuple[str, ...], team_id: int | None, tier: int = ON_SHIFT) -> Select[Any]:
    query = select(_users.c.id, _users.c.team_id).where(
        _users.c.is_active.is_(True),
        _users.c.role.in_([Role(r) for r in roles]),
    )
    if tier <= ON_SHIFT:
        query = query.where(_users.c.on_shift.is_(True))
    if tier == READY:
        query = query.where(_users.c.agent_status == AgentStatus.AVAILABLE)
    if team_id is not None:
        query = query.where(_users.c.team_id == team_id)
    return query


@functools.cache
def _in_turn(roles: tuple[str, ...], team_id: int | None, tier: int = ON_SHIFT) -> Select[Any]:
    return _candidates(roles, team_id, tier).order_by(_users.c.id)


def _tier(conn: Any, roles: tuple[str, ...], team_id: int | None) -> int:
    """The best tier that has anyone in it."""
    for tier in (READY, ON_SHIFT):
        if conn.execute(_in_turn(roles, team_id, tier).limit(1)).first() is not None:
            return tier
    return ACTIVE


def choose_owner(
    session: Session,
    *,
    known_owner_id: int | None,
    channel: Channel,
    team_id: int | None = None,
) -> Owner | None:
    """Who should own a new lead from ``channel`` of a customer owned by ``known_owner_id``.

    A known customer goes back to its owner while that user is active. Otherwise the next
    user of the right role (and team, when the source has one) in round-robin order among
    the best :data:`READY` / :data:`ON_SHIFT` / :data:`ACTIVE` tier that has anyone: an
    available agent first (the first call goes out at once), and when nobody is on shift (a
    web lead at night) an agent off shift, so that no lead waits without an owner (the loop
    audit's first rule). None when nobody can take it; the lead then waits, unowned, in the
    manager's queue.
    """
    roles = rules.owner_roles_for(channel)
    conn = session.connection()
    if known_owner_id is not None:
        known = conn.execute(_KNOWN_OWNER, {"user_id": known_owner_id}).first()
        if known is not None and Role(known.role).value in roles:
            return Owner(known.id, known.team_id)
    tier = _tier(conn, roles, team_id)
    turn = _next_turn(roles, team_id)
    if turn is not None:
        # A shared counter in Redis deals the leads in turn, with no row lock held for the
        # rest of the intake's transaction: concurrent intakes never queue behind each other.
        agents = conn.execute(_in_turn(roles, team_id, tier)).all()
        return Owner(*agents[turn % len(agents)]) if agents else None
    # Without Redis: whoever was assigned longest ago, locked so that concurrent intakes on
    # PostgreSQL take different agents.
    agent = conn.execute(
        _candidates(roles, team_id, tier)
        .order_by(_users.c.last_assigned_at.asc().nulls_first(), _users.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if agent is None:
        return None
    # Later than every earlier turn even when the clock has not moved on (two intakes in one
    # tick, a frozen clock): the turns must stay in order.
    latest = conn.scalar(select(func.max(_users.c.last_assigned_at)))
    stamp = clock.now()
    if latest is not None and latest >= stamp:
        stamp = latest + dt.timedelta(microseconds=1)
    conn.execute(update(_users).where(_users.c.id == agent.id).values(last_assigned_at=stamp))
    return Owner(*agent)


def _next_turn(roles: tuple[str, ...], team_id: int | None) -> int | None:
    """The next number of the dealer's round-robin counter, or None when Redis is away."""
    if not has_app_context():
        return None
    key = f"dcc:round-robin:{'+'.join(roles)}:{team_id or 'all'}"
    try:
        return int(get_redis().incr(key)) - 1
    except (redis.RedisError, OSError):
        return None
