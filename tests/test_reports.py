"""Report functions on a hand-built month (tests/report_data.py) with answers worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from report_data import build, local
from sqlalchemy import select

from dcc import clock, reports
from dcc.leads import reassignment
from dcc.leads.models import FollowUp, FollowUpStatus, Lead, LeadStatus
from dcc.reports import funnel, rollup
from dcc.reports.models import AgentDay, BuiltDay
from dcc.reports.period import Group, Period

MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "Asia/Shanghai")


@pytest.fixture()
def world(session, staff):
    return build(session, staff)


def run(session, name, reader, group=None, period=MARCH):
    return reports.run(session, name, reader=reader, period=period, group=group)


def test_funnel_kpis_for_the_team_manager(session, world) -> None:
    total = run(session, "funnel", world.boss).totals
    assert (total.leads, total.valid, total.invited, total.showed) == (10, 9, 6, 4)
    assert (total.arrived, total.orders, total.lost, total.lost_subjective) == (4, 2, 2, 1)
    assert total.valid_rate == pytest.approx(0.9)
    assert total.invitation_rate == pytest.approx(6 / 9)
    assert total.show_rate == pytest.approx(4 / 6)
    assert total.close_rate_after_visit == pytest.approx(2 / 4)
    assert total.lead_close_rate == pytest.approx(2 / 9)
    assert total.lost_rate == pytest.approx(2 / 10)
    assert total.subjective_lost_share == pytest.approx(1 / 2)
    # 60 120 240 299 | 301 | 600 900 1800 3600: the middle of nine, and four within 300 s.
    assert total.first_response_median_seconds == pytest.approx(301)
    assert total.first_response_5min_share == pytest.approx(4 / 9)
    assert (total.dialled, total.outbound_connects) == (5, 2)
    assert total.connect_rate == pytest.approx(0.4)


def test_funnel_per_agent_has_each_agents_median_and_connect_rate(session, world) -> None:
    rows = {r.label: r for r in run(session, "funnel", world.boss, Group.AGENT).rows}
    assert set(rows) == {"Alice", "Bob"}
    alice, bob = rows["Alice"], rows["Bob"]
    assert (alice.leads, alice.valid, alice.orders) == (5, 4, 2)
    assert alice.first_response_median_seconds == pytest.approx(240)
    assert bob.first_response_median_seconds == pytest.approx((900 + 1800) / 2)
    assert alice.connect_rate == pytest.approx(2 / 3)
    assert bob.connect_rate == 0
    assert bob.invitation_rate == pytest.approx(2 / 5)
    assert bob.close_rate_after_visit is None  # nobody of bob's arrived: no denominator


def test_funnel_by_model_and_source(session, world) -> None:
    models = {r.label: r.leads for r in run(session, "funnel", world.boss, Group.MODEL).rows}
    assert models == {"凯美瑞": 9, "汉兰达": 1}
    by_source = {r.label: r.leads for r in run(session, "funnel", world.boss, Group.SOURCE).rows}
    assert by_source == {"汽车网站": 9, "400热线": 1}


def test_admin_sees_every_team_and_an_agent_only_their_own(session, world) -> None:
    assert run(session, "funnel", world.admin).totals.leads == 11
    assert run(session, "funnel", world.alice).totals.leads == 5
    assert run(session, "funnel", world.carol).totals.leads == 1


def test_rates_are_none_without_a_denominator(session, world) -> None:
    empty = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31), "Asia/Shanghai")
    total = run(session, "funnel", world.boss, period=empty).totals
    assert total.leads == 0
    assert total.valid_rate is None and total.show_rate is None and total.connect_rate is None
    assert total.first_response_median_seconds is None


def test_lost_statistics_and_analysis(session, world) -> None:
    stats = run(session, "lost_stats", world.boss)
    assert [(r.label, r.lost, r.objective, r.subjective) for r in stats.rows] == [("Bob", 2, 1, 1)]
    assert stats.totals.subjective_share == pytest.approx(0.5)
    analysis = run(session, "lost_analysis", world.admin)  # carol's design loss too
    counts = {r.reason: (r.kind, r.lost) for r in analysis.rows if r.lost}
    assert counts == {"budget": ("客观", 1), "competitor": ("主观", 1), "design": ("客观", 1)}
    assert analysis.totals.objective_share == pytest.approx(2 / 3)
    assert analysis.totals.subjective_share == pytest.approx(1 / 3)
    assert len(analysis.rows) == 10  # every reason is listed, zeros included


def test_daily_work_per_agent_per_day(session, world) -> None:
    result = run(session, "daily_work", world.sup)
    rows = {(r.day.isoformat(), r.agent): r for r in result.rows}
    assert set(rows) == {("2026-03-05", "Alice"), ("2026-03-06", "Bob"), ("2026-03-07", "Alice")}
    alice = rows[("2026-03-05", "Alice")]
    assert (alice.calls, alice.dialled, alice.outbound_connects) == (4, 3, 2)
    assert (alice.inbound_answered, alice.connects, alice.talk_seconds) == (1, 3, 270)
    assert alice.connect_rate == pytest.approx(2 / 3)
    assert alice.appointments == 2
    assert rows[("2026-03-07", "Alice")].arrivals == 1
    bob = rows[("2026-03-06", "Bob")]
    assert (bob.calls, bob.connects, bob.connect_rate) == (2, 0, 0)
    assert result.totals.connect_rate == pytest.approx(2 / 5)
    assert result.chart.labels == ["Alice", "Bob"]


def test_daily_work_rollup_gives_the_live_answer(session, world) -> None:
    """Closed days come from the roll-up, open days live; both must agree with the data."""
    with clock.frozen(local(6, 12)):  # 03-05 is closed, 03-06 still open
        live = run(session, "daily_work", world.boss)
        assert session.get(BuiltDay, ("agent_day", dt.date(2026, 3, 5))) is not None
        assert session.get(BuiltDay, ("agent_day", dt.date(2026, 3, 6))) is None
    assert session.get(AgentDay, (dt.date(2026, 3, 5), world.alice.id)).dialled == 3
    built = run(session, "daily_work", world.boss)  # now every March day is closed
    assert [(r.day, r.agent, r.calls) for r in live.rows[:2]] == [
        (r.day, r.agent, r.calls) for r in built.rows[:2]
    ]
    assert rollup.build(session, MARCH.days, "Asia/Shanghai") == 0  # nothing left to build


def test_info_retention_rate_scaled_from_the_deck(session, world) -> None:
    result = run(session, "retention", world.boss)
    total = result.totals
    assert (total.first_visits, total.not_closed, total.left_phone) == (20, 18, 17)
    assert total.retention_rate == pytest.approx(17 / 18)  # the deck: 1,689 / 1,787


def test_showroom_traffic(session, world) -> None:
    result = run(session, "traffic", world.boss)
    total = result.totals
    assert (total.visits, total.people, total.first_visits, total.return_visits) == (24, 42, 21, 3)
    assert (total.with_contact, total.without_contact, total.closed) == (23, 1, 2)
    assert [r.label for r in result.rows] == ["2026-03-07", "2026-03-10"]
    assert total.visits_by_hour[14] == 23 and total.visits_by_hour[10] == 1


def test_arrivals_and_customer_grades(session, world) -> None:
    arrivals = run(session, "arrivals", world.boss).totals
    assert (arrivals.appointments, arrivals.arrived, arrivals.no_show) == (2, 1, 1)
    assert arrivals.show_rate == pytest.approx(0.5)
    grades = run(session, "customers", world.boss).totals
    assert grades.leads == 10
    assert grades.by_status["ordered"] == 2 and grades.by_status["lost"] == 2


def test_source_analysis(session, world) -> None:
    rows = {r.label: r for r in run(session, "sources", world.boss).rows}
    assert (rows["汽车网站"].leads, rows["汽车网站"].orders) == (9, 1)
    assert rows["400热线"].lead_close_rate == 1


def test_every_report_runs_and_gives_a_chart(session, world) -> None:
    for name in reports.REPORTS:
        result = run(session, name, world.admin).to_dict()
        assert set(result) >= {"rows", "totals", "chart"}
        assert all(
            len(s["data"]) == len(result["chart"]["labels"]) for s in result["chart"]["series"]
        )


# --- the lead roll-ups: closed days summed once, rebuilt when one of their leads changes ------


def later() -> dt.datetime:
    """Two days after the world was built: its leads' updates are old news by then, even to
    the nightly check (rollup.LATE)."""
    return clock.now() + dt.timedelta(days=2)


def live_funnel(session, reader, group):
    """The funnel's counts and medians from a scan of every lead (no roll-up)."""
    keys = [Lead.owner_id] if group else []
    where = funnel.cohort(reader, MARCH)
    by_key, histograms = funnel.scan(session, where, keys)
    medians = funnel.response_medians(session, where, keys, histograms) if group else {}
    total = funnel.response_medians(session, where, [], {(): funnel.merged(histograms)})[()]
    return by_key, medians, total


