"""Who owns a lead: a known customer's owner, else round-robin over agents on shift."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.customers.models import Customer
from dcc.leads import rules
from dcc.leads.models import Channel
from dcc.users.models import Role, User


def can_own(user: User | None, roles: tuple[str, ...]) -> bool:
    return user is not None and user.is_active and user.role.value in roles


def choose_owner(
    session: Session,
    *,
    customer: Customer,
    channel: Channel,
    team_id: int | None = None,
) -> User | None:
    """The user who should own a new lead of ``customer`` from ``channel``.

    A known customer goes back to its owner while that user is active. Otherwise the next
    active, on-shift user of the right role (and team, when the source has one) in
    round-robin order: whoever was assigned longest ago. None when nobody can take it; the
    lead then waits, unowned, in the manager's queue.
    """
    roles = rules.owner_roles_for(channel)
    owner = session.get(User, customer.owner_id) if customer.owner_id else None
    if can_own(owner, roles):
        return owner
    query = (
        select(User)
        .where(
            User.is_active.is_(True),
            User.on_shift.is_(True),
            User.role.in_([Role(r) for r in roles]),
        )
        .order_by(User.last_assigned_at.asc().nulls_first(), User.id)
        .limit(1)
        # Concurrent intakes on PostgreSQL each take a different agent instead of the same one.
        .with_for_update(skip_locked=True)
    )
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    agent = session.scalar(query)
    if agent is not None:
        agent.last_assigned_at = clock.now()
    return agent
