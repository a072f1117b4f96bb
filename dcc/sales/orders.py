"""Sales orders (销售订单) and delivery (交车): the end of the loop for a lead that buys.

- :func:`place` records the order on an arrived lead: the vehicle by VIN (check digit
  validated) or by the catalogue's brand -> series -> model -> configuration, price, deposit
  and the expected delivery date. The lead becomes O / ordered and is followed up by the
  grade O rule until delivery.
- :func:`deliver` hands the car over: the order and the lead are done, the customer owns the
  vehicle (保有客户), and anything the lead still had planned is released.
- :func:`cancel` withdraws an order with its reason: the lead goes back to follow-up.

The pages, the API and the CLI call these; each checks who may act
(:func:`dcc.access.check_may_order`: a consultant or a manager who sees the lead).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, audit, clock
from dcc.errors import InvalidTransition, ValidationError
from dcc.leads import closing, followups, lifecycle
from dcc.leads.closing import CloseReason
from dcc.leads.models import Grade, Lead, LeadStatus
from dcc.sales import catalogue, vin
from dcc.sales.models import Order, OrderStatus, Vehicle
from dcc.users.models import User

#: A price above this many yuan is a typing error, not a car.
MAX_YUAN = Decimal(100_000_000)
#: The grade a lead goes back to when its order is canceled: it was days from buying.
GRADE_AFTER_CANCEL = Grade.H


@dataclass
class OrderInput:
    """What an order says. Either ``vin``, or all four catalogue names."""

    vin: str | None = None
    brand: str | None = None
    series: str | None = None
    model: str | None = None
    configuration: str | None = None
    price: Decimal | None = None  # yuan
    deposit: Decimal | None = None  # yuan
    delivery_due: dt.date | None = None


def _check_actor(session: Session, actor: User, order: Order) -> Lead:
    lead = session.get_one(Lead, order.lead_id)
    access.check_may_order(session, actor, lead)
    return lead


def fen(amount: Decimal | None, field: str) -> int | None:
    """Yuan (up to two decimals) as whole fen; ValidationError naming ``field`` otherwise."""
    if amount is None:
        return None
    if amount < 0:
        raise ValidationError("field.negative", field=field)
    if amount > MAX_YUAN:
        raise ValidationError("field.too_many_yuan", field=field, max=MAX_YUAN)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValidationError("field.two_decimals", field=field)
    return int(cents)


def place(session: Session, lead: Lead, data: OrderInput, *, actor: User, timezone: str) -> Order:
    """Record an order on ``lead`` (which must have arrived; 409 otherwise)."""
    access.check_may_order(session, actor, lead)
    number = vin.normalize(data.vin) if data.vin and data.vin.strip() else None
    names = {
        "brand": data.brand,
        "series": data.series,
        "model": data.model,
        "configuration": data.configuration,
    }
    given = any((v or "").strip() for v in names.values())
    if number is None and not given:
        raise ValidationError("order.no_vehicle", field="vin")
    choice = catalogue.resolve(session, names) if given else None
    price, deposit = fen(data.price, "price"), fen(data.deposit, "deposit")
    if price is not None and deposit is not None and deposit > price:
        raise ValidationError("order.deposit_over_price", field="deposit")
    _check_due(data.delivery_due, timezone)
    lifecycle.move(lead, LeadStatus.ORDERED)
    lead.grade = Grade.O
    order = Order(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        consultant_id=actor.id,
        vin=number,
        brand=choice.brand if choice else None,
        series=choice.series if choice else None,
        model=choice.model if choice else None,
        configuration=choice.configuration if choice else None,
        price_fen=price,
        deposit_fen=deposit,
        delivery_due=data.delivery_due,
    )
    session.add(order)
    session.flush()
    # The plan before the order is void; grade O follows the buyer up until delivery.
    followups.cancel_open_work(session, lead)
    planned = followups.schedule(session, lead)
    if planned is not None:
        planned.purpose = "delivery"
    _record(session, actor, "order.create", order, lead_id=lead.id, vin=number)
    return order


def deliver(
    session: Session, order: Order, *, actor: User, delivered_at: dt.datetime | None = None
) -> Vehicle:
    """The car is handed over (交车): order and lead delivered, the customer owns the vehicle."""
    lead = _check_actor(session, actor, order)
    if order.status != OrderStatus.ORDERED:
        raise InvalidTransition(
            "order.not_open", field="status", order=order.id, status=order.status
        )
    now = clock.now()
    when = delivered_at or now
    if when > now:
        raise ValidationError("order.delivered_in_future", field="delivered_at")
    if when < order.ordered_at:
        raise ValidationError("order.delivered_before_order", field="delivered_at")
    lifecycle.move(lead, LeadStatus.DELIVERED)
    order.status, order.delivered_at = OrderStatus.DELIVERED, when
    vehicle = Vehicle(
        customer_id=order.customer_id,
        order_id=order.id,
        vin=order.vin,
        brand=order.brand,
        series=order.series,
        model=order.model,
        configuration=order.configuration,
        delivered_at=when,
    )
    session.add(vehicle)
    closing.release_open_work(session, lead, reason=CloseReason.DELIVERED, actor_id=actor.id)
    _record(session, actor, "order.deliver", order, lead_id=lead.id)
    session.flush()
    return vehicle


def cancel(session: Session, order: Order, *, actor: User, reason: str | None) -> None:
    """Withdraw the order with its reason; the lead goes back to follow-up, due now."""
    lead = _check_actor(session, actor, order)
    text = (reason or "").strip()
    if not text:
        raise ValidationError("order.no_cancel_reason", field="reason")
    if order.status != OrderStatus.ORDERED:
        raise InvalidTransition(
            "order.not_open", field="status", order=order.id, status=order.status
        )
    lifecycle.move(lead, LeadStatus.ARRIVED)
    lead.grade = GRADE_AFTER_CANCEL
    order.status, order.canceled_at, order.cancel_reason = (
        OrderStatus.CANCELED,
        clock.now(),
        text[:2000],
    )
    followups.cancel_open_work(session, lead)
    followups.schedule(session, lead, due_at=clock.now())
    _record(session, actor, "order.cancel", order, lead_id=lead.id, reason=text[:200])


def set_delivery_due(
    session: Session, order: Order, due: dt.date | None, *, actor: User, timezone: str
) -> None:
    """Set or move the expected delivery date of an open order."""
    _check_actor(session, actor, order)
    if order.status != OrderStatus.ORDERED:
        raise InvalidTransition(
            "order.not_open", field="status", order=order.id, status=order.status
        )
    if due is None:
        raise ValidationError("order.no_delivery_due", field="delivery_due")
    _check_due(due, timezone)
    order.delivery_due = due
    _record(session, actor, "order.delivery_due", order, delivery_due=due.isoformat())


def _check_due(due: dt.date | None, timezone: str) -> None:
    if due is not None and due < clock.local(clock.now(), timezone).date():
        raise ValidationError("order.delivery_due_past", field="delivery_due")


def for_lead(session: Session, lead_id: int) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.lead_id == lead_id).order_by(Order.id)))


def vehicles(session: Session, customer_id: int) -> list[Vehicle]:
    """The cars the customer owns from deliveries here, newest first."""
    return list(
        session.scalars(
            select(Vehicle)
            .where(Vehicle.customer_id == customer_id)
            .order_by(Vehicle.delivered_at.desc(), Vehicle.id.desc())
        )
    )


def _record(session: Session, actor: User, action: str, order: Order, **details: Any) -> None:
    """An audit entry on ``order`` by ``actor``."""
    audit.record(
        session, actor_id=actor.id, action=action, entity="order", entity_id=order.id, **details
    )