@pytest.mark.parametrize(
    "now",
    [local(5, 12), local(6, 12), local(31, 12), local(2, 12, month=4)],
    ids=["03-05 open", "03-06 open", "03-31 open", "all closed"],
)
def test_funnel_rollup_agrees_with_a_scan_of_every_lead(session, world, now) -> None:
    def known(medians):  # a group without any response has no median either way
        return {k: v for k, v in medians.items() if v is not None}

    with clock.frozen(now):
        for reader in (world.boss, world.admin, world.alice, world.carol):
            for group in (None, Group.AGENT):
                counts, medians, total = funnel.rolled_up(session, reader, MARCH, group)
                live_counts, live_medians, live_total = live_funnel(session, reader, group)
                assert counts == live_counts
                assert known(medians) == known(live_medians)
                assert total == live_total


def test_funnel_rollup_follows_a_lead_changed_after_its_day(session, world) -> None:
    march5 = (funnel.LEAD_DAYS.kind, dt.date(2026, 3, 5))
    with clock.frozen(later()):
        before = run(session, "funnel", world.boss, Group.AGENT)
        built_at = session.get(BuiltDay, march5).built_at
        assert funnel.LEAD_DAYS.ensure(session, MARCH.days, "Asia/Shanghai") == 0
    with clock.frozen(later() + dt.timedelta(hours=1)):
        contacting = world.leads[7]  # bob's lead 8, received 03-05: invited a month later
        contacting.status, contacting.invited_at = LeadStatus.INVITED, clock.now()
        session.commit()
    with clock.frozen(later() + dt.timedelta(hours=2)):
        after = run(session, "funnel", world.boss, Group.AGENT)
        assert session.get(BuiltDay, march5).built_at > built_at  # rebuilt, not patched
    assert (before.totals.invited, after.totals.invited) == (6, 7)
    assert after.totals.invitation_rate == pytest.approx(7 / 9)
    bob = {r.label: r for r in after.rows}["Bob"]
    assert (bob.invited, bob.invitation_rate) == (3, pytest.approx(3 / 5))
    assert after.totals.first_response_median_seconds == pytest.approx(301)  # unchanged


