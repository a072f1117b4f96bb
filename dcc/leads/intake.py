"""Intake from any channel: one customer per phone, one open lead per customer.

A known phone never creates a second customer. A new enquiry from a customer with an open
lead is recorded as a touch on that lead (a dormant lead wakes up). A customer whose last car
was delivered starts a repurchase (续购) lead.

Every web lead and hotline call passes through here, so the common cases talk to the database
in the prebuilt statements of :mod:`dcc.leads.intake_sql` (one lookup, then only the writes);
the rare ones (a dormant lead waking, a second number) use the ORM.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.orm import Session

from dcc import audit, clock, phones
from dcc.customers import service as customers
from dcc.customers.models import Customer, CustomerKind
from dcc.errors import Conflict, ValidationError
from dcc.jobs import hooks
from dcc.leads import assignment, followups, rules
from dcc.leads import intake_sql as sql
from dcc.leads.assignment import Owner
from dcc.leads.models import Channel, FollowUpStatus, Grade, Lead, LeadStatus, ValueTier
from dcc.leads.sources import SourceRef
from dcc.notifications import notify
from dcc.users.models import User

#: The customer a number identifies and its open lead, as :data:`intake_sql.CUSTOMER_BY_PHONE`
#: reads them.
Found = Row[*tuple[Any, ...]]


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
    """What the intake did. ``lead`` and ``customer`` are loaded from the session on first use."""

    session: Session = field(repr=False)
    lead_id: int
    customer_id: int
    duplicate: bool  # the phone was already known
    new_lead: bool  # False when the enquiry became a touch on an open lead
    owner_id: int | None  # the lead's owner

    @cached_property
    def lead(self) -> Lead:
        return self.session.get_one(Lead, self.lead_id)

    @cached_property
    def customer(self) -> Customer:
        return self.session.get_one(Customer, self.customer_id)


def receive(
    session: Session,
    data: LeadInput,
    *,
    source: SourceRef | None = None,
    region: str = "CN",
    actor: User | None = None,
) -> IntakeResult:
    """Record an enquiry: find or create the customer, then attach to or open a lead.

    Raises :class:`~dcc.errors.InvalidPhoneNumber` naming ``phone`` (or ``alt_phone``)
    before anything is written. Only writes within the caller's transaction.
    """
    phone = phones.normalize(data.phone, region, field="phone")
    alt_phone = (
        phones.normalize(data.alt_phone, region, field="alt_phone") if data.alt_phone else None
    )
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        raise ValidationError("user.not_found", field="owner_id", user=data.owner_id)
    now = clock.now()
    channel = data.channel or (source.channel if source is not None else None)
    if channel is None:
        raise ValidationError("field.required", field="channel")

    session.flush()  # the statements below read what the caller has added
    conn = session.connection()
    found = _lookup(conn, phone)
    if found is None:
        first = _first_enquiry(session, conn, data, phone, alt_phone, channel, source, now, actor)
        if first is not None:
            return first
        # Another enquiry from this new number (a second call, a clerk and a portal at once)
        # was written first; the number is known now and this enquiry joins that customer.
        found = _lookup(conn, phone)
        if found is None:
            raise Conflict("intake.phone_changed_hands", field="phone")
    customer_id = found.id
    if alt_phone and alt_phone != phone:
        customers.add_phone(session, session.get_one(Customer, customer_id), alt_phone)

    if found.lead_id is not None:
        return _touch_open_lead(session, conn, found, data, channel, source, now)

    owner = _choose_owner(session, data, found.owner_id, channel, source)
    customer_fill = _customer_fill(found, data, now, owner_id=owner.id if owner else None)
    if customer_fill is not None:
        conn.execute(sql.COMPLETE_CUSTOMER, customer_fill)
    _forget(session, Customer, customer_id)
    # Only a customer we knew can have bought here before (a repurchase, 续购).
    opened = _open_lead(
        session,
        conn,
        data,
        channel,
        source,
        now,
        owner,
        customer_id=customer_id,
        repurchase=bool(found.bought_here),
    )
    assert opened is not None  # only a new customer's number can have been taken
    return _opened(session, opened[0], customer_id, owner, channel, actor, known=True)


def _touch_open_lead(
    session: Session,
    conn: Connection,
    found: Found,
    data: LeadInput,
    channel: Channel,
    source: SourceRef | None,
    now: dt.datetime,
) -> IntakeResult:
    """A known customer with an open lead: the enquiry is a touch on that lead."""
    lead_id = found.lead_id
    sql.write_touch(
        conn,
        touch={"lead_id": lead_id, **_touch(data, channel, source, now)},
        customer_fill=_customer_fill(found, data, now, owner_id=None),
        lead_fill=_lead_fill(found, data, now),
    )
    _forget(session, Customer, found.id)
    _forget(session, Lead, lead_id)
    if found.lead_status == LeadStatus.DORMANT:
        _wake(session, session.get_one(Lead, lead_id), channel, now)
    owner_id = found.lead_owner_id
    return IntakeResult(
        session, lead_id, found.id, duplicate=True, new_lead=False, owner_id=owner_id
    )


def _lookup(conn: Connection, phone: str) -> Found | None:
    """The customer ``phone`` identifies (the survivor, when it was merged) and its open lead."""
    found: Found | None = conn.execute(sql.CUSTOMER_BY_PHONE, {"phone": phone}).first()
    seen: set[int] = set()
    while found is not None and found.merged_into_id is not None:
        seen.add(found.id)
        if found.merged_into_id in seen:  # a cycle would be a bug elsewhere; stop rather than spin
            break
        found = conn.execute(sql.CUSTOMER_BY_ID, {"customer_id": found.merged_into_id}).first()
    return found


def _first_enquiry(
    session: Session,
    conn: Connection,
    data: LeadInput,
    phone: str,
    alt_phone: str | None,
    channel: Channel,
    source: SourceRef | None,
    now: dt.datetime,
    actor: User | None,
) -> IntakeResult | None:
    """A number never seen: the customer, its numbers and its lead. None, with nothing
    written, when a concurrent intake has written the number since it was looked up."""
    if (
        alt_phone
        and alt_phone != phone
        and conn.execute(sql.PHONE_TAKEN, {"phone": alt_phone}).scalar()
    ):
        alt_phone = None  # that number already identifies someone else; keep them apart
    owner = _choose_owner(session, data, None, channel, source)
    customer = {
        "phone": phone,
        "name": data.name.strip(),
        "kind": CustomerKind.INDIVIDUAL,
        "email": data.email,
        "city": data.city,
        "consent_at": now if data.consent else None,
        "owner_id": owner.id if owner else None,
        "do_not_call": False,
        "created_at": now,
    }
    opened = _open_lead(session, conn, data, channel, source, now, owner, new_customer=customer)
    if opened is None:
        return None
    lead_id, customer_id = opened
    if alt_phone and alt_phone != phone:
        conn.execute(
            sql.INSERT_PHONE,
            {
                "customer_id": customer_id,
                "phone": alt_phone,
                "is_primary": False,
                "created_at": now,
            },
        )
    return _opened(session, lead_id, customer_id, owner, channel, actor, known=False)


def _opened(
    session: Session,
    lead_id: int,
    customer_id: int,
    owner: Owner | None,
    channel: Channel,
    actor: User | None,
    *,
    known: bool,
) -> IntakeResult:
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.id,
            action="lead.create",
            entity="lead",
            entity_id=lead_id,
            channel=channel.value,
        )
    owner_id = owner.id if owner else None
    return IntakeResult(
        session, lead_id, customer_id, duplicate=known, new_lead=True, owner_id=owner_id
    )


def _choose_owner(
    session: Session,
    data: LeadInput,
    known_owner_id: int | None,
    channel: Channel,
    source: SourceRef | None,
) -> Owner | None:
    """The owner named by the caller (a consultant's own walk-in), else by the rules."""
    if data.owner_id is not None:
        named = session.get_one(User, data.owner_id)
        return Owner(named.id, named.team_id)
    team_id = source.team_id if source else None
    return assignment.choose_owner(
        session, known_owner_id=known_owner_id, channel=channel, team_id=team_id
    )


def _open_lead(
    session: Session,
    conn: Connection,
    data: LeadInput,
    channel: Channel,
    source: SourceRef | None,
    now: dt.datetime,
    owner: Owner | None,
    *,
    new_customer: dict[str, Any] | None = None,
    customer_id: int | None = None,
    repurchase: bool = False,
) -> tuple[int, int] | None:
    """Write a new lead with its first follow-up and touch (and ``new_customer``, when the
    number is new); returns the lead's and the customer's ids, or None when
    ``new_customer``'s number was written by a concurrent intake (nothing is written)."""
    sub_source = data.sub_source or (source.sub_source if source else None)
    if repurchase:
        sub_source = sub_source or "续购"
    team_id = (source.team_id if source else None) or (owner.team_id if owner else None)
    owner_id = owner.id if owner else None
    lead = {
        "customer_id": customer_id,
        "source_id": source.id if source else None,
        "channel": channel,
        "sub_source": sub_source,
        "value_tier": data.value_tier or rules.value_tier_for(channel),
        "grade": data.grade or rules.grade_for_timeframe(data.purchase_timeframe),
        "status": LeadStatus.NEW,
        "owner_id": owner_id,
        "team_id": team_id,
        "external_id": data.external_id,
        "brand": data.brand,
        "series": data.series,
        "model": data.model,
        "model_year": data.model_year,
        "budget": data.budget,
        "purchase_timeframe": data.purchase_timeframe,
        "comments": data.comments,
        "is_repurchase": repurchase,
        "attempt_count": 0,
        # A new lead's first contact is due now (speed-to-lead), whatever its grade: the
        # follow-up is on the owner's worklist at once, so it needs no reminder job.
        "next_action": "首次联系",
        "next_action_at": now,
        "created_at": now,
        "updated_at": now,
    }
    follow_up = {
        "owner_id": owner_id,
        "due_at": now,
        "by_rule": False,
        "status": FollowUpStatus.OPEN,
        "created_at": now,
    }
    written = sql.write_new_lead(
        conn,
        customer=new_customer,
        lead=lead,
        follow_up=follow_up,
        touch=_touch(data, channel, source, now),
    )
    if written is not None:
        hooks.lead_received(session, lead_id=written[0], channel=channel)
    return written


def _touch(
    data: LeadInput, channel: Channel, source: SourceRef | None, now: dt.datetime
) -> dict[str, Any]:
    """A touch row (without its lead): what this enquiry said."""
    details = {k: v for k, v in data.details.items() if v is not None}
    for key in ("brand", "series", "model", "budget", "purchase_timeframe", "external_id"):
        value = getattr(data, key)
        if value:
            details[key] = value
    return {
        "channel": channel,
        "source_id": source.id if source else None,
        "note": data.comments,
        "details": details,
        "created_at": now,
    }


def _customer_fill(
    found: Found, data: LeadInput, now: dt.datetime, *, owner_id: int | None
) -> dict[str, Any] | None:
    """What the customer record lacks and this enquiry tells (None: nothing); the statement
    fills only empty fields, so it never overwrites what an agent already knows."""
    fill = {
        "new_name": data.name.strip() if not found.name else None,
        "new_email": data.email if found.email is None else None,
        "new_city": data.city if found.city is None else None,
        "new_consent_at": now if data.consent and found.consent_at is None else None,
        "new_owner_id": owner_id if found.owner_id is None else None,
    }
    return {"fill_customer_id": found.id, **fill} if any(fill.values()) else None


def _lead_fill(found: Found, data: LeadInput, now: dt.datetime) -> dict[str, Any] | None:
    """What the open lead lacks and this enquiry tells (None: nothing)."""
    fill = {
        f"new_{key}": getattr(data, key) if getattr(found, key) is None else None
        for key in sql.COMPLETABLE
    }
    if all(value is None for value in fill.values()):
        return None
    return {"fill_lead_id": found.lead_id, "new_updated_at": now, **fill}


def _wake(session: Session, lead: Lead, channel: Channel, now: dt.datetime) -> None:
    """休眠 leads wake on any new contact and go back to their owner's worklist."""
    lead.status = LeadStatus.CONTACTING
    followups.schedule(session, lead, due_at=now)
    if lead.owner_id is not None:
        notify(
            session,
            lead.owner_id,
            "lead_reopened",
            "休眠客户重新联系",
            lead_id=lead.id,
            channel=channel.value,
        )


def _forget(session: Session, model: type[Any], ident: int) -> None:
    """Written around the ORM: a copy the session already holds is reloaded on next use."""
    held = session.identity_map.get(session.identity_key(model, ident))
    if held is not None:
        session.expire(held)
