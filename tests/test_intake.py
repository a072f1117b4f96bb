"""Intake from any channel: dedup by phone, touches, repurchase, grading, assignment."""

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.customers.models import Customer
from dcc.errors import InvalidPhoneNumber
from dcc.leads import intake, lifecycle
from dcc.leads.models import Channel, FollowUp, Grade, Lead, LeadStatus, LeadTouch, ValueTier
from dcc.sales import orders
from dcc.users.models import AgentStatus, User

VIN = "LVGBE40K58G123456"  # a valid check digit


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def enquiry(phone: str = "13800138000", **kw: object) -> intake.LeadInput:
    return intake.LeadInput(phone=phone, channel=kw.pop("channel", Channel.PORTAL), **kw)


def test_one_customer_per_phone_whatever_the_format(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    first = intake.receive(session, enquiry("138 0013 8000", name="王先生"))
    second = intake.receive(session, enquiry("+86 138-0013-8000"))
    third = intake.receive(session, enquiry("008613800138000", channel=Channel.HOTLINE))
    assert first.customer.id == second.customer.id == third.customer.id
    assert first.customer.phone == "+8613800138000"
    assert (first.duplicate, second.duplicate, third.duplicate) == (False, True, True)
    assert count(session, Customer) == 1


def test_new_enquiry_on_open_lead_is_a_touch(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    first = intake.receive(session, enquiry(series="凯美瑞"))
    again = intake.receive(session, enquiry(channel=Channel.HOTLINE, comments="再次来电"))
    assert again.lead.id == first.lead.id
    assert not again.new_lead
    assert count(session, Lead) == 1
    touches = session.scalars(select(LeadTouch).where(LeadTouch.lead_id == first.lead.id)).all()
    assert [t.channel for t in touches] == [Channel.PORTAL, Channel.HOTLINE]
    assert touches[1].note == "再次来电"


def test_a_later_enquiry_fills_gaps_and_overwrites_nothing(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    first = intake.receive(session, enquiry(series="凯美瑞", email="wang@example.cn"))
    customer, lead = first.customer, first.lead  # held by the session across the next intake
    assert (customer.name, lead.brand, lead.series) == ("", None, "凯美瑞")
    intake.receive(
        session,
        enquiry(
            "+86 138 0013 8000",
            name="王先生",
            email="other@example.cn",
            city="杭州",
            brand="丰田",
            series="卡罗拉",
            consent=True,
        ),
    )
    assert (customer.name, customer.email, customer.city) == ("王先生", "wang@example.cn", "杭州")
    assert customer.consent_at is not None
    assert (lead.brand, lead.series) == ("丰田", "凯美瑞")
    intake.receive(session, enquiry(name="李女士"))
    session.expire_all()
    assert session.get_one(Customer, customer.id).name == "王先生"


def test_a_nameless_enquiry_leaves_the_name_empty(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    first = intake.receive(session, enquiry())
    intake.receive(session, enquiry(email="wang@example.cn"))  # fills the email only
    assert (first.customer.name, first.customer.email) == ("", "wang@example.cn")


def test_invalid_phone_names_the_field_and_stores_nothing(session: Session) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        intake.receive(session, enquiry("12345"))
    assert info.value.field == "phone"
    with pytest.raises(InvalidPhoneNumber) as info:
        intake.receive(session, enquiry("13800138000", alt_phone="999"))
    assert info.value.field == "alt_phone"
    assert count(session, Customer) == 0
    assert count(session, Lead) == 0


def test_an_enquiry_that_loses_the_race_for_a_new_number_joins_the_winner(
    session: Session, staff, monkeypatch
) -> None:
    """The number was written by another intake between this one's lookup and its insert: this
    one writes no second customer or lead, and becomes a touch on the winner's lead."""
    staff.user("a1", "dcc_agent")
    winner = intake.receive(session, enquiry(series="凯美瑞"))
    real_lookup, lookups = intake._lookup, []

    def missing_at_first(conn, phone):
        lookups.append(phone)
        return None if len(lookups) == 1 else real_lookup(conn, phone)

    monkeypatch.setattr(intake, "_lookup", missing_at_first)
    loser = intake.receive(session, enquiry("+86 138 0013 8000", name="王先生", brand="丰田"))
    assert len(lookups) == 2
    assert (loser.customer_id, loser.lead_id) == (winner.customer_id, winner.lead_id)
    assert (loser.duplicate, loser.new_lead) == (True, False)
    assert (count(session, Customer), count(session, Lead), count(session, FollowUp)) == (1, 1, 1)
    assert count(session, LeadTouch) == 2
    assert (loser.customer.name, loser.lead.brand) == ("王先生", "丰田")


def test_alternative_phone_identifies_the_same_customer(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    first = intake.receive(session, enquiry("13800138000", alt_phone="010-12345678"))
    again = intake.receive(session, enquiry("01012345678"))
    assert again.customer.id == first.customer.id


def test_delivered_customer_starts_a_repurchase_lead(session: Session, staff) -> None:
    agent = staff.user("a1", "dcc_agent")
    consultant = staff.user("c1", "consultant")
    lead = intake.receive(session, enquiry()).lead
    lifecycle.book_appointment(
        session, lead, at=clock.now() + dt.timedelta(days=1), consultant=consultant, actor=agent
    )
    lifecycle.register_arrival(session, lead, clerk=None)
    order = orders.place(
        session, lead, orders.OrderInput(vin=VIN), actor=consultant, timezone="Asia/Shanghai"
    )
    orders.deliver(session, order, actor=consultant)
    again = intake.receive(session, enquiry(channel=Channel.WEB))
    assert again.new_lead
    assert again.lead.id != lead.id
    assert again.lead.is_repurchase
    assert again.lead.sub_source == "续购"
    assert again.customer.id == lead.customer_id


@pytest.mark.parametrize(
    ("timeframe", "grade"),
    [
        ("7天内", Grade.H),
        ("一个月内", Grade.A),
        ("1-3个月", Grade.B),
        ("3个月以上", Grade.C),
        ("半年后", Grade.C),
        (None, Grade.N),
        ("B", Grade.B),
        ("within a month", Grade.A),
    ],
)
def test_timeframe_sets_initial_grade(session: Session, staff, timeframe, grade) -> None:
    staff.user("a1", "dcc_agent")
    result = intake.receive(session, enquiry(purchase_timeframe=timeframe))
    assert result.lead.grade == grade


def test_new_lead_is_owned_and_first_contact_is_due_now(session: Session, staff) -> None:
    agent = staff.user("a1", "dcc_agent")
    at = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
    with clock.frozen(at):
        lead = intake.receive(session, enquiry()).lead
    assert lead.owner_id == agent.id
    assert lead.status == LeadStatus.NEW
    assert lead.value_tier == ValueTier.VALUE
    assert lead.next_action_at == at
    follow_up = session.scalar(select(FollowUp).where(FollowUp.lead_id == lead.id))
    assert follow_up is not None and follow_up.owner_id == agent.id and follow_up.due_at == at


def test_walk_in_is_high_value_and_goes_to_a_consultant(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    consultant = staff.user("c1", "consultant")
    lead = intake.receive(session, enquiry(channel=Channel.WALK_IN)).lead
    assert lead.value_tier == ValueTier.HIGH
    assert lead.owner_id == consultant.id


def test_round_robin_over_active_on_shift_agents(session: Session, staff) -> None:
    a1 = staff.user("a1", "dcc_agent")
    a2 = staff.user("a2", "dcc_agent")
    off = staff.user("a3", "dcc_agent")
    off.on_shift = False
    gone = staff.user("a4", "dcc_agent")
    gone.is_active = False
    owners = [intake.receive(session, enquiry(f"1390000000{i}")).lead.owner_id for i in range(4)]
    assert owners == [a1.id, a2.id, a1.id, a2.id]


def test_an_available_agent_takes_a_new_lead_before_a_busy_one(session: Session, staff) -> None:
    busy = staff.user("a1", "dcc_agent")
    busy.agent_status = AgentStatus.ON_CALL
    ready = staff.user("a2", "dcc_agent")
    ready.agent_status = AgentStatus.AVAILABLE
    owners = [intake.receive(session, enquiry(f"1390000000{i}")).lead.owner_id for i in range(3)]
    assert owners == [ready.id] * 3  # the first call goes out at once


def test_with_nobody_on_shift_a_new_lead_still_gets_an_owner(session: Session, staff) -> None:
    night = staff.user("a1", "dcc_agent")
    night.on_shift = False
    gone = staff.user("a2", "dcc_agent")
    gone.on_shift, gone.is_active = False, False
    lead = intake.receive(session, enquiry()).lead
    assert lead.owner_id == night.id  # on the owner's worklist when the shift starts


def test_known_customer_goes_back_to_its_owner(session: Session, staff) -> None:
    a1 = staff.user("a1", "dcc_agent")
    staff.user("a2", "dcc_agent")
    manager = staff.user("m", "manager")
    lead = intake.receive(session, enquiry()).lead
    assert lead.owner_id == a1.id
    lifecycle.request_lost(session, lead, reason="budget", actor=a1)
    request = session.scalars(select(lifecycle.LostRequest)).one()
    lifecycle.decide_lost(session, request, approve=True, manager=manager)
    again = intake.receive(session, enquiry(channel=Channel.HOTLINE)).lead
    assert again.id != lead.id
    assert again.owner_id == a1.id


def test_inactive_owner_is_never_assigned(session: Session, staff) -> None:
    a1 = staff.user("a1", "dcc_agent")
    a2 = staff.user("a2", "dcc_agent")
    manager = staff.user("m", "manager")
    lead = intake.receive(session, enquiry()).lead
    lifecycle.mark_invalid(session, lead, actor=manager, reason="test")
    a1.is_active = False
    again = intake.receive(session, enquiry()).lead
    assert again.owner_id == a2.id


def test_nobody_on_shift_leaves_the_lead_unowned(session: Session) -> None:
    lead = intake.receive(session, enquiry()).lead
    assert lead.owner_id is None
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_dormant_lead_wakes_on_new_contact(session: Session, staff) -> None:
    staff.user("a1", "dcc_agent")
    lead = intake.receive(session, enquiry()).lead
    lifecycle.make_dormant(session, lead)
    assert lead.next_action_at is None
    again = intake.receive(session, enquiry(channel=Channel.HOTLINE))
    assert again.lead.id == lead.id
    assert lead.status == LeadStatus.CONTACTING
    assert lead.next_action_at is not None