def test_funnel_rollup_follows_a_reassigned_lead(session, world) -> None:
    with clock.frozen(later()):
        assert run(session, "funnel", world.carol).totals.leads == 1
    with clock.frozen(later() + dt.timedelta(hours=1)):
        reassignment.reassign(session, world.leads[7], world.carol, actor=world.admin)
        session.commit()
    with clock.frozen(later() + dt.timedelta(hours=2)):
        assert run(session, "funnel", world.carol).totals.leads == 2
        total = run(session, "funnel", world.boss).totals
    # Lead 8 is carol's (south) now, out of the north manager's sight, median 600 with it.
    assert (total.leads, total.valid, total.invited) == (9, 8, 6)
    assert total.first_response_median_seconds == pytest.approx((299 + 301) / 2)


def follow_up(session, lead, owner, due: dt.datetime, done: dt.datetime | None = None, **kw):
    row = FollowUp(
        lead_id=lead.id,
        owner_id=owner.id,
        due_at=due,
        status=FollowUpStatus.DONE if done else FollowUpStatus.OPEN,
        done_at=done,
        **kw,
    )
    session.add(row)
    return row


def test_followups_per_owner_from_the_rollup_and_live(session, world) -> None:
    """Bob's lead 8: done 03-06 on time with a result, 03-12 late without one, 03-31 (the open
    day) on time; one open follow-up was due 03-20, one is due in April."""
    lead8 = world.leads[7]
    follow_up(session, lead8, world.bob, local(6), local(6, 15), result="已联系")
    follow_up(session, lead8, world.bob, local(10), local(12), result="")
    follow_up(session, lead8, world.bob, local(31, 9), local(31, 11), result="再约")
    follow_up(session, lead8, world.bob, local(20))
    follow_up(session, lead8, world.bob, local(3, month=4))
    follow_up(session, world.leads[0], world.alice, local(2), local(2, 9), result="空号")
    session.commit()
    with clock.frozen(local(31, 18)):  # 03-31 is still open: its follow-up is counted live
        result = run(session, "followups", world.boss)
        assert session.get(BuiltDay, ("follow_up_day", dt.date(2026, 3, 30))) is not None
        assert session.get(BuiltDay, ("follow_up_day", dt.date(2026, 3, 31))) is None
    rows = {r.label: r for r in result.rows}
    bob, alice = rows["Bob"], rows["Alice"]
    assert (bob.open, bob.due, bob.overdue) == (2, 1, 1)
    assert (bob.done, bob.with_result, bob.on_time) == (3, 2, 2)
    assert bob.on_time_rate == pytest.approx(2 / 3)
    assert (alice.open, alice.done, alice.with_result, alice.on_time) == (0, 1, 1, 1)
    assert [r.label for r in result.rows] == ["Bob", "Alice"]  # most overdue first
    assert (result.totals.done, result.totals.on_time) == (4, 3)
    with clock.frozen(local(31, 18)):
        by_model = run(session, "followups", world.boss, Group.MODEL)  # no roll-up: live
    assert (by_model.totals.open, by_model.totals.done) == (2, 4)


