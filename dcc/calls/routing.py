"""Who the hotline rings, and how an agent is reached (phone or browser softphone)."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Select, Table, bindparam, or_, select
from sqlalchemy.orm import Session

from dcc import clock
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
    """A ready agent: the columns that say where to ring them."""

    id: int
    login: str
    phone: str | None

    def endpoint(self, *, softphone: bool) -> str:
        """Where to ring: never None, since a ready agent is reachable."""
        return agent_endpoint(self, softphone=softphone) or ""


def client_identity(user: Reachable) -> str:
    """The browser softphone's identity for ``user``: Twilio allows letters, digits and
    underscores. It starts with the user id, so a call to it leads back to the user."""
    return f"u{user.id}_" + re.sub(r"[^A-Za-z0-9_]", "_", user.login)[:100]


def agent_endpoint(user: Reachable, *, softphone: bool = False) -> str | None:
    """Where to ring ``user``: the browser (``client:<identity>``) or the phone on record."""
    if softphone:
        return CLIENT_PREFIX + client_identity(user)
    return user.phone


_users = cast(Table, User.__table__)
#: Longest idle first: an available agent has been idle since their status last changed
#: (``users.status_since``, stamped by every change of status); never stamped counts as longest.
_LONGEST_IDLE = (_users.c.status_since.asc().nulls_first(), _users.c.id)


@functools.cache
def _ready_query(*, softphone: bool, one_user: bool, team: bool, inbound: bool) -> Select[Any]:
    """The one definition of a ready agent, as a prebuilt statement: active, on shift, marked
    available, not skipped after a ring they let go unanswered (``skip_until``), and reachable
    (the browser in softphone mode, else a phone on record)."""
    query = select(_users.c.id, _users.c.login, _users.c.phone).where(
        _users.c.is_active.is_(True),
        _users.c.on_shift.is_(True),
        _users.c.agent_status == AgentStatus.AVAILABLE,
        or_(_users.c.skip_until.is_(None), _users.c.skip_until <= bindparam("now")),
    )
    if not softphone:
        query = query.where(_users.c.phone.is_not(None))
    if one_user:
        return query.where(_users.c.id == bindparam("user_id"))
    query = query.where(_users.c.role == Role.DCC_AGENT)
    if team:
        query = query.where(_users.c.team_id == bindparam("team_id"))
    if inbound:
        query = query.where(_users.c.takes_inbound.is_(True))
    return query.order_by(*_LONGEST_IDLE)


def ready_agents(
    session: Session, *, softphone: bool, team_id: int | None = None, inbound: bool = False
) -> list[Agent]:
    """The DCC agents who may be rung now, longest idle first: a team's (``team_id``), the
    hotline's (``inbound``: those who take inbound calls), or all."""
    query = _ready_query(
        softphone=softphone, one_user=False, team=team_id is not None, inbound=inbound
    )
    params: dict[str, object] = {"now": clock.now()}
    if team_id:
        params["team_id"] = team_id
    rows = session.connection().execute(query, params)
    return [Agent(*row) for row in rows]


def ready_user(session: Session, user_id: int | None, *, softphone: bool) -> Agent | None:
    """``user_id`` (a lead's owner, of any role) when ready to be rung now, else None."""
    if user_id is None:
        return None
    query = _ready_query(softphone=softphone, one_user=True, team=False, inbound=False)
    row = session.connection().execute(query, {"user_id": user_id, "now": clock.now()}).first()
    return Agent(*row) if row is not None else None


#: Twilio rings at most ten ``<Number>`` / ``<Client>`` nouns of one ``<Dial>``.
STAGE_SIZE = 10


@dataclass(frozen=True)
class Stage:
    """One stage of routing a hotline call: whom to ring at once, and whether it is the
    owner's own stage (which rings for the owner's ring time)."""

    agents: list[Agent]
    owner: bool = False


def next_stage(
    session: Session, owner_id: int | None, *, softphone: bool, tried: Collection[int] = ()
) -> Stage:
    """Whom the hotline rings next: the lead's owner when ready and not yet tried; else up
    to ten ready inbound agents not yet tried in this call, longest idle first. No agent
    left: the caller queues. Read on every hotline call, so only the columns it needs."""
    if owner_id is not None and owner_id not in tried:
        owner = ready_user(session, owner_id, softphone=softphone)
        if owner is not None:
            return Stage([owner], owner=True)
    agents = [
        a
        for a in ready_agents(session, softphone=softphone, inbound=True)
        if a.id not in tried and a.id != owner_id
    ]
    return Stage(agents[:STAGE_SIZE])


def inbound_endpoints(
    session: Session, owner_id: int | None, *, softphone: bool = False
) -> list[str]:
    """Whom the hotline rings first (see :func:`next_stage`)."""
    stage = next_stage(session, owner_id, softphone=softphone)
    return [a.endpoint(softphone=softphone) for a in stage.agents]


#: Read on every event of a dialled agent leg: built once.
_BY_PHONE = select(User).where(User.phone == bindparam("phone")).order_by(User.id).limit(1)


def agent_for_endpoint(session: Session, endpoint: str | None) -> User | None:
    """The agent a dialled leg reached, from the ``To`` of its events."""
    if not endpoint:
        return None
    if endpoint.startswith(CLIENT_PREFIX):
        found = re.match(r"u(\d+)_", endpoint[len(CLIENT_PREFIX) :])
        return session.get(User, int(found.group(1))) if found else None
    return session.scalar(_BY_PHONE, {"phone": endpoint})
