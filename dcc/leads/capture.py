"""What the agent learns on a call (the script's questions) written to the customer and the
lead at once: the panel's capture form and the API alike call :func:`capture`.

A value left blank never erases what is known: only what the agent entered is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from dcc import access, clock
from dcc.calls.models import Call
from dcc.errors import ValidationError
from dcc.leads import fields as lead_fields
from dcc.leads import rules
from dcc.leads.models import Grade, Lead
from dcc.users.models import User

#: How the agent addresses the customer; appended to the surname (王 + 先生 = 王先生).
TITLES = ("先生", "女士")


@dataclass
class Capture:
    """The answers to the script's questions; None (or blank) where the agent entered none."""

    name: str | None = None
    title: str | None = None
    series: str | None = None
    budget: str | None = None
    timeframe: str | None = None
    city: str | None = None
    trade_in: bool | None = None
    consent: bool = False


def full_name(name: str | None, title: str | None) -> str | None:
    """The name as the agent says it: the surname with its title, unless it carries one."""
    name = (name or "").strip()
    if not name:
        return None
    if title and not name.endswith(TITLES):
        return f"{name}{title}"
    return name


def capture(
    session: Session, lead: Lead, data: Capture, *, actor: User, call: Call | None = None
) -> Lead:
    """Write the call's answers to ``lead`` and its customer; blanks change nothing.

    A stated purchase timeframe also grades the lead (:func:`rules.grade_for_timeframe`)
    when it says something clear. ``call``: the call they were said on, whose agent may
    capture them though the lead is a teammate's.
    """
    access.check_may_work_lead_on(session, actor, lead, call)
    if data.title and data.title not in TITLES:
        raise ValidationError("field.bad_choice", field="title", choices=", ".join(TITLES))
    name = lead_fields.NAME.clean(full_name(data.name, data.title))
    series = lead_fields.SERIES.clean(data.series)
    budget = lead_fields.BUDGET.clean(data.budget)
    timeframe = lead_fields.PURCHASE_TIMEFRAME.clean(data.timeframe)
    city = lead_fields.CITY.clean(data.city)
    customer = lead.customer
    if name:
        customer.name = name
    if city:
        customer.city = city
    if data.consent and customer.consent_at is None:
        customer.consent_at = clock.now()
    if series:
        lead.series = series
    if budget:
        lead.budget = budget
    if timeframe:
        lead.purchase_timeframe = timeframe
        grade = rules.grade_for_timeframe(timeframe)
        if grade != Grade.N and lead.grade in (Grade.N, Grade.H, Grade.A, Grade.B, Grade.C):
            lead.grade = grade
    if data.trade_in is not None:
        lead.trade_in = data.trade_in
    session.flush()
    return lead