def test_followups_rollup_follows_a_reassigned_lead(session, world) -> None:
    lead8 = world.leads[7]
    follow_up(session, lead8, world.bob, local(6), local(6, 15), result="已联系")
    follow_up(session, lead8, world.bob, local(10), local(12), result="")
    follow_up(session, lead8, world.bob, later() + dt.timedelta(days=3))
    session.commit()
    with clock.frozen(later()):
        before = run(session, "followups", world.boss)
    assert [(r.label, r.open, r.done) for r in before.rows] == [("Bob", 1, 2)]
    with clock.frozen(later() + dt.timedelta(hours=1)):
        reassignment.reassign(session, lead8, world.carol, actor=world.admin)
        session.commit()
    with clock.frozen(later() + dt.timedelta(hours=2)):
        north = run(session, "followups", world.boss)
        everyone = run(session, "followups", world.admin)
    # The lead went south: the north manager no longer counts its follow-ups, done or open.
    assert north.rows == [] and north.totals.done == 0
    counts = {r.label: (r.open, r.done) for r in everyone.rows}
    assert counts == {"Bob": (0, 2), "Carol": (1, 0)}  # done work stays bob's


def test_nightly_rollup_builds_every_rollup_and_catches_a_late_commit(session, world) -> None:
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(31)]
    with clock.frozen(later()):
        built = reports.build_rollups(session, days, "Asia/Shanghai")
        assert built == {"agent_day": 31, "lead_day": 31, "follow_up_day": 31}
        assert run(session, "funnel", world.admin).totals.orders == 2
    # A change stamped well before the build but committed after it (a long transaction):
    # too old for the check before each report, not for the nightly one.
    lead9 = world.leads[8]
    lead9.status = LeadStatus.ORDERED
    session.flush()
    lead9.updated_at = later() - dt.timedelta(hours=1)
    session.commit()
    with clock.frozen(later() + dt.timedelta(hours=1)):
        assert funnel.LEAD_DAYS.ensure(session, days, "Asia/Shanghai") == 0
        assert run(session, "funnel", world.admin).totals.orders == 2  # stale until tonight
    with clock.frozen(later() + dt.timedelta(days=1)):
        assert reports.build_rollups(session, days, "Asia/Shanghai")["lead_day"] == 1
        assert run(session, "funnel", world.admin).totals.orders == 3
        marks = session.scalars(select(BuiltDay).where(BuiltDay.kind == "lead_day")).all()
        assert {m.built_at for m in marks} == {clock.now()}  # the rest re-dated


def test_the_first_column_says_what_a_row_is_in_every_grouping(session, world) -> None:
    """A day, the whole, an agent, a source or a model: the header follows the grouping."""
    firsts = {
        (name, group): run(session, name, world.boss, Group(group) if group else None)
        .columns[0]
        .title
        for name, spec in reports.REPORTS.items()
        for group in ("", *(g.value for g in spec.groups))
    }
    assert firsts[("traffic", "")] == firsts[("arrivals", "")] == "日期"
    assert firsts[("traffic", "agent")] == firsts[("retention", "agent")] == "销售顾问"
    assert firsts[("followups", "")] == firsts[("followups", "agent")] == "跟进人"
    assert firsts[("followups", "source")] == firsts[("funnel", "source")] == "来源"
    assert firsts[("followups", "model")] == firsts[("customers", "model")] == "车型"
    assert firsts[("lost_stats", "")] == firsts[("arrivals", "agent")] == "坐席"
    assert firsts[("funnel", "")] == "分组"  # one row: the whole dealership (全部)
