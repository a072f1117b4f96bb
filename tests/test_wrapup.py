"""The wrap-up's rules live in the domain: what each next step needs, whoever records it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from web_support import PASSWORD, login, post

from dcc import clock
from dcc.calls import wrapup
from dcc.calls.models import Call, CallDirection
from dcc.errors import NotFound, PermissionDenied, ValidationError
from dcc.leads import capture, intake
from dcc.leads.models import Channel, FollowUp, LostReason


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        (wrapup.Outcome("约好了", action=wrapup.APPOINTMENT), "appointment_at"),
        (
            wrapup.Outcome("约好了", action=wrapup.APPOINTMENT, appointment_at=None),
            "appointment_at",
        ),
        (wrapup.Outcome("不买了", action=wrapup.LOST), "lost_reason"),
        (wrapup.Outcome("再联系", lost_reason=LostReason.BUDGET), "lost_reason"),
        (wrapup.Outcome("再联系", action="call_again"), "action"),
    ],
)
def test_each_next_step_needs_its_own_fields(session, staff, outcome, field) -> None:
    agent = staff.user("agent", "dcc_agent")
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=agent.id)
    ).lead
    with pytest.raises(ValidationError) as refused:
        wrapup.save_outcome(session, lead, outcome, actor=agent)
    assert refused.value.field == field


def test_a_visit_needs_a_consultant_not_just_anyone(session, staff) -> None:
    agent = staff.user("agent", "dcc_agent")
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.PORTAL, owner_id=agent.id)
    ).lead
    visit = clock.now() + dt.timedelta(days=1)
    outcome = wrapup.Outcome(
        "约好了", action=wrapup.APPOINTMENT, appointment_at=visit, consultant=agent
    )
    with pytest.raises(ValidationError) as refused:
        wrapup.save_outcome(session, lead, outcome, actor=agent)
    assert refused.value.field == "consultant"
    consultant = staff.user("consultant", "consultant")
    outcome.consultant = consultant
    saved = wrapup.save_outcome(session, lead, outcome, actor=agent)
    assert saved.appointment is not None and saved.appointment.consultant_id == consultant.id


def _teammates_call(session, staff):
    """Bob took the hotline call of a customer whose lead is Alice's (the owner did not answer
    and the call went on to the team)."""
    alice = staff.user("alice", "dcc_agent", team="北区", password=PASSWORD)
    bob = staff.user("bob", "dcc_agent", team="北区", password=PASSWORD)
    lead = intake.receive(
        session, intake.LeadInput(phone="13800138000", channel=Channel.HOTLINE, owner_id=alice.id)
    ).lead
    call = Call(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        agent_id=bob.id,
        direction=CallDirection.INBOUND,
        leg="customer",
        sid="CA" + "b" * 32,
    )
    session.add(call)
    session.commit()
    return alice, bob, lead, call


def test_the_agent_who_took_a_teammates_customer_records_that_calls_outcome(session, staff) -> None:
    _alice, bob, lead, call = _teammates_call(session, staff)
    with pytest.raises(NotFound):  # not through the lead itself: that stays the owner's
        wrapup.save_outcome(session, lead, wrapup.Outcome("问了价格"), actor=bob)
    saved = wrapup.save_outcome(session, lead, wrapup.Outcome("问了价格"), actor=bob, call=call)
    assert saved.follow_up.result == "问了价格"
    capture.capture(session, lead, capture.Capture(name="王", title="先生"), actor=bob, call=call)
    assert lead.customer.name == "王先生"
    other = staff.user("carol", "dcc_agent", team="北区")
    with pytest.raises((NotFound, PermissionDenied)):
        wrapup.save_outcome(session, lead, wrapup.Outcome("再联系"), actor=other, call=call)


def test_the_panel_saves_a_teammates_outcome_and_goes_back_to_the_worklist(
    app, client, session, staff
) -> None:
    _alice, _bob, lead, call = _teammates_call(session, staff)
    login(client, "bob")
    answer = post(
        client,
        f"/leads/{lead.id}/outcome",
        {
            "call_id": str(call.id),
            "result": "问了价格",
            "grade": "B",
            "action": "none",
            "lost_reason": "",
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/")
    assert client.get(f"/leads/{lead.id}").status_code == 404  # the lead page stays Alice's
    session.expire_all()
    done = session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id)).first()
    assert done is not None and done.result == "问了价格"
