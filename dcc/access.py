"""Who may see and do what: one rule per object, for the pages, the API, the exports, the
streams and the jobs alike.

The roles (DOMAIN.md):

- **admin**: everything, dealer-wide.
- **manager**: the leads of the team and everything hanging from them (customers, calls,
  recordings, callbacks, orders, reports, loop violations); acts on them: reassigns within the
  team, merges, decides lost requests, comments on follow-ups, upgrades to fleet, records
  orders, fixes loop violations. A manager without a team is dealer-wide.
- **supervisor**: reads what the manager of the team reads; acts on none of it.
- **DCC agent**: its own leads, and what it is working now: a callback released to its team,
  a call it answered for someone else's customer (until that lead changes hands).
- **consultant**: its own leads and the customers invited to it or received by it; records
  orders.
- **clerk**: the showroom register; no lead, customer or call.

Refusals follow one order: a role that may never do a thing gets 403 (:class:`PermissionDenied`)
before anything is looked up; an object the reader may not see gets 404 (:class:`NotFound`),
the same answer as for one that does not exist, so ids cannot be probed; an object the reader
sees but may not act on gets 403.

Use cases check the action (``check_may_*``) themselves, so every door gets the same answer;
handlers load what the request names with ``get_visible_*``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from dcc import live, phones
from dcc.audit import AuditEntry
from dcc.calls.models import Call
from dcc.customers.models import Customer
from dcc.errors import NotFound, PermissionDenied, ValidationError
from dcc.leads.models import Callback, CallbackStatus, Lead
from dcc.sales.models import Appointment, Order, ShowroomVisit
from dcc.users.models import Role, User

#: Read a team's work (or the dealer's, without a team).
TEAM_ROLES = frozenset({Role.MANAGER, Role.SUPERVISOR})
#: Act on leads and customers they may see: reassign, merge, decide, comment, fix the loop.
MANAGING = frozenset({Role.MANAGER, Role.ADMIN})
#: Open the manager's pages, the reports and the wallboard (supervisors read only).
OVERSEEING = frozenset({Role.MANAGER, Role.SUPERVISOR, Role.ADMIN})
#: May own leads.
LEAD_OWNERS = frozenset({Role.DCC_AGENT, Role.CONSULTANT})
#: Enter a lead (a walk-in, a phone-in, an event): everybody who works leads.
LEAD_ENTRY = frozenset({Role.CLERK, Role.CONSULTANT, Role.DCC_AGENT, Role.MANAGER, Role.ADMIN})
#: Record, deliver and cancel orders: the showroom's consultants and the managers.
ORDER_TAKERS = frozenset({Role.CONSULTANT, Role.MANAGER, Role.ADMIN})
#: Export the customer list to Excel (EXCEL导出权限受系统控制); reports: :data:`OVERSEEING`.
CUSTOMER_EXPORTERS = MANAGING
#: Register arrivals and walk-ins.
RECEPTION = frozenset({Role.CLERK, Role.MANAGER, Role.ADMIN})
#: See phone numbers in full: those who dial them. Consultants and clerks see 138****8000.
FULL_PHONE = frozenset({Role.DCC_AGENT, Role.MANAGER, Role.SUPERVISOR, Role.ADMIN})

#: The audit action of a reassignment: a lead that changed hands after a call ends the access
#: its previous handler had to that call.
REASSIGNED = "lead.reassign"


def require(user: User, roles: Iterable[Role], refusal: str = "auth.role_required") -> None:
    """403 unless ``user`` has one of ``roles``; ``refusal`` is the error's code (it may name
    the ``roles``)."""
    allowed = frozenset(roles)
    if user.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(refusal, roles=names)


def dealer_wide(user: User) -> bool:
    """An admin, or a manager or supervisor with no team: sees every team."""
    return user.role == Role.ADMIN or (user.role in TEAM_ROLES and user.team_id is None)


def _team_members(team_id: int | None) -> ColumnElement[bool]:
    return User.team_id == team_id


# --- leads ---------------------------------------------------------------------------------


def team_leads(team_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on ``leads``: the team's, those that came in for the team (its source's
    team) or that a member owns."""
    members = select(User.id).where(_team_members(team_id))
    return or_(Lead.team_id == team_id, Lead.owner_id.in_(members))


