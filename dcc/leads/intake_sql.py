"""The intake's statements, built once at import.

Every web lead and every hotline call goes through the intake, so its statements are Core
statements on the tables, built here once and executed with parameters: SQLAlchemy then skips
building, coercing and cache-keying a statement per call, which costs more than the database
round trip. Reads return plain rows; the ORM objects are loaded only when a caller asks.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from dcc.customers.models import Customer, CustomerPhone
from dcc.leads.models import OPEN_STATUSES, FollowUp, Lead, LeadTouch
from dcc.sales.models import Order, OrderStatus

customers = cast(Table, Customer.__table__)
customer_phones = cast(Table, CustomerPhone.__table__)
leads = cast(Table, Lead.__table__)
touches = cast(Table, LeadTouch.__table__)
follow_ups = cast(Table, FollowUp.__table__)
orders = cast(Table, Order.__table__)


def _new(column: KeyedColumnElement[Any]) -> BindParameter[Any]:
    """The parameter ``new_<column>``, typed like the column (dates stay UTC on SQLite)."""
    return bindparam(f"new_{column.key}", type_=column.type)


#: What a lead may learn from a later enquiry: filled when empty, never overwritten.
COMPLETABLE = ("brand", "series", "model", "model_year", "budget", "purchase_timeframe")

_open_lead_id = (
    select(leads.c.id)
    .where(leads.c.customer_id == customers.c.id, leads.c.status.in_(OPEN_STATUSES))
    .order_by(leads.c.created_at.desc(), leads.c.id.desc())
    .limit(1)
    .correlate(customers)
    .scalar_subquery()
)
_found = select(
    customers.c.id,
    customers.c.merged_into_id,
    customers.c.owner_id,
    customers.c.name,
    customers.c.email,
    customers.c.city,
    customers.c.consent_at,
    leads.c.id.label("lead_id"),
    leads.c.status.label("lead_status"),
    leads.c.owner_id.label("lead_owner_id"),
    *(leads.c[key] for key in COMPLETABLE),
)

#: The customer a number identifies, with its latest open lead (if any).
CUSTOMER_BY_PHONE = (
    _found.select_from(
        customer_phones.join(customers, customers.c.id == customer_phones.c.customer_id)
    )
    .outerjoin(leads, leads.c.id == _open_lead_id)
    .where(customer_phones.c.phone == bindparam("phone"))
)
#: The same by id: the survivor a merged customer points to.
CUSTOMER_BY_ID = (
    _found.select_from(customers)
    .outerjoin(leads, leads.c.id == _open_lead_id)
    .where(customers.c.id == bindparam("customer_id"))
)

PHONE_TAKEN = select(exists().where(customer_phones.c.phone == bindparam("phone")))

HAS_DELIVERED_ORDER = select(
    exists().where(
        orders.c.customer_id == bindparam("customer_id"),
        orders.c.status == OrderStatus.DELIVERED,
    )
)

#: Fill what the customer record lacks; what an agent already knows stays.
COMPLETE_CUSTOMER = (
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(
        name=case((customers.c.name == "", _new(customers.c.name)), else_=customers.c.name),
        email=func.coalesce(customers.c.email, _new(customers.c.email)),
        city=func.coalesce(customers.c.city, _new(customers.c.city)),
        consent_at=func.coalesce(customers.c.consent_at, _new(customers.c.consent_at)),
        owner_id=func.coalesce(customers.c.owner_id, _new(customers.c.owner_id)),
    )
)

COMPLETE_LEAD = (
    update(leads)
    .where(leads.c.id == bindparam("lead_id"))
    .values({key: func.coalesce(leads.c[key], _new(leads.c[key])) for key in COMPLETABLE})
)

INSERT_CUSTOMER = insert(customers).returning(customers.c.id)
INSERT_PHONE = insert(customer_phones)
INSERT_LEAD = insert(leads).returning(leads.c.id)
INSERT_TOUCH = insert(touches)
INSERT_FOLLOW_UP = insert(follow_ups)
