"""Who the hotline rings, and how an agent is reached (phone or browser softphone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from dcc.users.models import AgentStatus, Role, User

CLIENT_PREFIX = "client:"


class Reachable(Protocol):
    """Who can be rung: a :class:`User`, or the few columns routing reads of one."""

    @property
    def id(self) -> int: ...
    @property
    def login(self) -> str: ...
    @property
    def phone(self) -> str | None: ...


@dataclass(frozen=True)
class Agent:
    id: int
    login: str
    phone: str | None


def client_identity(user: Reachable) -> str:
    """The browser softphone's identity for ``user``: Twilio allows letters, digits and
    underscores. It starts with the user id, so a call to it leads back to the user."""
    return f"u{user.id}_" + re.sub(r"[^A-Za-z0-9_]", "_", user.login)[:100]


def agent_endpoint(user: Reachable, *, softphone: bool = False) -> str | None:
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


_users = cast(Table, User.__table__)
_READY = (
    _users.c.is_active.is_(True),
    _users.c.on_shift.is_(True),
    _users.c.agent_status == AgentStatus.AVAILABLE,
)
_REACHABLE = (_users.c.id, _users.c.login, _users.c.phone)
_OWNER_IF_READY = select(*_REACHABLE).where(_users.c.id == bindparam("user_id"), *_READY)
_READY_INBOUND_AGENTS = (
    select(*_REACHABLE)
    .where(_users.c.role == Role.DCC_AGENT, _users.c.takes_inbound.is_(True), *_READY)
    .order_by(_users.c.last_assigned_at.asc().nulls_first(), _users.c.id)
)


def inbound_endpoints(
    session: Session, owner_id: int | None, *, softphone: bool = False
) -> list[str]:
    """Whom the hotline rings: the lead's owner when ready; otherwise every ready inbound
    agent (they ring at once). Read on every hotline call, so only the columns it needs."""
    conn = session.connection()
    if owner_id is not None:
        owner = conn.execute(_OWNER_IF_READY, {"user_id": owner_id}).first()
        endpoint = agent_endpoint(Agent(*owner), softphone=softphone) if owner else None
        if endpoint is not None:
            return [endpoint]
    agents = [Agent(*row) for row in conn.execute(_READY_INBOUND_AGENTS)]
    return [e for e in (agent_endpoint(a, softphone=softphone) for a in agents) if e]


def agent_for_endpoint(session: Session, endpoint: str | None) -> User | None:
    """The agent a dialled leg reached, from the ``To`` of its events."""
    if not endpoint:
        return None
    if endpoint.startswith(CLIENT_PREFIX):
        found = re.match(r"u(\d+)_", endpoint[len(CLIENT_PREFIX) :])
        return session.get(User, int(found.group(1))) if found else None
    return session.scalar(select(User).where(User.phone == endpoint).order_by(User.id).limit(1))
