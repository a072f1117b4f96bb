"""The manager's customer list (客户信息列表): filters, pages, and which customers a reader sees.

A customer appears once, with the newest lead the reader may see that matches the filters —
the same rule as the Excel export (:mod:`dcc.reports.export`), so the list and its export
agree. Merged-away customers are left out: their leads moved to the survivor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from dcc import phones
from dcc.access import visible_leads
from dcc.customers.models import Customer, CustomerPhone
from dcc.errors import DCCError
from dcc.leads.models import OPEN_STATUSES, Channel, Grade, Lead, LeadStatus
from dcc.reports.period import Period
from dcc.users.models import User

PER_PAGE = 50
#: What a phone search may contain besides digits: ``+86 138-0013 8000``, ``(010) 1234 5678``.
_PHONE_PUNCTUATION = re.compile(r"[\s()+\-.]")


@dataclass(frozen=True)
class CustomerSearch:
    """The list's filters; every one is optional."""

    text: str = ""  # a name (part of it), or a phone number in any format, or part of one
    grade: Grade | None = None
    status: LeadStatus | None = None
    owner_id: int | None = None
    channel: Channel | None = None
    period: Period | None = None  # when the lead came in, in the dealer's local days

    def to_dict(self) -> dict[str, Any]:
        """The filters as an audit entry records them."""
        return {
            "q": self.text or None,
            "from": self.period.start.isoformat() if self.period else None,
            "to": self.period.end.isoformat() if self.period else None,
            "status": self.status.value if self.status else None,
            "grade": self.grade.value if self.grade else None,
            "channel": self.channel.value if self.channel else None,
            "owner_id": self.owner_id,
        }


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    lead: Lead  # the newest matching lead the reader may see
    owner_name: str | None


@dataclass(frozen=True)
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(
    session: Session,
    reader: User,
    criteria: CustomerSearch,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    region: str = "CN",
) -> CustomerPage:
    """One page of the customers ``reader`` may see that match ``criteria``, newest lead first."""
    latest = latest_leads(reader, criteria, region)
    total = session.scalar(select(func.count()).select_from(latest)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    owner = aliased(User)
    result = session.execute(
        select(Customer, Lead, owner.name)
        .join(latest, latest.c.lead_id == Lead.id)
        .join(Customer, Customer.id == Lead.customer_id)
        .outerjoin(owner, owner.id == Lead.owner_id)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    rows = [CustomerRow(customer, lead, owner_name) for customer, lead, owner_name in result]
    return CustomerPage(rows=rows, total=total, page=page, per_page=per_page)


def latest_leads(reader: User, criteria: CustomerSearch, region: str) -> Any:
    """Each customer once, by the newest lead ``reader`` may see that matches ``criteria``:
    the one selection behind the list, its count and its export."""
    conditions: list[ColumnElement[bool]] = [
        visible_leads(reader),
        Customer.merged_into_id.is_(None),
    ]
    if criteria.period is not None:
        conditions += [
            Lead.created_at >= criteria.period.utc_start,
            Lead.created_at < criteria.period.utc_end,
        ]
    for column, wanted in (
        (Lead.grade, criteria.grade),
        (Lead.status, criteria.status),
        (Lead.owner_id, criteria.owner_id),
        (Lead.channel, criteria.channel),
    ):
        if wanted is not None:
            conditions.append(column == wanted)
    text = criteria.text.strip()
    if text:
        conditions.append(_matches(text, region))
    return (
        select(func.max(Lead.id).label("lead_id"))
        .join(Customer, Customer.id == Lead.customer_id)
        .where(*conditions)
        .group_by(Lead.customer_id)
        .subquery()
    )


def _matches(text: str, region: str) -> ColumnElement[bool]:
    """A phone in any format (whole or a part of one), else a part of the name."""
    digits = _PHONE_PUNCTUATION.sub("", text)
    if not digits.isdigit():
        pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        return Customer.name.ilike(pattern, escape="\\")
    try:
        number: ColumnElement[bool] = CustomerPhone.phone == phones.normalize(text, region)
    except DCCError:  # a part of a number: 8000, 1380013
        number = CustomerPhone.phone.contains(digits.lstrip("0") or digits)
    return exists().where(CustomerPhone.customer_id == Customer.id, number)


def open_lead(session: Session, reader: User, customer: Customer) -> Lead | None:
    """The customer's open lead the reader may see (a customer has at most one open lead)."""
    return session.scalar(
        select(Lead)
        .where(
            and_(
                Lead.customer_id == customer.id,
                Lead.status.in_(OPEN_STATUSES),
                visible_leads(reader),
            )
        )
        .order_by(Lead.id.desc())
        .limit(1)
    )
