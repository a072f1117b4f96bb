"""Rows to plain dicts for the API schemas, with phone masking decided per reader."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc.access import phone_for, visible_leads
from dcc.calls import history
from dcc.customers.models import Customer
from dcc.leads.models import Lead
from dcc.sales.models import Appointment, ShowroomVisit
from dcc.users.models import User


def _columns(row: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def customer(session: Session, row: Customer, reader: User) -> dict[str, Any]:
    leads = session.scalars(
        select(Lead)
        .where(Lead.customer_id == row.id, visible_leads(reader))
        .order_by(Lead.created_at, Lead.id)
    ).all()
    return {
        **_columns(row, ["id", "name", "kind", "owner_id", "do_not_call", "merged_into_id"]),
        "phone": phone_for(reader, row.phone, owner_id=row.owner_id),
        "phones": [phone_for(reader, p.phone, owner_id=row.owner_id) for p in row.phones],
        "leads": [lead_summary(lead) for lead in leads],
    }


LEAD_FIELDS = [
    "id",
    "customer_id",
    "channel",
    "sub_source",
    "source_id",
    "value_tier",
    "grade",
    "status",
    "owner_id",
    "brand",
    "series",
    "model",
    "model_year",
    "purchase_timeframe",
    "is_repurchase",
    "next_action",
    "next_action_at",
    "first_response_at",
    "attempt_count",
    "lost_reason",
    "created_at",
]


def lead_summary(lead: Lead) -> dict[str, Any]:
    return {**_columns(lead, LEAD_FIELDS), "touches": lead.touches}


def lead_detail(session: Session, lead: Lead, reader: User) -> dict[str, Any]:
    calls = history.lead_history(session, lead.id)
    appointments = session.scalars(
        select(Appointment).where(Appointment.lead_id == lead.id).order_by(Appointment.id)
    ).all()
    visits = session.scalars(
        select(ShowroomVisit).where(ShowroomVisit.lead_id == lead.id).order_by(ShowroomVisit.id)
    ).all()
    cust = lead.customer
    return {
        **lead_summary(lead),
        "customer": {
            "id": cust.id,
            "name": cust.name,
            "phone": phone_for(reader, cust.phone, owner_id=lead.owner_id),
            "kind": cust.kind.value,
            "do_not_call": cust.do_not_call,
        },
        "follow_ups": lead.follow_ups,
        "calls": calls,
        "appointments": appointments,
        "visits": visits,
    }
