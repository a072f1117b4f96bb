"""Who the hotline rings, and how an agent is reached (phone or browser softphone)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc.leads.models import Lead
from dcc.users.models import AgentStatus, Role, User

CLIENT_PREFIX = "client:"


def client_identity(user: User) -> str:
    """The browser softphone's identity for ``user``: Twilio allows letters, digits and
    underscores. It starts with the user id, so a call to it leads back to the user."""
    return f"u{user.id}_" + re.sub(r"[^A-Za-z0-9_]", "_", user.login)[:100]


def agent_endpoint(user: User, *, softphone: bool = False) -> str | None:
    """Where to ring ``user``: the browser (``client:<identity>``) or the phone on record."""
    if softphone:
        return CLIENT_PREFIX + client_identity(user)
    return user.phone


def is_ready(user: User | None, *, softphone: bool = False) -> bool:
    """Active, on shift, marked available, and reachable."""
    return (
        user is not None
        and user.is_active
        and user.on_shift
        and user.agent_status == AgentStatus.AVAILABLE
        and agent_endpoint(user, softphone=softphone) is not None
    )


def inbound_targets(session: Session, lead: Lead | None, *, softphone: bool = False) -> list[User]:
    """The owner when ready; otherwise every ready inbound agent (they ring at once)."""
    owner = session.get(User, lead.owner_id) if lead is not None and lead.owner_id else None
    if owner is not None and is_ready(owner, softphone=softphone):
        return [owner]
    agents = session.scalars(
        select(User)
        .where(
            User.role == Role.DCC_AGENT,
            User.takes_inbound.is_(True),
            User.is_active.is_(True),
            User.on_shift.is_(True),
            User.agent_status == AgentStatus.AVAILABLE,
        )
        .order_by(User.last_assigned_at.asc().nulls_first(), User.id)
    ).all()
    return [a for a in agents if is_ready(a, softphone=softphone)]


def agent_for_endpoint(session: Session, endpoint: str | None) -> User | None:
    """The agent a dialled leg reached, from the ``To`` of its events."""
    if not endpoint:
        return None
    if endpoint.startswith(CLIENT_PREFIX):
        found = re.match(r"u(\d+)_", endpoint[len(CLIENT_PREFIX) :])
        return session.get(User, int(found.group(1))) if found else None
    return session.scalar(select(User).where(User.phone == endpoint).order_by(User.id).limit(1))
