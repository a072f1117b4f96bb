"""Intake from any channel: one customer per phone, one open lead per customer.

A known phone never creates a second customer. A new enquiry from a customer with an open
lead is recorded as a touch on that lead (a dormant lead wakes up). A customer whose last car
was delivered starts a repurchase (续购) lead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from dcc import audit, clock, phones
from dcc.customers import service as customers
from dcc.customers.models import Customer, CustomerPhone
from dcc.errors import ValidationError
from dcc.jobs import hooks
from dcc.leads import assignment, followups, rules
from dcc.leads.models import (
    OPEN_STATUSES,
    Channel,
    Grade,
    Lead,
    LeadSource,
    LeadStatus,
    LeadTouch,
    ValueTier,
)
from dcc.notifications import notify
from dcc.users.models import User


@dataclass
class LeadInput:
    """What any channel tells us about an enquiry. Only ``phone`` is required."""

    phone: str
    channel: Channel | None = None  # None: the source's channel
    name: str = ""
    alt_phone: str | None = None
    email: str | None = None
    city: str | None = None
    brand: str | None = None
    series: str | None = None
    model: str | None = None
    model_year: int | None = None
    budget: str | None = None
    purchase_timeframe: str | None = None
    grade: Grade | None = None
    value_tier: ValueTier | None = None
    comments: str | None = None
    consent: bool = False
    external_id: str | None = None
    sub_source: str | None = None
    owner_id: int | None = None  # a walk-in is owned by the consultant who received it
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class IntakeResult:
    lead: Lead
    customer: Customer
    duplicate: bool  # the phone was already known
    new_lead: bool  # False when the enquiry became a touch on an open lead
    touch: LeadTouch


def receive(
    session: Session,
    data: LeadInput,
    *,
    source: LeadSource | None = None,
    region: str = "CN",
    actor: User | None = None,
) -> IntakeResult:
    """Record an enquiry: find or create the customer, then attach to or open a lead.

    Raises :class:`~dcc.errors.InvalidPhoneNumber` naming ``phone`` (or ``alt_phone``)
    before anything is written.
    """
    phone = phones.normalize(data.phone, region, field="phone")
    alt_phone = (
        phones.normalize(data.alt_phone, region, field="alt_phone") if data.alt_phone else None
    )
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        raise ValidationError(f"no user {data.owner_id}", field="owner_id")
    now = clock.now()
    channel = data.channel or (source.channel if source is not None else None)
    if channel is None:
        raise ValidationError("channel is required", field="channel")

    customer = customers.find_by_phone(session, phone)
    if customer is None:
        return _first_enquiry(session, data, phone, alt_phone, channel, source, now, actor)
    _complete_customer(customer, data)
    if data.consent and customer.consent_at is None:
        customer.consent_at = now
    if alt_phone and alt_phone != phone:
        customers.add_phone(session, customer, alt_phone)

    open_lead = session.scalar(
        select(Lead)
        .where(Lead.customer_id == customer.id, Lead.status.in_(OPEN_STATUSES))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(1)
    )
    if open_lead is not None:
        touch = _touch(session, open_lead, data, channel, source)
        if open_lead.status == LeadStatus.DORMANT:
            # 休眠 leads wake on any new contact and go back to their owner's worklist.
            open_lead.status = LeadStatus.CONTACTING
            followups.schedule(session, open_lead, due_at=now)
            if open_lead.owner_id is not None:
                notify(
                    session,
                    open_lead.owner_id,
                    "lead_reopened",
                    "休眠客户重新联系",
                    lead_id=open_lead.id,
                    channel=channel.value,
                )
        _complete_lead(open_lead, data)
        session.flush()
        return IntakeResult(open_lead, customer, duplicate=True, new_lead=False, touch=touch)

    owner = _choose_owner(session, data, customer, channel, source)
    lead = _open_lead(session, customer, data, channel, source, now, owner=owner, known=True)
    return _opened(session, lead, customer, data, channel, source, actor, known=True)


def _first_enquiry(
    session: Session,
    data: LeadInput,
    phone: str,
    alt_phone: str | None,
    channel: Channel,
    source: LeadSource | None,
    now: dt.datetime,
    actor: User | None,
) -> IntakeResult:
    """A number never seen: the customer, its numbers and its lead go in one flush."""
    if alt_phone and alt_phone != phone and customers.find_by_phone(session, alt_phone):
        alt_phone = None  # that number already identifies someone else; keep them apart
    # Every query comes before anything is added, so the inserts go out in one flush.
    owner = _choose_owner(session, data, None, channel, source)
    customer = customers.create(
        session,
        phone=phone,
        name=data.name.strip(),
        email=data.email,
        city=data.city,
        consent_at=now if data.consent else None,
        owner_id=owner.id if owner else None,
        flush=False,
    )
    if alt_phone and alt_phone != phone:
        customer.phones.append(CustomerPhone(phone=alt_phone))
    lead = _open_lead(session, customer, data, channel, source, now, owner=owner, known=False)
    return _opened(session, lead, customer, data, channel, source, actor, known=False)


def _opened(
    session: Session,
    lead: Lead,
    customer: Customer,
    data: LeadInput,
    channel: Channel,
    source: LeadSource | None,
    actor: User | None,
    *,
    known: bool,
) -> IntakeResult:
    touch = _touch(session, lead, data, channel, source)
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.id,
            action="lead.create",
            entity="lead",
            entity_id=lead.id,
            channel=channel.value,
        )
    session.flush()
    return IntakeResult(lead, customer, duplicate=known, new_lead=True, touch=touch)


def _choose_owner(
    session: Session,
    data: LeadInput,
    customer: Customer | None,
    channel: Channel,
    source: LeadSource | None,
) -> User | None:
    """The owner named by the caller (a consultant's own walk-in), else by the rules."""
    if data.owner_id is not None:
        return session.get(User, data.owner_id)
    team_id = source.team_id if source else None
    return assignment.choose_owner(session, customer=customer, channel=channel, team_id=team_id)


def _open_lead(
    session: Session,
    customer: Customer,
    data: LeadInput,
    channel: Channel,
    source: LeadSource | None,
    now: dt.datetime,
    *,
    owner: User | None,
    known: bool,
) -> Lead:
    # Only a customer we knew can have bought here before; a new one spares the query.
    repurchase = known and _has_delivered_order(session, customer)
    grade = data.grade or rules.grade_for_timeframe(data.purchase_timeframe)
    team_id = source.team_id if source else None
    lead = Lead(
        customer=customer,
        source=source,
        channel=channel,
        sub_source=data.sub_source or (source.sub_source if source else None),
        value_tier=data.value_tier or rules.value_tier_for(channel),
        grade=grade,
        status=LeadStatus.NEW,
        external_id=data.external_id,
        brand=data.brand,
        series=data.series,
        model=data.model,
        model_year=data.model_year,
        budget=data.budget,
        purchase_timeframe=data.purchase_timeframe,
        comments=data.comments,
        is_repurchase=repurchase,
        team_id=team_id,
        created_at=now,
        # The first contact is due now (speed-to-lead), whatever the grade.
        next_action="首次联系",
        next_action_at=now,
    )
    if repurchase:
        lead.sub_source = lead.sub_source or "续购"
    if owner is not None:
        lead.owner_id = owner.id
        lead.team_id = lead.team_id or owner.team_id
        customer.owner_id = customer.owner_id or owner.id
    session.add(lead)
    session.flush()
    # A new lead's first contact is due now (speed-to-lead), whatever its grade.
    followups.schedule(session, lead, due_at=now)
    hooks.lead_received(session, lead)
    return lead


def _touch(
    session: Session,
    lead: Lead,
    data: LeadInput,
    channel: Channel,
    source: LeadSource | None,
) -> LeadTouch:
    details = {k: v for k, v in data.details.items() if v is not None}
    for key in ("brand", "series", "model", "budget", "purchase_timeframe", "external_id"):
        value = getattr(data, key)
        if value:
            details[key] = value
    # By id, not ``lead=``: the backref would load every earlier touch just to append one.
    touch = LeadTouch(
        lead_id=lead.id,
        channel=channel,
        source_id=source.id if source else None,
        note=data.comments,
        details=details,
    )
    session.add(touch)
    return touch


def _complete_customer(customer: Customer, data: LeadInput) -> None:
    """Fill what the customer record lacks; never overwrite what an agent already knows."""
    customer.name = customer.name or data.name.strip()
    customer.email = customer.email or data.email
    customer.city = customer.city or data.city


def _complete_lead(lead: Lead, data: LeadInput) -> None:
    for key in ("brand", "series", "model", "model_year", "budget", "purchase_timeframe"):
        if getattr(lead, key) is None and getattr(data, key) is not None:
            setattr(lead, key, getattr(data, key))


def _has_delivered_order(session: Session, customer: Customer) -> bool:
    from dcc.sales.models import Order, OrderStatus

    return bool(
        session.scalar(
            select(
                exists().where(
                    Order.customer_id == customer.id, Order.status == OrderStatus.DELIVERED
                )
            )
        )
    )
