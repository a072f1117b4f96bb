"""Who owns a lead: a known customer's owner, else round-robin over agents on shift."""

from __future__ import annotations

import redis
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.broker import get_redis
from dcc.customers.models import Customer
from dcc.leads import rules
from dcc.leads.models import Channel
from dcc.users.models import Role, User


def can_own(user: User | None, roles: tuple[str, ...]) -> bool:
    return user is not None and user.is_active and user.role.value in roles


def choose_owner(
    session: Session,
    *,
    customer: Customer | None,
    channel: Channel,
    team_id: int | None = None,
) -> User | None:
    """The user who should own a new lead of ``customer`` from ``channel``.

    A known customer goes back to its owner while that user is active. Otherwise the next
    active, on-shift user of the right role (and team, when the source has one) in
    round-robin order. None when nobody can take it; the lead then waits, unowned, in the
    manager's queue.
    """
    roles = rules.owner_roles_for(channel)
    known_owner = customer.owner_id if customer is not None else None
    owner = session.get(User, known_owner) if known_owner else None
    if can_own(owner, roles):
        return owner
    query = select(User).where(
        User.is_active.is_(True),
        User.on_shift.is_(True),
        User.role.in_([Role(r) for r in roles]),
    )
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    turn = _next_turn(roles, team_id)
    if turn is not None:
        # A shared counter in Redis deals the leads in turn, with no row lock held for the
        # rest of the intake's transaction: concurrent intakes never queue behind each other.
        agents = session.scalars(query.order_by(User.id)).all()
        return agents[turn % len(agents)] if agents else None
    # Without Redis: whoever was assigned longest ago, locked so that concurrent intakes on
    # PostgreSQL take different agents.
    agent = session.scalar(
        query.order_by(User.last_assigned_at.asc().nulls_first(), User.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if agent is not None:
        agent.last_assigned_at = clock.now()
    return agent


def _next_turn(roles: tuple[str, ...], team_id: int | None) -> int | None:
    """The next number of the dealer's round-robin counter, or None when Redis is away."""
    if not has_app_context():
        return None
    key = f"dcc:round-robin:{'+'.join(roles)}:{team_id or 'all'}"
    try:
        return int(get_redis().incr(key)) - 1
    except (redis.RedisError, OSError):
        return None
