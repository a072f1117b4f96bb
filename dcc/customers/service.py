"""Customers: lookup by any number, creation, alternative phones, merge and fleet upgrade."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from dcc import access, audit
from dcc.calls.models import Call
from dcc.customers.models import Customer, CustomerKind, CustomerPhone
from dcc.errors import MergeRefused, NotFound, ValidationError
from dcc.leads import closing
from dcc.leads.closing import CloseReason
from dcc.leads.models import OPEN_STATUSES, Lead, LeadStatus, LeadTouch
from dcc.sales.models import Order, ShowroomVisit
from dcc.users.models import User


def find_by_phone(session: Session, e164: str) -> Customer | None:
    """The customer this number identifies, following merges to the survivor."""
    customer = session.scalar(
        select(Customer).join(CustomerPhone).where(CustomerPhone.phone == e164)
    )
    return survivor_of(session, customer) if customer else None


def survivor_of(session: Session, customer: Customer) -> Customer:
    seen = {customer.id}
    while customer.merged_into_id is not None:
        customer = session.get_one(Customer, customer.merged_into_id)
        if customer.id in seen:  # a cycle would be a bug elsewhere; stop rather than spin
            break
        seen.add(customer.id)
    return customer


def add_phone(session: Session, customer: Customer, e164: str) -> bool:
    """Attach another number to ``customer``; False when it already identifies someone."""
    if session.scalar(select(exists().where(CustomerPhone.phone == e164))):
        return False
    session.add(CustomerPhone(customer_id=customer.id, phone=e164))
    session.flush()
    return True


def get(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer.not_found", field="customer_id", customer=customer_id)
    return customer


def upgrade_to_fleet(session: Session, customer: Customer, *, actor: User) -> None:
    """Mark a customer as a fleet buyer (批售客户): a manager whose team has all its leads."""
    access.check_may_manage_customer(session, actor, customer)
    if customer.kind == CustomerKind.FLEET:
        return
    customer.kind = CustomerKind.FLEET
    _record(session, actor, "customer.fleet", customer)


def _has_order(session: Session, customer: Customer) -> bool:
    return bool(session.scalar(select(exists().where(Order.customer_id == customer.id))))


def merge(
    session: Session, survivor: Customer, duplicates: list[Customer], *, actor: User
) -> Customer:
    """Fold ``duplicates`` into ``survivor``: leads, calls, visits and numbers move over.

    Only individual customers without orders may be merged (the deck's rule), by a manager
    whose team has every lead of each (:func:`dcc.access.check_may_manage_customer`). The
    survivor keeps at most one open lead: any other open lead that moves over is closed as a
    duplicate, its open work canceled, and recorded as a touch on the survivor's open lead.
    """
    if not duplicates:
        raise ValidationError("merge.nothing", field="customer_ids")
    for customer in [survivor, *duplicates]:
        access.check_may_manage_customer(session, actor, customer)
    for customer in [survivor, *duplicates]:
        if customer.merged_into_id is not None:
            raise MergeRefused("merge.already_merged", field="customer_ids", customer=customer.id)
        if customer.kind == CustomerKind.FLEET:
            raise MergeRefused("merge.fleet", field="customer_ids", customer=customer.id)
        if _has_order(session, customer):
            raise MergeRefused("merge.has_order", field="customer_ids", customer=customer.id)
    if any(d.id == survivor.id for d in duplicates):
        raise ValidationError("merge.into_itself", field="customer_ids")

    ids = [d.id for d in duplicates]
    session.execute(update(Lead).where(Lead.customer_id.in_(ids)).values(customer_id=survivor.id))
    session.execute(update(Call).where(Call.customer_id.in_(ids)).values(customer_id=survivor.id))
    session.execute(
        update(ShowroomVisit)
        .where(ShowroomVisit.customer_id.in_(ids))
        .values(customer_id=survivor.id)
    )
    session.execute(
        update(CustomerPhone)
        .where(CustomerPhone.customer_id.in_(ids))
        .values(customer_id=survivor.id, is_primary=False)
    )
    for duplicate in duplicates:
        duplicate.merged_into_id = survivor.id
        survivor.name = survivor.name or duplicate.name
        survivor.email = survivor.email or duplicate.email
        survivor.city = survivor.city or duplicate.city
        survivor.do_not_call = survivor.do_not_call or duplicate.do_not_call
    session.flush()
    session.expire_all()  # the bulk updates moved rows under loaded collections
    _keep_one_open_lead(session, survivor)
    _record(session, actor, "customer.merge", survivor, merged=ids)
    session.flush()
    return survivor


def keep_one_open_lead(session: Session, customer: Customer, *, actor: User) -> None:
    """One open lead per customer: the most advanced stays, the others close as duplicates
    (their open work released) and become touches on it. The loop check's fix for a customer
    with two open leads, audited; a merge's last step."""
    access.check_may_manage_customer(session, actor, customer)
    _keep_one_open_lead(session, customer)
    _record(session, actor, "customer.keep_one_open_lead", customer)


def _keep_one_open_lead(session: Session, customer: Customer) -> None:
    open_leads = session.scalars(
        select(Lead)
        .where(Lead.customer_id == customer.id, Lead.status.in_(OPEN_STATUSES))
        .order_by(Lead.created_at, Lead.id)
    ).all()
    if len(open_leads) <= 1:
        return
    # The most advanced open lead survives; ties go to the oldest.
    order = [s for s in LeadStatus]
    keeper = max(open_leads, key=lambda lead: (order.index(lead.status), -lead.id))
    for lead in open_leads:
        if lead is keeper:
            continue
        lead.status = LeadStatus.DUPLICATE
        closing.release_open_work(session, lead, reason=CloseReason.MERGED)
        session.add(
            LeadTouch(
                lead_id=keeper.id,
                channel=lead.channel,
                source_id=lead.source_id,
                note=f"merged lead {lead.id}",
                details={"merged_lead_id": lead.id},
            )
        )


def _record(session: Session, actor: User, action: str, customer: Customer, **details: Any) -> None:
    """An audit entry on ``customer`` by ``actor``."""
    audit.record(
        session,
        actor_id=actor.id,
        action=action,
        entity="customer",
        entity_id=customer.id,
        **details,
    )
