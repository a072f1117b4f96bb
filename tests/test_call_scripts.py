"""The script chosen for each call, read with missing data, and what the agent captures."""

from __future__ import annotations

import datetime as dt

import pytest

from dcc import clock
from dcc.calls.models import Call, CallDirection, CallStatus
from dcc.calls.service import give_agent
from dcc.callscripts import context, service
from dcc.callscripts.models import CallScript, Offer
from dcc.config import Settings
from dcc.errors import DCCError
from dcc.leads import capture, intake, lifecycle
from dcc.leads.models import Channel, Grade, Lead
from dcc.sales.models import AppointmentStatus


@pytest.fixture()
def people(staff):
    agent = staff.user("agent", "dcc_agent", name="张晓婷", phone="13900000001")
    consultant = staff.user("consultant", "consultant", name="刘强")
    other = staff.user("consultant2", "consultant", name="赵磊")
    return agent, consultant, other


def _lead(session, channel=Channel.PORTAL, name="王先生", phone="13800138000", **kw) -> Lead:
    lead = intake.receive(
        session, intake.LeadInput(phone=phone, channel=channel, name=name, **kw)
    ).lead
    session.flush()
    return lead


def test_the_variant_follows_the_call_and_the_lead(session, people) -> None:
    agent, consultant, _ = people
    lead = _lead(session, series="凯美瑞")
    assert context.variant_for(session, lead, inbound=False) == service.NEW_LEAD
    assert context.variant_for(session, lead, inbound=True) == service.INBOUND_KNOWN
    unknown = _lead(session, channel=Channel.HOTLINE, name="", phone="13700137000")
    assert context.variant_for(session, unknown, inbound=True) == service.INBOUND_FIRST
    lead.first_response_at = clock.now()
    lead.grade = Grade.B
    assert context.variant_for(session, lead, inbound=False) == service.FOLLOW_UP
    lead.grade = Grade.H
    assert context.variant_for(session, lead, inbound=False) == service.INVITATION_CALL
    visit = lifecycle.book_appointment(
        session, lead, at=clock.now() + dt.timedelta(days=1), consultant=consultant, actor=agent
    )
    assert context.variant_for(session, lead, inbound=False) == service.CONFIRMATION
    visit.status = AppointmentStatus.NO_SHOW
    assert context.variant_for(session, lead, inbound=False) == service.NO_SHOW
    lead.is_repurchase = True
    visit.status = AppointmentStatus.CANCELED
    assert context.variant_for(session, lead, inbound=False) == service.REPURCHASE


def test_a_call_gets_its_agent_and_its_script_in_one_place(session, people) -> None:
    agent, _, _ = people
    lead = _lead(session, series="凯美瑞")
    call = Call(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        direction=CallDirection.OUTBOUND,
        leg="agent",
        status=CallStatus.QUEUED,
    )
    session.add(call)
    give_agent(session, call, agent.id)
    assert call.agent_id == agent.id and call.script_variant == service.NEW_LEAD
    assert call.script_version == 0  # no version saved yet: the built-in wording


def test_a_booked_visit_is_confirmed_not_proposed_again(session, people) -> None:
    agent, consultant, other = people
    lead = _lead(session, series="凯美瑞")
    lead.owner_id = other.id  # the offered consultant would otherwise be 赵磊
    at = clock.now() + dt.timedelta(days=2)
    lifecycle.book_appointment(session, lead, at=at, consultant=consultant, actor=agent)
    ctx = context.for_lead(session, lead, agent, Settings())
    assert ctx.values["consultant_name"] == "刘强"
    assert ctx.values["appointment_time"] == context.slot_label(at, Settings().timezone)
    script = CallScript(name="invitation", version=0, steps=service.DEFAULT_STEPS, variants={})
    text = " ".join(s["text"] for s in service.fill(script, ctx.values, service.CONFIRMATION))
    assert "刘强" in text and ctx.values["appointment_time"] in text and "赵磊" not in text


def test_missing_data_reads_with_words_not_dashes(session, people) -> None:
    agent, _, _ = people
    script = CallScript(name="invitation", version=0, steps=service.DEFAULT_STEPS, variants={})
    for variant in service.VARIANTS:
        for step in service.fill(script, {"agent_name": agent.name}, variant):
            assert "—" not in step["text"] and "{" not in step["text"], (variant, step)
    first = service.fill(script, {}, service.INVITATION_CALL)
    assert first[1]["text"].startswith("您好！")  # no name: a plain greeting
    assert "本周末" not in " ".join(s["text"] for s in first)


def test_offers_come_from_the_dealers_list_while_they_run(session, people) -> None:
    agent, _, _ = people
    today = clock.local(clock.now(), Settings().timezone).date()
    session.add_all(
        [
            Offer(title="周六试驾会", starts_on=today, ends_on=today + dt.timedelta(days=3)),
            Offer(
                title="上月车展",
                starts_on=today - dt.timedelta(days=40),
                ends_on=today - dt.timedelta(days=30),
            ),
        ]
    )
    session.flush()
    ctx = context.for_lead(session, _lead(session), agent, Settings())
    assert ctx.values["offer"] == "周六试驾会"


def test_the_capture_writes_what_was_said_and_never_erases_with_blanks(session, people) -> None:
    agent, _, _ = people
    lead = _lead(session, channel=Channel.HOTLINE, name="", budget="20万")
    lead.owner_id = agent.id
    captured = capture.Capture(
        name="赵",
        title="先生",
        series="汉兰达",
        timeframe="一个月内",
        city="杭州",
        trade_in=True,
        consent=True,
    )
    capture.capture(session, lead, captured, actor=agent)
    assert (lead.customer.name, lead.series, lead.customer.city) == ("赵先生", "汉兰达", "杭州")
    assert lead.grade == Grade.A and lead.trade_in is True and lead.budget == "20万"
    assert lead.customer.consent_at is not None
    capture.capture(session, lead, capture.Capture(name="", series="  ", budget=None), actor=agent)
    assert (lead.customer.name, lead.series, lead.budget) == ("赵先生", "汉兰达", "20万")
    with pytest.raises(DCCError) as refused:
        capture.capture(session, lead, capture.Capture(title="老板"), actor=agent)
    assert refused.value.field == "title"


def test_offered_times_fall_in_opening_hours_and_the_consultants_free_half_days(
    session, people
) -> None:
    agent, consultant, _ = people
    lead = _lead(session)
    lead.owner_id = consultant.id
    settings = Settings(opening_hours="13:00-20:00")
    ctx = context.for_lead(session, lead, agent, settings)
    assert len(ctx.slots) == 2
    for slot in ctx.slots:
        assert clock.local(slot.at, settings.timezone).hour == 15  # afternoons only
    lifecycle.book_appointment(
        session, lead, at=ctx.slots[0].at, consultant=consultant, actor=agent
    )
    other = _lead(session, phone="13600136000")
    other.owner_id = consultant.id
    again = context.for_lead(session, other, agent, settings)
    assert ctx.slots[0].at not in [slot.at for slot in again.slots]
