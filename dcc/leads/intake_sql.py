"""The intake's statements, built once at import.

Every web lead and every hotline call goes through the intake, so its statements are Core
statements on the tables, built here once and executed with parameters: SQLAlchemy then skips
building, coercing and cache-keying a statement per call, which costs more than the database
round trip. Reads return plain rows; the ORM objects are loaded only when a caller asks.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Connection,
    Insert,
    Select,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
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
    exists()
    .where(orders.c.customer_id == customers.c.id, orders.c.status == OrderStatus.DELIVERED)
    .label("bought_here"),
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

# The fills' parameters are named after no column of either table: with two UPDATEs in one
# statement, a parameter named like a column would be taken for a value to SET.

#: Fill what the customer record lacks; what an agent already knows stays.
COMPLETE_CUSTOMER = (
    update(customers)
    .where(customers.c.id == bindparam("fill_customer_id"))
    .values(
        # An empty name takes the new one, if any. The '' is inline: within a CTE, a
        # literal's bound parameter loses its value.
        name=func.coalesce(
            func.nullif(customers.c.name, literal_column("''")),
            _new(customers.c.name),
            customers.c.name,
        ),
        email=func.coalesce(customers.c.email, _new(customers.c.email)),
        city=func.coalesce(customers.c.city, _new(customers.c.city)),
        consent_at=func.coalesce(customers.c.consent_at, _new(customers.c.consent_at)),
        owner_id=func.coalesce(customers.c.owner_id, _new(customers.c.owner_id)),
    )
)

COMPLETE_LEAD = (
    update(leads)
    .where(leads.c.id == bindparam("fill_lead_id"))
    .values(
        {key: func.coalesce(leads.c[key], _new(leads.c[key])) for key in COMPLETABLE}
        | {"updated_at": _new(leads.c.updated_at)}
    )
)

INSERT_CUSTOMER = (
    sqlite.insert(customers)
    .on_conflict_do_nothing(index_elements=["phone"])
    .returning(customers.c.id)
)
INSERT_PHONE = insert(customer_phones)
INSERT_LEAD = insert(leads).returning(leads.c.id)
INSERT_TOUCH = insert(touches)
INSERT_FOLLOW_UP = insert(follow_ups)

# The rows of a new lead, as written by the intake, every column given (the statement of
# data-modifying CTEs below applies no Python-side defaults; tests/test_intake_sql.py fails
# when a column with one is missing here).
CUSTOMER_KEYS = (
    "phone",
    "name",
    "kind",
    "email",
    "city",
    "consent_at",
    "owner_id",
    "do_not_call",
    "created_at",
)
LEAD_KEYS = (
    "customer_id",
    "source_id",
    "channel",
    "sub_source",
    "value_tier",
    "grade",
    "status",
    "owner_id",
    "team_id",
    "external_id",
    "brand",
    "series",
    "model",
    "model_year",
    "budget",
    "purchase_timeframe",
    "comments",
    "is_repurchase",
    "attempt_count",
    "next_action",
    "next_action_at",
    "created_at",
    "updated_at",
)
PHONE_KEYS = ("customer_id", "phone", "is_primary", "created_at")
FOLLOW_UP_KEYS = ("lead_id", "owner_id", "due_at", "by_rule", "status", "created_at")
TOUCH_KEYS = ("lead_id", "channel", "source_id", "note", "details", "created_at")


def _row(table: Table, keys: tuple[str, ...], prefix: str, **given: Any) -> Select[Any]:
    """``SELECT :<prefix><key>, …`` typed like ``table``'s columns; ``given`` columns (an id
    returned by an earlier part of the statement) stand in for some of the parameters."""
    return select(
        *(given.get(key, bindparam(prefix + key, type_=table.c[key].type)) for key in keys)
    )


def _new_lead_in_one_statement(*, new_customer: bool) -> Select[Any]:
    """PostgreSQL: the lead, its first follow-up and its first touch, and for a new number the
    customer and its phone, written by one statement of data-modifying CTEs."""
    parts = []
    customer_id: dict[str, Any] = {}
    if new_customer:
        # A number another intake has just written (PostgreSQL waits for its commit) inserts
        # nothing, and so neither does the rest: the statement returns no row.
        customer = (
            postgresql.insert(customers)
            .from_select(
                CUSTOMER_KEYS, _row(customers, CUSTOMER_KEYS, "customer_"), include_defaults=False
            )
            .on_conflict_do_nothing(index_elements=["phone"])
            .returning(customers.c.id, customers.c.phone, customers.c.created_at)
            .cte("new_customer")
        )
        phone = insert(customer_phones).from_select(
            PHONE_KEYS,
            select(customer.c.id, customer.c.phone, true(), customer.c.created_at),
            include_defaults=False,
        )
        parts.append(phone.cte("new_phone"))
        customer_id = {"customer_id": customer.c.id}
    lead = (
        insert(leads)
        .from_select(
            LEAD_KEYS, _row(leads, LEAD_KEYS, "lead_", **customer_id), include_defaults=False
        )
        .returning(leads.c.id, leads.c.customer_id)
        .cte("new_lead")
    )
    for table, keys, name in (
        (follow_ups, FOLLOW_UP_KEYS, "follow_up"),
        (touches, TOUCH_KEYS, "touch"),
    ):
        row = _row(table, keys, f"{name}_", lead_id=lead.c.id)
        statement = insert(table).from_select(keys, row, include_defaults=False)
        parts.append(statement.cte(f"first_{name}"))
    return select(lead.c.id, lead.c.customer_id).add_cte(*parts)


NEW_LEAD = _new_lead_in_one_statement(new_customer=False)
NEW_CUSTOMER_LEAD = _new_lead_in_one_statement(new_customer=True)


@functools.cache
def _touch_in_one_statement(*, fill_customer: bool, fill_lead: bool) -> Insert:
    """PostgreSQL: a touch on an open lead, with the fills of the customer and the lead."""
    statement = insert(touches).values(
        {key: bindparam(f"touch_{key}", type_=touches.c[key].type) for key in TOUCH_KEYS}
    )
    fills = [COMPLETE_CUSTOMER.cte("filled_customer")] if fill_customer else []
    if fill_lead:
        fills.append(COMPLETE_LEAD.cte("filled_lead"))
    return statement.add_cte(*fills)


def write_touch(
    conn: Connection,
    *,
    touch: dict[str, Any],
    customer_fill: dict[str, Any] | None,
    lead_fill: dict[str, Any] | None,
) -> None:
    """Write a touch on an open lead (``touch`` has its ``lead_id``), with what the enquiry
    fills in of the customer (:data:`COMPLETE_CUSTOMER`'s parameters) and of the lead
    (:data:`COMPLETE_LEAD`'s); one statement on PostgreSQL, as :func:`write_new_lead`."""
    if conn.dialect.name == "postgresql":
        statement = _touch_in_one_statement(
            fill_customer=customer_fill is not None, fill_lead=lead_fill is not None
        )
        params = {f"touch_{k}": v for k, v in touch.items()}
        conn.execute(statement, {**params, **(customer_fill or {}), **(lead_fill or {})})
        return
    if customer_fill is not None:
        conn.execute(COMPLETE_CUSTOMER, customer_fill)
    conn.execute(INSERT_TOUCH, touch)
    if lead_fill is not None:
        conn.execute(COMPLETE_LEAD, lead_fill)


def write_new_lead(
    conn: Connection,
    *,
    customer: dict[str, Any] | None,
    lead: dict[str, Any],
    follow_up: dict[str, Any],
    touch: dict[str, Any],
) -> tuple[int, int] | None:
    """Write a new lead, its first follow-up and touch, and ``customer`` with its number when
    it is new (then ``lead`` has no customer id); returns the lead's and the customer's ids.

    None, with nothing written, when another intake has written ``customer``'s number since
    the caller looked it up: the number now belongs to a known customer.

    PostgreSQL takes it all in one statement: each round trip costs a web worker more than
    the rows themselves. SQLite runs in the process, so there it is one insert per row.
    """
    if conn.dialect.name == "postgresql":
        params = {
            **{f"lead_{k}": v for k, v in lead.items()},
            **{f"follow_up_{k}": v for k, v in follow_up.items()},
            **{f"touch_{k}": v for k, v in touch.items()},
            **{f"customer_{k}": v for k, v in (customer or {}).items()},
        }
        statement = NEW_CUSTOMER_LEAD if customer is not None else NEW_LEAD
        written = conn.execute(statement, params).first()
        return None if written is None else (written.id, written.customer_id)
    customer_id = lead["customer_id"]
    if customer is not None:
        customer_id = conn.execute(INSERT_CUSTOMER, customer).scalar()
        if customer_id is None:
            return None
        number = {
            "phone": customer["phone"],
            "is_primary": True,
            "created_at": customer["created_at"],
        }
        conn.execute(INSERT_PHONE, {**number, "customer_id": customer_id})
    lead_id = conn.execute(INSERT_LEAD, {**lead, "customer_id": customer_id}).scalar_one()
    conn.execute(INSERT_FOLLOW_UP, {**follow_up, "lead_id": lead_id})
    conn.execute(INSERT_TOUCH, {**touch, "lead_id": lead_id})
    return lead_id, customer_id
