"""The manager's domain: the customer list's filters, the escalation queues and the reassignment
that empties them, and the follow-up review."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dcc import access, clock
from dcc.audit import AuditEntry
from dcc.customers import listing
from dcc.errors import NotFound, PermissionDenied, ValidationError
from dcc.leads import escalations, followups, intake, lifecycle, reassignment, review
from dcc.leads.models import Channel, FollowUpStatus, Grade, LeadStatus
from dcc.reports import export
from dcc.reports.period import Period
from dcc.users.models import AgentStatus

TZ = "Asia/Shanghai"


@pytest.fixture()
def team(staff):
    boss = staff.user("boss", "manager", team="北区")
    alice = staff.user("alice", "dcc_agent", team="北区", name="Alice", phone="13900000001")
    bob = staff.user("bob", "dcc_agent", team="北区", name="Bob", phone="13900000002")
    carol = staff.user("carol", "dcc_agent", team="南区", name="Carol", phone="13900000003")
    for agent in (alice, bob, carol):
        agent.agent_status = AgentStatus.AVAILABLE
    return boss, alice, bob, carol


def _lead(session, phone, owner, **kw):
    kw.setdefault("channel", Channel.PORTAL)
    lead = intake.receive(session, intake.LeadInput(phone=phone, owner_id=owner.id, **kw)).lead
    session.flush()
    return lead


def _audits(session, action):
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_customer_search_by_phone_in_any_format_name_and_filters(session, team) -> None:
    boss, alice, bob, carol = team
    wang = _lead(session, "13800138000", alice, name="王先生", series="凯美瑞")
    li = _lead(session, "13912345678", bob, name="李女士", channel=Channel.HOTLINE)
    li.grade = Grade.H
    _lead(session, "13700000001", carol, name="王五")  # another team: never the boss's
    session.flush()

    def found(**criteria):
        page = listing.search(session, boss, listing.CustomerSearch(**criteria))
        return [row.customer.id for row in page.rows]

    assert found() == [li.customer_id, wang.customer_id]  # newest lead first
    for text in ("+86 138-0013-8000", "138 0013 8000", "008613800138000", "8000", "王"):
        assert found(text=text) == [wang.customer_id], text
    assert found(text="%") == [] and found(text="_") == []  # wildcards are plain characters
    assert found(grade=Grade.H) == [li.customer_id]
    assert found(owner_id=alice.id) == [wang.customer_id]
    assert found(channel=Channel.HOTLINE) == [li.customer_id]
    assert found(status=LeadStatus.NEW) == [li.customer_id, wang.customer_id]
    today = clock.local(clock.now(), TZ).date()
    yesterday = today - dt.timedelta(days=1)
    assert found(period=Period(yesterday, yesterday, TZ)) == []
    assert found(period=Period(today, today, TZ)) == [li.customer_id, wang.customer_id]


def test_the_list_and_its_export_count_the_same_customers(session, team) -> None:
    boss, alice, bob, _carol = team
    for n in range(5):
        _lead(session, f"1380013800{n}", alice if n % 2 else bob)
    filters = {"owner_id": bob.id, "status": LeadStatus.NEW}
    listed = listing.search(session, boss, listing.CustomerSearch(**filters))
    assert listed.total == 3
    assert export.count_customers(session, boss, listing.CustomerSearch(**filters)) == 3


def test_pages(session, team) -> None:
    boss, alice, _bob, _carol = team
    for n in range(5):
        _lead(session, f"1380013800{n}", alice)
    first = listing.search(session, boss, listing.CustomerSearch(), per_page=2)
    last = listing.search(session, boss, listing.CustomerSearch(), page=99, per_page=2)
    assert (first.total, first.pages, len(first.rows)) == (5, 3, 2)
    assert (last.page, len(last.rows)) == (3, 1)  # past the end: the last page


def test_customers_of_another_team_are_not_found(session, team) -> None:
    boss, alice, _bob, carol = team
    mine = _lead(session, "13800138000", alice).customer
    theirs = _lead(session, "13800138001", carol).customer
    assert access.get_visible_customers(session, boss, [mine.id]) == [mine]
    with pytest.raises(NotFound):
        access.get_visible_customers(session, boss, [mine.id, theirs.id])
    assert listing.open_lead(session, boss, mine) is not None


def test_reassigning_an_escalated_lead_clears_the_escalation(session, team) -> None:
    boss, alice, bob, _carol = team
    lead = _lead(session, "13800138000", alice)
    followups.cancel_open_work(session, lead)  # the attempt policy gave up: nothing planned
    lead.escalation, lead.escalated_at = escalations.UNREACHABLE, clock.now()
    session.flush()
    assert escalations.unreachable_queue(session, boss) == [lead]
    left_at = clock.now()
    with clock.frozen(left_at):
        reassignment.reassign(session, lead, bob, actor=boss)
    assert lead.owner_id == bob.id
    assert (lead.escalation, lead.escalated_at) == (None, left_at)
    assert escalations.unreachable_queue(session, boss) == []
    [cleared] = _audits(session, "lead.escalation.clear")
    assert cleared.actor_id == boss.id and cleared.details == {"escalation": "unreachable"}
    assert len(_audits(session, "lead.reassign")) == 1
    # Bob has it on his worklist at once.
    [planned] = followups.open_follow_ups(session, lead)
    assert planned.owner_id == bob.id and planned.due_at <= clock.now()


def test_reassigning_a_lead_without_escalation_keeps_its_plan(session, team) -> None:
    boss, alice, bob, _carol = team
    lead = _lead(session, "13800138000", alice)
    before = followups.open_follow_ups(session, lead)
    reassignment.reassign(session, lead, bob, actor=boss)
    assert followups.open_follow_ups(session, lead) == before
    assert before[0].owner_id == bob.id
    assert _audits(session, "lead.escalation.clear") == []


def test_the_no_show_queue_includes_leads_the_nightly_job_has_not_flagged(session, team) -> None:
    boss, alice, bob, carol = team
    long_ago = clock.now() - dt.timedelta(days=40)
    with clock.frozen(long_ago):
        flagged = _lead(session, "13800138000", alice)
        lifecycle.book_appointment(
            session, flagged, at=long_ago + dt.timedelta(days=1), consultant=None, actor=alice
        )
        unflagged = _lead(session, "13800138001", alice)
        lifecycle.book_appointment(
            session, unflagged, at=long_ago + dt.timedelta(days=1), consultant=None, actor=alice
        )
        other_team = _lead(session, "13800138002", carol)
        lifecycle.book_appointment(
            session, other_team, at=long_ago + dt.timedelta(days=1), consultant=None, actor=carol
        )
    recent = _lead(session, "13800138003", alice)
    lifecycle.book_appointment(
        session, recent, at=clock.now() + dt.timedelta(days=1), consultant=None, actor=alice
    )
    flagged.escalation = escalations.NO_SHOW
    session.flush()
    assert escalations.no_show_queue(session, boss) == [flagged, unflagged]
    reassignment.reassign(session, flagged, bob, actor=boss)
    assert flagged.escalation is None
    # Reassigned but still not arrived: the 30-day rule still finds it until it is re-invited.
    assert flagged in escalations.no_show_queue(session, boss)


def test_bulk_reassignment_skips_closed_leads_and_refuses_a_wrong_owner(session, team) -> None:
    boss, alice, bob, _carol = team
    open_lead = _lead(session, "13800138000", alice)
    closed = _lead(session, "13800138001", alice)
    lifecycle.mark_invalid(session, closed, actor=boss, reason="wrong number")
    done = reassignment.reassign_many(session, [open_lead, closed], bob, actor=boss)
    assert done.moved == [open_lead] and [lead for lead, _e in done.refused] == [closed]
    assert closed.owner_id == alice.id
    with pytest.raises(ValidationError) as refused:
        reassignment.reassign_many(session, [open_lead], boss, actor=boss)
    assert refused.value.field == "owner_id"


def test_lost_requests_and_follow_ups_for_review(session, team) -> None:
    boss, alice, bob, carol = team
    mine = _lead(session, "13800138000", alice)
    theirs = _lead(session, "13800138001", carol)
    request = lifecycle.request_lost(session, mine, reason="budget", actor=alice)
    lifecycle.request_lost(session, theirs, reason="price", actor=carol)
    assert review.pending_lost_requests(session, boss) == [request]
    assert review.get_lost_request(session, boss, request.id) is request
    with pytest.raises(NotFound):
        review.get_lost_request(session, alice, request.id + 1)

    [planned] = followups.open_follow_ups(session, mine)
    followups.complete(session, planned, result="客户考虑中", actor=alice)
    today = clock.local(clock.now(), TZ).date()
    week = Period(today - dt.timedelta(days=6), today, TZ)
    [done] = review.follow_ups_done(session, boss, period=week)
    assert done.id == planned.id and done.status == FollowUpStatus.DONE
    assert review.follow_ups_done(session, boss, period=week, owner_id=bob.id) == []
    with pytest.raises(PermissionDenied):
        review.comment(session, done, text="好", manager=alice)
    with pytest.raises(ValidationError) as empty:
        review.comment(session, done, text="  ", manager=boss)
    assert empty.value.field == "comment"
    review.comment(session, done, text="下周再约试驾", manager=boss)
    assert done.manager_comment == "下周再约试驾" and done.commented_by_id == boss.id
    [entry] = _audits(session, "followup.comment")
    assert entry.entity_id == done.id and entry.actor_id == boss.id
    assert review.follow_ups_done(session, boss, period=week, uncommented_only=True) == []