def visible_leads(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``leads`` selecting those ``user`` may read."""
    if dealer_wide(user):
        return true()
    if user.role in TEAM_ROLES:
        return team_leads(user.team_id)
    if user.role == Role.CONSULTANT:
        # The consultant also serves the customers invited to them or received by them in the
        # showroom, whoever owns the lead: they record the order and deliver the car.
        served = select(Appointment.lead_id).where(Appointment.consultant_id == user.id)
        received = select(ShowroomVisit.lead_id).where(ShowroomVisit.consultant_id == user.id)
        return or_(Lead.owner_id == user.id, Lead.id.in_(served), Lead.id.in_(received))
    if user.role == Role.DCC_AGENT:
        return Lead.owner_id == user.id
    return false()


def may_see_lead(session: Session, user: User, lead_id: int | None) -> bool:
    if lead_id is None:
        return False
    found = session.scalar(select(Lead.id).where(Lead.id == lead_id, visible_leads(user)))
    return found is not None


def get_visible_lead(session: Session, user: User, lead_id: int) -> Lead:
    """The lead, or NotFound when it does not exist or ``user`` may not see it."""
    lead = session.scalar(select(Lead).where(Lead.id == lead_id, visible_leads(user)))
    if lead is None:
        raise NotFound("lead.not_found", field="lead_id", lead=lead_id)
    return lead


def _check_visible(session: Session, user: User, lead: Lead) -> None:
    if not may_see_lead(session, user, lead.id):
        raise NotFound("lead.not_found", field="lead_id", lead=lead.id)


def check_may_work_lead(
    session: Session, user: User, lead: Lead, refusal: str = "lead.owner_or_manager_only"
) -> None:
    """Call, text, record an outcome, promise a callback: the lead's owner, or a manager who
    sees it (an admin, the team's manager). Supervisors watch; consultants who only serve
    the visit record orders, not contacts. ``refusal``: the 403's code, naming the action."""
    _check_visible(session, user, lead)
    if user.id != lead.owner_id and user.role not in MANAGING:
        raise PermissionDenied(refusal, field="lead_id")


def may_work_lead(session: Session, user: User, lead: Lead) -> bool:
    """:func:`check_may_work_lead` as a yes/no, for pages that offer the buttons."""
    return user.id == lead.owner_id or (
        user.role in MANAGING and may_see_lead(session, user, lead.id)
    )


def check_may_manage_lead(
    session: Session, user: User, lead: Lead, refusal: str = "auth.role_required"
) -> None:
    """A manager's decision on a lead (reassign, lost request, follow-up comment, loop fix):
    an admin, or the manager of the lead's team. ``refusal``: the code of the role's 403."""
    require(user, MANAGING, refusal)
    _check_visible(session, user, lead)


def lead_recipients(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``users``: whom ``user`` may give leads to — active agents and
    consultants, of the team for a team's manager."""
    clause = and_(User.role.in_(list(LEAD_OWNERS)), User.is_active.is_(True))
    return clause if dealer_wide(user) else and_(clause, _team_members(user.team_id))


def check_may_give_to(session: Session, user: User, new_owner: User) -> None:
    """Refused, naming ``owner_id``, unless ``new_owner`` is one of :func:`lead_recipients`:
    422 for someone who cannot own leads at all, 403 for someone of another team."""
    given = session.scalar(select(User.id).where(User.id == new_owner.id, lead_recipients(user)))
    if given is not None:
        return
    if not new_owner.is_active:
        raise ValidationError("lead.owner_inactive", field="owner_id", user=new_owner.login)
    if new_owner.role not in LEAD_OWNERS:
        raise ValidationError("lead.owner_cannot_own", field="owner_id", user=new_owner.login)
    raise PermissionDenied("lead.recipient_other_team", field="owner_id", user=new_owner.login)


def check_may_assign_at_entry(session: Session, user: User, owner: User | None) -> None:
    """A lead entered with a named owner: oneself, or (a manager) someone of the team."""
    if owner is None or owner.id == user.id:
        return
    if user.role not in MANAGING:
        raise PermissionDenied("lead.only_manager_assigns", field="owner_id")
    check_may_give_to(session, user, owner)


# --- customers -----------------------------------------------------------------------------


def visible_customers(user: User) -> ColumnElement[bool]:
    """A WHERE clause on ``customers``: a customer is seen through any lead the reader sees."""
    if dealer_wide(user):
        return true()
    return exists().where(Lead.customer_id == Customer.id, visible_leads(user))


def may_see_customer(session: Session, user: User, customer_id: int) -> bool:
    found = session.scalar(
        select(Customer.id).where(Customer.id == customer_id, visible_customers(user))
    )
    return found is not None


def get_visible_customer(session: Session, user: User, customer_id: int) -> Customer:
    return get_visible_customers(session, user, [customer_id], field="customer_id")[0]


def get_visible_customers(
    session: Session, user: User, ids: Iterable[int], *, field: str = "customer_ids"
) -> list[Customer]:
    """The customers of ``ids`` in that order, or NotFound naming the first one the reader may
    not see (the same answer as for one that does not exist)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_(wanted), visible_customers(user))
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("customer.not_found", field=field, customer=missing[0])
    return [found[i] for i in wanted]


def check_may_manage_customer(session: Session, user: User, customer: Customer) -> None:
    """Merge, upgrade to fleet, keep one open lead: a manager who sees every lead of the
    customer. A customer who also has leads of another team is the admin's (403)."""
    require(user, MANAGING)
    if dealer_wide(user):
        return
    counted = select(func.count()).where(Lead.customer_id == customer.id)
    everyone = session.scalar(counted) or 0
    seen = session.scalar(counted.where(visible_leads(user))) or 0
    if seen == 0:
        raise NotFound("customer.not_found", field="customer_ids", customer=customer.id)
    if seen < everyone:
        raise PermissionDenied("customer.other_team", field="customer_ids", customer=customer.id)


# --- calls and recordings ------------------------------------------------------------------


def may_see_call(session: Session, user: User, call: Call) -> bool:
    """A call is seen with its lead. Besides, the agent who took it sees it (a hotline call
    or a released callback for someone else's customer) until the lead changes hands. A call
    with no lead (a caller never identified) is seen by its agent, and by those who oversee
    the agent's team."""
    if call.lead_id is not None:
        if may_see_lead(session, user, call.lead_id):
            return True
        return call.agent_id == user.id and not _reassigned_since(session, call)
    if call.agent_id == user.id or dealer_wide(user):
        return True
    return (
        call.agent_id is not None
        and user.role in TEAM_ROLES
        and _in_team(session, call.agent_id, user.team_id)
    )


def _reassigned_since(session: Session, call: Call) -> bool:
    moved = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.action == REASSIGNED,
            AuditEntry.entity == "lead",
            AuditEntry.entity_id == call.lead_id,
            AuditEntry.at >= call.created_at,
        )
        .limit(1)
    )
    return moved is not None


def _in_team(session: Session, user_id: int, team_id: int | None) -> bool:
    return session.scalar(select(User.team_id).where(User.id == user_id)) == team_id


def get_visible_call(session: Session, user: User, call_id: int) -> Call:
    """The call (its panel, its recording), or NotFound when the reader may not see it."""
    call = session.get(Call, call_id)
    if call is None or not may_see_call(session, user, call):
        raise NotFound("call.not_found", field="call_id", call=call_id)
    return call


def check_may_work_call(session: Session, user: User, call: Call) -> None:
    """Tick the script, name an unknown caller, record the call's outcome: the agent who took
    the call (a teammate's customer on the hotline or a released callback included), or
    whoever may work its lead."""
    if not may_see_call(session, user, call):
        raise NotFound("call.not_found", field="call_id", call=call.id)
    if call.agent_id == user.id:
        return
    lead = session.get(Lead, call.lead_id) if call.lead_id is not None else None
    if lead is None:
        raise PermissionDenied("call.agent_only", field="call_id")
    check_may_work_lead(session, user, lead)


def check_may_work_lead_on(
    session: Session, user: User, lead: Lead, call: Call | None, refusal: str | None = None
) -> None:
    """Work ``lead`` (record an outcome, capture what the customer said), through ``call``
    when it is given: the call's agent may, for that call, though the lead is a teammate's."""
    if call is None:
        check_may_work_lead(session, user, lead, *([refusal] if refusal else []))
        return
    if call.lead_id != lead.id:
        raise ValidationError("call.not_this_leads", field="call_id")
    check_may_work_call(session, user, call)


def may_work_lead_on(session: Session, user: User, lead: Lead, call: Call) -> bool:
    """:func:`check_may_work_lead_on` as a yes/no, for the call panel's forms."""
    try:
        check_may_work_lead_on(session, user, lead, call)
    except (NotFound, PermissionDenied, ValidationError):
        return False
    return True


# --- callbacks -----------------------------------------------------------------------------


def takeable_callbacks(user: User) -> ColumnElement[bool]:
    """Callbacks ``user`` may take: its own, and (a DCC agent) those released to its team."""
    return _takeable(user.id, _callback_team(user))


def _callback_team(user: User) -> int | None:
    """The team whose released callbacks ``user`` may take (a DCC agent's), if any."""
    return user.team_id if user.role == Role.DCC_AGENT else None


def _takeable(owner: Any, team: Any) -> ColumnElement[bool]:
    """Callbacks of ``owner``, and those released to ``team`` unless it is None (values or
    bound parameters)."""
    mine = Callback.owner_id == owner
    if team is None:
        return mine
    released = and_(Callback.released_at.is_not(None), Callback.team_id == team)
    return or_(mine, released)


def check_may_take_callback(session: Session, user: User, callback: Callback) -> None:
    """NotFound for a callback the agent neither may take nor sees through its lead; 403 for
    one it sees but may not take (a teammate's, before it is released to the team)."""
    takeable = session.scalar(
        select(Callback.id).where(Callback.id == callback.id, takeable_callbacks(user))
    )
    if takeable is not None:
        return
    if not may_see_lead(session, user, callback.lead_id):
        raise NotFound("callback.not_found", field="callback_id", callback=callback.id)
    raise PermissionDenied("callback.not_yours", field="callback_id")


def pending_callbacks_for(user: User) -> ColumnElement[bool]:
    """Pending callbacks on the worklist of ``user``."""
    return and_(Callback.status == CallbackStatus.PENDING, takeable_callbacks(user))


@functools.cache
def pending_callbacks_clause(with_team: bool) -> ColumnElement[bool]:
    """:func:`pending_callbacks_for` as a clause built once, for statements built once: its
    parameters are :func:`pending_callbacks_parameters`'s."""
    team: BindParameter[int] | None = bindparam("callbacks_team_id") if with_team else None
    return and_(
        Callback.status == CallbackStatus.PENDING,
        _takeable(bindparam("callbacks_user_id"), team),
    )


def pending_callbacks_parameters(user: User) -> tuple[bool, dict[str, Any]]:
    """Which :func:`pending_callbacks_clause` serves ``user`` (with a team or not), and its
    parameters."""
    team_id = _callback_team(user)
    if team_id is None:
        return False, {"callbacks_user_id": user.id}
    return True, {"callbacks_user_id": user.id, "callbacks_team_id": team_id}


# --- orders --------------------------------------------------------------------------------


def get_visible_order(session: Session, user: User, order_id: int) -> Order:
    """The order when ``user`` may see its lead; NotFound alike for missing and not yours."""
    order = session.scalar(
        select(Order)
        .join(Lead, Lead.id == Order.lead_id)
        .where(Order.id == order_id, visible_leads(user))
    )
    if order is None:
        raise NotFound("order.not_found", field="order_id", order=order_id)
    return order


def check_may_order(session: Session, user: User, lead: Lead) -> None:
    """Record, deliver or cancel an order of ``lead``: a consultant or a manager who sees it."""
    require(user, ORDER_TAKERS, "order.consultant_or_manager")
    _check_visible(session, user, lead)


# --- reports -------------------------------------------------------------------------------


def visible_work(user: User, agent_column: Any) -> ColumnElement[bool]:
    """Whose work (calls, visits, follow-ups by agent) ``user`` may count: everyone's, the
    team's members', or only its own."""
    if dealer_wide(user):
        return true()
    if user.role in TEAM_ROLES:
        members: ColumnElement[bool] = agent_column.in_(
            select(User.id).where(_team_members(user.team_id))
        )
        return members
    if user.role in LEAD_OWNERS:
        own: ColumnElement[bool] = agent_column == user.id
        return own
    return false()


# --- live events and notifications ---------------------------------------------------------


def overseen_team(user: User) -> int | None:
    """The team whose live figures a supervisor or manager watches; None: the dealership's."""
    return None if dealer_wide(user) else user.team_id


def wallboard_channel(user: User) -> str | None:
    """The live call channel ``user`` watches: the team's, or the dealer's (None: none)."""
    if user.role not in OVERSEEING:
        return None
    team = overseen_team(user)
    return live.WALLBOARD if team is None else live.team_channel(team)


def stream_channels(user: User) -> list[str]:
    """What the user's ``/stream`` relays: its own events, and its wallboard's call events."""
    board = wallboard_channel(user)
    return [live.user_channel(user.id), *([board] if board else [])]


_OWNER = aliased(User)
#: The teams that see a call: its agent's, its lead's and the lead owner's (a NULL for each
#: one missing).
_CALL_TEAMS = select(
    select(User.team_id).where(User.id == bindparam("agent_id")).scalar_subquery(),
    select(Lead.team_id).where(Lead.id == bindparam("lead_id")).scalar_subquery(),
    select(_OWNER.team_id)
    .join(Lead, Lead.owner_id == _OWNER.id)
    .where(Lead.id == bindparam("lead_id"))
    .scalar_subquery(),
)


def call_channels(session: Session, call: Call) -> list[str]:
    """Where a call's live state goes besides its agent: the dealer's wallboard channel and
    the channel of every team that sees the call (its lead's team, its agent's team). Sent on
    every call event: the three teams (the agent's, the lead's and its owner's) are read in one
    query, no row loaded."""
    session.flush()  # as a query would: a change made in this transaction counts
    params = {"agent_id": call.agent_id, "lead_id": call.lead_id}
    row = session.connection().execute(_CALL_TEAMS, params).one()
    teams = {team for team in row if team is not None}
    return [live.WALLBOARD, *(live.team_channel(t) for t in sorted(teams))]


def staff_with(session: Session, roles: Iterable[Role]) -> list[User]:
    """The active users with one of ``roles``."""
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_(list(roles)), User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def watchers(
    session: Session, roles: Iterable[Role], lead_ids: Iterable[int]
) -> list[tuple[User, list[int]]]:
    """Whom an alert about ``lead_ids`` reaches: each active user with one of ``roles`` who
    may see some of them, with those it sees."""
    wanted = sorted(set(lead_ids))
    reached = []
    for person in staff_with(session, roles) if wanted else []:
        seen = (
            wanted
            if dealer_wide(person)
            else list(
                session.scalars(
                    select(Lead.id)
                    .where(Lead.id.in_(wanted), visible_leads(person))
                    .order_by(Lead.id)
                )
            )
        )
        if seen:
            reached.append((person, seen))
    return reached


def visible_violations(
    session: Session, user: User, violations: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The loop audit's violations about leads ``user`` sees; a violation naming several
    leads (a customer's two open leads) names only those."""
    found = list(violations)
    if dealer_wide(user):
        return found
    named = {i for v in found for i in v.get("lead_ids", [v.get("lead_id")]) if i is not None}
    seen = set(
        session.scalars(select(Lead.id).where(Lead.id.in_(named), visible_leads(user)))
        if named
        else []
    )
    shown = []
    for violation in found:
        if "lead_ids" in violation:
            ids = [i for i in violation["lead_ids"] if i in seen]
            if ids:
                shown.append({**violation, "lead_ids": ids})
        elif violation.get("lead_id") in seen:
            shown.append(violation)
    return shown


# --- phone numbers -------------------------------------------------------------------------


def shows_full_phone(user: User | None) -> bool:
    """Those who dial see numbers in full; consultants, clerks and strangers see them masked."""
    return user is not None and user.role in FULL_PHONE


def phone_for(
    user: User | None, e164: str | None, *, national: bool = False, owner_id: int | None = None
) -> str:
    """A number as ``user`` may read it: in full (E.164, or national for pages) or masked.

    ``owner_id`` is who owns the lead or customer the number belongs to: its owner (a
    consultant, say) reads it in full whatever the role."""
    if not e164:
        return ""
    own = user is not None and owner_id is not None and owner_id == user.id
    if not (own or shows_full_phone(user)):
        return phones.mask(e164)
    return phones.national(e164) if national else e164
