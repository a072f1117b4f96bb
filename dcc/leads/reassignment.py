"""Reassignment (重新分配): a manager gives a lead to another owner.

One use case for every door: the API's ``POST /leads/<id>/reassign``, the customer list's bulk
action, the escalation queues' per-lead form. The lead, its customer, its open follow-ups and
pending callbacks go to the new owner; the lead leaves any escalation queue (no-show, or
unreachable: the new owner gets a fresh round of attempts); a lead left with nothing planned
gets a follow-up due now, so it is on the new owner's worklist at once. A customer whose last
lead was confirmed lost gets a fresh lead instead (战败客户重新分配).

Only a manager who sees the lead reassigns it, and a team's manager only to the team's agents
and consultants (:mod:`dcc.access`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, audit, clock
from dcc.customers import listing
from dcc.customers.models import Customer
from dcc.errors import DCCError, InvalidTransition, ValidationError
from dcc.leads import followups, manager
from dcc.leads.models import OPEN_STATUSES, Grade, Lead, LeadStatus
from dcc.users.models import User


def check_owner(session: Session, new_owner: User, *, actor: User) -> None:
    """``new_owner`` can take leads (active, a DCC agent or a consultant) from ``actor`` (of
    the team, for a team's manager): :func:`dcc.access.check_may_give_to`."""
    access.check_may_give_to(session, actor, new_owner)


def reassign(session: Session, lead: Lead, new_owner: User, *, actor: User) -> None:
    """Give the open ``lead`` and its open work to ``new_owner`` (see the module's docstring).

    Audited as ``lead.reassign`` (:data:`dcc.access.REASSIGNED`), and
    ``lead.escalation.clear`` when it left a queue.
    """
    access.check_may_manage_lead(session, actor, lead, "lead.only_manager_reassigns")
    check_owner(session, new_owner, actor=actor)
    _move(session, lead, new_owner, actor_id=actor.id)


def give_to_ready_agent(session: Session, lead: Lead, new_owner: User, *, reason: str) -> None:
    """The dealer's rules, not a manager, give the open ``lead`` to ``new_owner``: a new lead
    whose owner is busy goes to the teammate who is ready to call it now (see
    :mod:`dcc.calls.ready`). The same move as :func:`reassign`, audited as ``lead.reassign``
    with no actor and the ``reason`` the manager reads in the lead's history.
    """
    if not new_owner.is_active:
        raise ValidationError("lead.owner_inactive", field="owner_id", user=new_owner.login)
    if new_owner.role not in access.LEAD_OWNERS:
        raise ValidationError("lead.owner_cannot_own", field="owner_id", user=new_owner.login)
    _move(session, lead, new_owner, actor_id=None, reason=reason)


def _move(
    session: Session, lead: Lead, new_owner: User, *, actor_id: int | None, **why: str
) -> None:
    if not lead.is_open:
        raise InvalidTransition("lead.closed", field="status", lead=lead.id, status=lead.status)
    previous_owner, escalation = lead.owner_id, lead.escalation
    lead.owner_id = new_owner.id
    lead.team_id = new_owner.team_id or lead.team_id
    lead.customer.owner_id = new_owner.id
    followups.retarget_open_work(session, lead, new_owner)
    audit.record(
        session,
        actor_id=actor_id,
        action=access.REASSIGNED,
        entity="lead",
        entity_id=lead.id,
        previous_owner_id=previous_owner,
        new_owner_id=new_owner.id,
        **why,
    )
    if escalation is not None:
        # escalated_at now says when the lead left the queue: the attempt policy counts the
        # new owner's unanswered calls from here, not the old owner's.
        lead.escalation, lead.escalated_at = None, clock.now()
        audit.record(
            session,
            actor_id=actor_id,
            action="lead.escalation.clear",
            entity="lead",
            entity_id=lead.id,
            escalation=escalation,
        )
    if not followups.open_follow_ups(session, lead):
        followups.schedule(session, lead, due_at=clock.now())
    session.flush()


@dataclass
class Reassigned:
    """What a bulk reassignment did: the leads moved, each refusal with its reason, the lost
    customers reopened with a fresh lead, and the customers with nothing to reassign."""

    moved: list[Lead] = field(default_factory=list)
    refused: list[tuple[Lead, DCCError]] = field(default_factory=list)
    reopened: list[Lead] = field(default_factory=list)
    nothing_open: list[Customer] = field(default_factory=list)


def reassign_many(
    session: Session, leads: Iterable[Lead], new_owner: User, *, actor: User
) -> Reassigned:
    """:func:`reassign` each lead; one that cannot move (closed) is skipped and reported.

    Each lead moves in its own savepoint, so a refusal leaves no half-done change behind; a
    new owner who cannot take leads (or an actor who may not reassign) refuses the whole request.
    """
    access.require(actor, access.MANAGING, "lead.only_manager_reassigns")
    check_owner(session, new_owner, actor=actor)
    result = Reassigned()
    for lead in leads:
        try:
            with session.begin_nested():
                reassign(session, lead, new_owner, actor=actor)
        except DCCError as error:
            result.refused.append((lead, error))
        else:
            result.moved.append(lead)
    return result


def reassign_customers(
    session: Session, customers: Iterable[Customer], new_owner: User, *, actor: User
) -> Reassigned:
    """The customer list's action: each customer's open lead (that ``actor`` may see) moves;
    a customer whose last lead was confirmed lost is reopened for ``new_owner``; the others
    are reported as having nothing to reassign."""
    chosen = list(customers)
    open_leads = {c.id: listing.open_lead(session, actor, c) for c in chosen}
    result = reassign_many(
        session, [lead for lead in open_leads.values() if lead is not None], new_owner, actor=actor
    )
    for customer in chosen:
        if open_leads[customer.id] is not None:
            continue
        lost = manager.latest_lost(session, customer.id)
        if lost is None or not access.may_see_lead(session, actor, lost.id):
            result.nothing_open.append(customer)
        else:
            result.reopened.append(reactivate_lost(session, lost, new_owner, actor=actor))
    return result


def reactivate_lost(session: Session, lead: Lead, new_owner: User, *, actor: User) -> Lead:
    """战败客户重新分配: a customer confirmed lost goes to another owner for a fresh try.

    The lost lead stays closed (its history and the lost statistics are kept); the customer
    gets a new lead owned by ``new_owner``, graded C (later than 3 months / unclear), with its
    first contact due now. Refused while the customer has an open lead: reassign that instead.
    """
    access.check_may_manage_lead(session, actor, lead, "lead.only_manager_reassigns")
    if lead.status != LeadStatus.LOST:
        raise InvalidTransition("lead.not_lost", field="status", lead=lead.id, status=lead.status)
    check_owner(session, new_owner, actor=actor)
    open_lead = session.scalar(
        select(Lead.id).where(Lead.customer_id == lead.customer_id, Lead.status.in_(OPEN_STATUSES))
    )
    if open_lead is not None:
        raise InvalidTransition("lead.customer_has_open_lead", field="lead_id", lead=open_lead)
    now = clock.now()
    fresh = Lead(
        customer_id=lead.customer_id,
        source_id=lead.source_id,
        channel=lead.channel,
        sub_source="战败再激活",
        value_tier=lead.value_tier,
        grade=Grade.C,
        status=LeadStatus.NEW,
        owner_id=new_owner.id,
        team_id=new_owner.team_id or lead.team_id,
        brand=lead.brand,
        series=lead.series,
        model=lead.model,
        model_year=lead.model_year,
        budget=lead.budget,
        created_at=now,
        next_action="首次联系",
        next_action_at=now,
    )
    session.add(fresh)
    session.flush()
    followups.schedule(session, fresh, due_at=now)
    lead.customer.owner_id = new_owner.id
    audit.record(
        session,
        actor_id=actor.id,
        action="lead.reactivate",
        entity="lead",
        entity_id=fresh.id,
        lost_lead_id=lead.id,
        new_owner_id=new_owner.id,
    )
    return fresh
