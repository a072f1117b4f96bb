"""The lead lifecycle, follow-up rules, manager actions and the 30-day rule."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.calls.models import Call, CallDirection
from dcc.customers import service as customers
from dcc.customers.models import CustomerKind
from dcc.errors import InvalidTransition, MergeRefused, PermissionDenied, ValidationError
from dcc.leads import followups, intake, lifecycle, manager, reassignment, rules
from dcc.leads.models import (
    Callback,
    CallbackStatus,
    Channel,
    FollowUp,
    FollowUpStatus,
    Grade,
    LeadStatus,
    LostReason,
)
from dcc.sales import catalogue, orders
from dcc.sales.models import ShowroomVisit

T0 = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)
TZ = "Asia/Shanghai"
VIN = "LVGBE40K58G123456"  # a valid check digit


def order(session: Session, lead, actor, vin: str = VIN):
    return orders.place(session, lead, orders.OrderInput(vin=vin), actor=actor, timezone=TZ)


def new_lead(session: Session, phone: str = "13800138000", **kw):
    return intake.receive(
        session, intake.LeadInput(phone=phone, channel=kw.pop("channel", Channel.PORTAL), **kw)
    ).lead


@pytest.fixture()
def people(staff):
    return {
        "agent": staff.user("agent", "dcc_agent"),
        "other": staff.user("other", "dcc_agent"),
        "consultant": staff.user("consultant", "consultant"),
        "manager": staff.user("manager", "manager"),
        "clerk": staff.user("clerk", "clerk"),
    }


def test_appointment_arrival_order_delivery(session: Session, people) -> None:
    with clock.frozen(T0):
        lead = new_lead(session)
        lifecycle.mark_contacted(lead)
        appt = lifecycle.book_appointment(
            session,
            lead,
            at=T0 + dt.timedelta(days=2),
            consultant=people["consultant"],
            actor=people["agent"],
        )
    assert lead.status == LeadStatus.INVITED and lead.invited_at == T0
    with clock.frozen(T0 + dt.timedelta(days=2)):
        visit = lifecycle.register_arrival(session, lead, clerk=people["clerk"])
    assert visit.appointment_id == appt.id and visit.consultant_id == people["consultant"].id
    assert visit.first_visit
    catalogue.seed_demo(session)
    order = orders.place(
        session,
        lead,
        orders.OrderInput(
            brand="丰田", series="凯美瑞", model="2024款 2.0G", configuration="豪华版"
        ),
        actor=people["consultant"],
        timezone=TZ,
    )
    assert lead.status == LeadStatus.ORDERED and lead.grade == Grade.O
    orders.deliver(session, order, actor=people["consultant"])
    assert lead.status == LeadStatus.DELIVERED and lead.closed_at is not None
    assert lead.next_action_at is None


def test_wrong_transitions_raise(session: Session, people) -> None:
    lead = new_lead(session)
    with pytest.raises(InvalidTransition):
        order(session, lead, people["manager"])
    with pytest.raises(ValidationError) as info:
        order(session, lead, people["manager"], vin="123")
    assert info.value.field == "vin"
    lifecycle.mark_invalid(session, lead, actor=people["manager"], reason="空号")
    with pytest.raises(InvalidTransition):
        lifecycle.move(lead, LeadStatus.CONTACTING)


def test_lost_needs_a_manager_and_approval_closes_as_f(session: Session, people) -> None:
    lead = new_lead(session)
    request = lifecycle.request_lost(
        session, lead, reason=LostReason.COMPETITOR, actor=people["agent"]
    )
    assert lead.status == LeadStatus.NEW  # still open until a manager decides
    with pytest.raises(PermissionDenied):
        lifecycle.decide_lost(session, request, approve=True, manager=people["agent"])
    lifecycle.decide_lost(session, request, approve=True, manager=people["manager"])
    assert lead.status == LeadStatus.LOST and lead.grade == Grade.F
    assert lead.lost_reason == LostReason.COMPETITOR
    assert all(f.status != FollowUpStatus.OPEN for f in lead.follow_ups)


def test_rejected_lost_request_returns_to_owner_with_follow_up(session: Session, people) -> None:
    lead = new_lead(session)
    first = followups.open_follow_ups(session, lead)[0]
    followups.complete(session, first, result="客户说再考虑", actor=people["agent"], grade="C")
    request = lifecycle.request_lost(session, lead, reason="price", actor=people["agent"])
    with clock.frozen(T0):
        lifecycle.decide_lost(session, request, approve=False, manager=people["manager"])
    assert lead.status == LeadStatus.NEW
    due = [f.due_at for f in followups.open_follow_ups(session, lead)]
    assert T0 in due
    assert lead.next_action_at == T0


def test_follow_up_needs_a_result_and_rules_plan_the_next(session: Session, people) -> None:
    with clock.frozen(T0):
        lead = new_lead(session)
        first = followups.open_follow_ups(session, lead)[0]
        with pytest.raises(ValidationError) as info:
            followups.complete(session, first, result="  ", actor=people["agent"])
        assert info.value.field == "result"
        nxt = followups.complete(
            session, first, result="意向强，一周内买", actor=people["agent"], grade="H"
        )
    assert first.status == FollowUpStatus.DONE and first.result == "意向强，一周内买"
    assert nxt is not None and nxt.by_rule and nxt.due_at == T0 + dt.timedelta(days=2)
    assert lead.next_action_at == nxt.due_at
    custom = T0 + dt.timedelta(days=5)
    with clock.frozen(T0 + dt.timedelta(days=1)):
        after = followups.complete(
            session, nxt, result="约了周末", actor=people["agent"], next_due_at=custom
        )
    assert after is not None and not after.by_rule and after.due_at == custom


def test_dealer_can_change_the_intervals(session: Session, people) -> None:
    rules.set_follow_up_days(session, "A", 3)
    with clock.frozen(T0):
        lead = new_lead(session)
        first = followups.open_follow_ups(session, lead)[0]
        nxt = followups.complete(session, first, result="ok", actor=people["agent"], grade="A")
    assert nxt is not None and nxt.due_at == T0 + dt.timedelta(days=3)


def test_reassign_moves_follow_ups_and_callbacks(session: Session, people) -> None:
    lead = new_lead(session)
    assert lead.owner_id == people["agent"].id
    session.add(Callback(lead=lead, owner_id=lead.owner_id, reason="missed_call", due_at=T0))
    reassignment.reassign(session, lead, people["other"], actor=people["manager"])
    open_owners = {
        f.owner_id
        for f in session.scalars(select(FollowUp).where(FollowUp.lead_id == lead.id))
        if f.status == FollowUpStatus.OPEN
    }
    assert open_owners == {people["other"].id}
    callback = session.scalars(select(Callback).where(Callback.lead_id == lead.id)).one()
    assert callback.owner_id == people["other"].id
    assert callback.status == CallbackStatus.PENDING


def test_merge_moves_leads_calls_and_visits(session: Session, people) -> None:
    a = new_lead(session, "13800138000", name="王先生")
    b = new_lead(session, "13900139000")
    session.add(
        Call(
            customer_id=b.customer_id,
            lead_id=b.id,
            direction=CallDirection.INBOUND,
            sid="CA" + "1" * 32,
        )
    )
    session.add(ShowroomVisit(customer_id=b.customer_id, lead_id=b.id))
    session.flush()
    duplicate = b.customer
    survivor = customers.merge(session, a.customer, [duplicate], actor=people["manager"])
    assert duplicate.merged_into_id == survivor.id
    assert customers.find_by_phone(session, "+8613900139000").id == survivor.id
    calls = session.scalars(select(Call).where(Call.customer_id == survivor.id)).all()
    assert len(calls) == 1
    visits = session.scalars(
        select(ShowroomVisit).where(ShowroomVisit.customer_id == survivor.id)
    ).all()
    assert len(visits) == 1
    session.refresh(a)
    session.refresh(b)
    assert a.customer_id == b.customer_id == survivor.id
    # Only one open lead survives; the other is a duplicate with a touch on the keeper.
    assert sorted([a.status, b.status]) == sorted([LeadStatus.NEW, LeadStatus.DUPLICATE])


def test_merge_refuses_fleet_and_order_customers(session: Session, people) -> None:
    a = new_lead(session, "13800138000")
    b = new_lead(session, "13900139000")
    customers.upgrade_to_fleet(session, b.customer, actor=people["manager"])
    assert b.customer.kind == CustomerKind.FLEET
    with pytest.raises(MergeRefused):
        customers.merge(session, a.customer, [b.customer], actor=people["manager"])
    c = new_lead(session, "13700137000")
    lifecycle.register_arrival(session, c, clerk=people["clerk"], consultant=people["consultant"])
    order(session, c, people["consultant"])
    with pytest.raises(MergeRefused):
        customers.merge(session, a.customer, [c.customer], actor=people["manager"])


def test_thirty_day_rule_finds_invited_leads_that_never_arrived(session: Session, people) -> None:
    with clock.frozen(T0):
        stale = new_lead(session, "13800138000")
        arrived = new_lead(session, "13900139000")
        for lead in (stale, arrived):
            lifecycle.book_appointment(
                session,
                lead,
                at=T0 + dt.timedelta(days=1),
                consultant=None,
                actor=people["agent"],
            )
    with clock.frozen(T0 + dt.timedelta(days=1)):
        lifecycle.register_arrival(session, arrived, clerk=people["clerk"])
    with clock.frozen(T0 + dt.timedelta(days=10)):
        recent = new_lead(session, "13700137000")
        lifecycle.book_appointment(
            session,
            recent,
            at=T0 + dt.timedelta(days=11),
            consultant=None,
            actor=people["agent"],
        )
    found = manager.invited_without_arrival(session, now=T0 + dt.timedelta(days=31))
    assert [lead.id for lead in found] == [stale.id]


def test_only_a_confirmed_loss_is_reactivated(session: Session, people) -> None:
    lead = new_lead(session)
    with pytest.raises(InvalidTransition):
        reassignment.reactivate_lost(session, lead, people["other"], actor=people["manager"])
    request = lifecycle.request_lost(session, lead, reason="budget", actor=people["agent"])
    lifecycle.decide_lost(session, request, approve=True, manager=people["manager"])
    with pytest.raises(ValidationError):
        reassignment.reactivate_lost(session, lead, people["clerk"], actor=people["manager"])
    fresh = reassignment.reactivate_lost(session, lead, people["other"], actor=people["manager"])
    assert fresh.status == LeadStatus.NEW and fresh.owner_id == people["other"].id
    with pytest.raises(InvalidTransition):  # the customer has an open lead again
        reassignment.reactivate_lost(session, lead, people["agent"], actor=people["manager"])
    assert manager.latest_lost(session, lead.customer_id) is None


def test_a_buyer_coming_back_stays_ordered(session: Session, people) -> None:
    lead = new_lead(session)
    lifecycle.register_arrival(
        session, lead, clerk=people["clerk"], consultant=people["consultant"]
    )
    order(session, lead, people["consultant"])
    visit = lifecycle.register_arrival(session, lead, clerk=people["clerk"])
    assert lead.status == LeadStatus.ORDERED and lead.grade == Grade.O
    assert visit.first_visit is False
