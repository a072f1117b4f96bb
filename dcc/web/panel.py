"""The live call panel: the caller's record, the filled 7-step script and the wrap-up form.

It opens beside any page: pushed by a screen pop (inbound), or after the agent clicked Call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import access, clock, worklist
from dcc.calls.models import Call
from dcc.callscripts import context as script_context
from dcc.callscripts import service as callscripts
from dcc.callscripts.models import CallScript
from dcc.config import get_settings
from dcc.errors import NotFound
from dcc.leads import rules
from dcc.leads.models import Lead
from dcc.reception import consultants
from dcc.users.models import User
from dcc.web.forms import CaptureForm, NewCustomerForm, OutcomeForm, choices, local_input


@dataclass
class Panel:
    call: Call
    lead: Lead | None
    steps: list[dict[str, str]]
    legs: dict[str, str]
    outcome: OutcomeForm | None
    rule_days: str  # JSON: the next follow-up's default per grade, for the form's script
    new_customer: NewCustomerForm | None
    variant: str
    capture: CaptureForm | None = None
    problem: str | None = None  # why the capture form was refused


def active_script(session: Session) -> CallScript:
    """The dealer's active script, or the built-in one before an admin saved any."""
    return callscripts.active(session) or CallScript(
        name=callscripts.INVITATION, version=0, steps=callscripts.DEFAULT_STEPS, variants={}
    )


def script_of(session: Session, call: Call) -> CallScript:
    """The script version the call was given its agent with (the active one otherwise)."""
    if call.script_version:
        kept = session.scalar(
            select(CallScript).where(
                CallScript.name == callscripts.INVITATION,
                CallScript.version == call.script_version,
            )
        )
        if kept is not None:
            return kept
    return active_script(session)


def outcome_form(session: Session, lead: Lead, user: User, call: Call | None) -> OutcomeForm:
    """The wrap-up form, filled with what the rules and the script offer."""
    settings = get_settings()
    ctx = script_context.for_lead(session, lead, user, settings)
    form = OutcomeForm(formdata=None)
    form.call_id.data = str(call.id) if call else ""
    offered = {choice.value for choice in form.grade.choices}
    form.grade.data = lead.grade.value if lead.grade.value in offered else "N"
    form.next_due_at.data = None
    default_next = rules.next_follow_up_at(session, lead.grade, clock.now())
    form.next_due_at.render_kw = {"value": local_input(default_next, settings.timezone)}
    if ctx.slots:
        form.appointment_at.render_kw = {"value": local_input(ctx.slots[0].at, settings.timezone)}
    form.consultant.choices = choices([(c.id, c.name) for c in consultants(session)])
    form.consultant.data = ctx.consultant.id if ctx.consultant else None
    return form


def capture_form(lead: Lead) -> CaptureForm:
    """The script's questions, showing what is known of the customer and the lead."""
    form = CaptureForm(formdata=None)
    form.name.data = lead.customer.name
    form.series.data = lead.series or lead.model or ""
    form.budget.data = lead.budget or ""
    form.timeframe.data = lead.purchase_timeframe or ""
    form.city.data = lead.customer.city or ""
    form.trade_in.data = "" if lead.trade_in is None else ("yes" if lead.trade_in else "no")
    form.consent.data = lead.customer.consent_at is not None
    return form


def build(
    session: Session,
    user: User,
    call: Call,
    *,
    capture: CaptureForm | None = None,
    outcome: OutcomeForm | None = None,
) -> Panel:
    settings = get_settings()
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    ctx = script_context.for_lead(session, lead, user, settings)
    variant = call.script_variant or callscripts.INVITATION_CALL
    steps = callscripts.fill(script_of(session, call), ctx.values, variant)
    new_customer = None
    if lead is None:
        new_customer = NewCustomerForm(formdata=None)
        new_customer.phone.data = call.from_number if call.direction.value == "inbound" else ""
    return Panel(
        call=call,
        lead=lead,
        steps=steps,
        legs=legs_of(session, call, user),
        outcome=(outcome or outcome_form(session, lead, user, call))
        if lead and lead.is_open and access.may_work_lead_on(session, user, lead, call)
        else None,
        rule_days=json.dumps(rules.follow_up_days(session)),
        new_customer=new_customer,
        variant=variant,
        capture=(capture or capture_form(lead))
        if lead and access.may_work_lead_on(session, user, lead, call)
        else None,
    )


def legs_of(session: Session, call: Call, user: User) -> dict[str, str]:
    """The status of each side of the conversation (agent, customer) as known now."""
    legs = {call.leg: call.status.value}
    if call.sid:
        children = session.scalars(
            select(Call).where(Call.parent_sid == call.sid).order_by(Call.id)
        ).all()
        for child in children:
            # Several agents may ring for one inbound call; this agent's leg is the one to show.
            if child.leg == "agent" and child.agent_id not in (None, user.id):
                continue
            legs[child.leg] = child.status.value
    return legs


def current(session: Session, user: User) -> Panel | None:
    """The panel of the call ``user`` is on, on whatever page they open: a reload or another
    page keeps it (the state is the server's)."""
    call = worklist.current_call(session, user)
    return build(session, user, call) if call is not None else None


def for_request(
    session: Session, user: User, call_id: int | None, *, outcome: OutcomeForm | None = None
) -> Panel | None:
    """The panel of ``call_id`` when the user may see it, else none (the page still opens);
    ``outcome`` is a refused wrap-up form, shown again as it was typed."""
    if call_id is None:
        return current(session, user)
    try:
        call = access.get_visible_call(session, user, call_id)
    except NotFound:
        return None
    return build(session, user, call, outcome=outcome)
