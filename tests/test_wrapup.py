"""The wrap-up's rules live in the domain: what each next step needs, whoever records it."""

from __future__ import annotations

import datetime as dt

import pytest

from dcc import clock
from dcc.calls import wrapup
from dcc.errors import ValidationError
from dcc.leads import intake
from dcc.leads.models import Channel, LostReason


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
