"""The planner on four hand-built weeks (tests/staffing_data.py), the rota and its head-count,
and turning a plan into shifts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from staffing_data import MONDAY, NOW, SATURDAY, build, hotline_call, local, web_lead

from dcc.audit import AuditEntry
from dcc.config import Settings
from dcc.errors import NotFound, ValidationError
from dcc.staffing import erlang, planner, rota
from dcc.staffing.erlang import Traffic
from dcc.staffing.shifts import rota_from_plan
from dcc.staffing.targets import Targets
from dcc.staffing.targets import load as load_targets
from dcc.staffing.targets import save as save_targets

SETTINGS = Settings()  # Asia/Shanghai, opening 08:30-20:00, calling 08:00-21:00
FEW = Targets(min_samples=5)


@pytest.fixture()
def world(session, staff):
    return build(session, staff)


def _plan(session, **kw):
    kw.setdefault("target", FEW)
    return planner.recommend(session, now=NOW, settings=SETTINGS, **kw)


def test_the_weeks_measured_are_counted_per_half_hour_in_local_time(session, world) -> None:
    plan = _plan(session)
    assert plan.weeks == 4 and len(plan.slots) == 7 * 48
    assert plan.start == local(2, 6) and plan.end == local(30, 6)
    saturday = plan.slot(SATURDAY, 10 * 60)
    # Six calls and three web leads (two north, one south) each Saturday half hour at 10:00.
    assert (saturday.calls, saturday.web_leads) == (6.0, 3.0)
    assert plan.slot(MONDAY, 9 * 60).calls == 1.0
    # A web lead after calling hours becomes work when calling opens (Saturday 08:00).
    assert plan.slot(SATURDAY, 8 * 60).web_leads == 0.25
    # The after-hours call and the calls and leads before the weeks count nowhere.
    assert sum(s.calls for s in plan.slots) == 7.0
    assert sum(s.web_leads for s in plan.slots) == 3.25
    m = plan.measured
    assert (m.calls, m.answered, m.abandoned, m.after_hours) == (28, 20, 8, 1)
    assert (m.web_leads, m.web_calls) == (13, 12)


def test_handle_times_and_patience_are_measured(session, world) -> None:
    plan = _plan(session)
    m = plan.measured
    assert m.talk_seconds == 230 and m.web_call_seconds == 100
    assert m.wrap_ups == 32 and m.wrap_up_seconds == 30
    # Patience: every queued caller's wait over the callers who hung up.
    assert m.patience_seconds == pytest.approx((20 * 10 + 4 * 50 + 4 * 70) / 8)
    saturday = plan.slot(SATURDAY, 10 * 60)
    assert saturday.call_handle == 230 + 30 and saturday.web_handle == 100 + 30
    assert saturday.handle_basis == planner.Basis.SLOT  # 20 answered calls there
    assert saturday.patience == 85 and saturday.patience_basis == planner.Basis.WEEK
    monday = plan.slot(MONDAY, 9 * 60)
    assert monday.handle_basis == planner.Basis.WEEK and monday.call_handle == 260


def test_thin_data_falls_back_to_the_dealers_figures(session, world) -> None:
    thin = Targets(min_samples=50, call_talk_seconds=200, wrap_up_seconds=40, patience_seconds=75)
    saturday = _plan(session, target=thin).slot(SATURDAY, 10 * 60)
    assert saturday.call_handle == 240 and saturday.web_handle == thin.web_call_seconds + 40
    assert saturday.patience == 75
    assert (saturday.handle_basis, saturday.patience_basis) == ("default", "default")


def test_the_requirement_covers_the_calls_and_all_the_work_together(session, world) -> None:
    saturday = _plan(session).slot(SATURDAY, 10 * 60)
    calls = Traffic(6 / 1800, 260, 85)
    # The calls alone: two agents answer 80% within 20 s, one does not.
    assert saturday.call_agents == 2
    assert erlang.service_level(calls, 1, 20) < 0.8 <= erlang.service_level(calls, 2, 20)
    # Calls and leads pooled (load 1.08 Erlangs): 90% started within 60 s needs three.
    pooled = Traffic(9 / 1800, (6 * 260 + 3 * 130) / 9)
    assert erlang.service_level(pooled, 2, 60) < 0.9 <= erlang.service_level(pooled, 3, 60)
    assert saturday.pooled_agents == 3 and saturday.required == 3
    assert saturday.service_level == pytest.approx(erlang.service_level(calls, 3, 20))
    # A quiet Monday call needs one agent; an empty half hour none.
    assert _plan(session).slot(MONDAY, 9 * 60).required == 1
    assert _plan(session).slot(MONDAY, 3 * 60).required == 0


def test_a_looser_target_needs_fewer_agents(session, world) -> None:
    loose = dataclasses.replace(FEW, web_lead_share=0.5, call_answer_share=0.5)
    saturday = _plan(session, target=loose).slot(SATURDAY, 10 * 60)
    assert saturday.required < 3


def test_a_team_supervisor_plans_for_the_teams_work(session, world) -> None:
    north = _plan(session, reader=world.sup).slot(SATURDAY, 10 * 60)
    assert (north.calls, north.web_leads) == (6.0, 2.0)
    dealer = _plan(session, reader=world.admin).slot(SATURDAY, 10 * 60)
    assert dealer.web_leads == 3.0


def test_the_plan_depends_only_on_the_data_and_now(session, world) -> None:
    first = _plan(session)
    assert _plan(session) == first
    # A week later the first Saturday has left the weeks measured.
    later = planner.recommend(
        session, now=NOW + dt.timedelta(days=7), settings=SETTINGS, target=FEW
    )
    assert later.slot(SATURDAY, 10 * 60).calls == 4.5


def test_weeks_and_targets_are_the_dealers_unless_given(session, world) -> None:
    assert load_targets(session) == Targets()
    save_targets(session, weeks=2, call_answer_share="0.9", min_samples=5)
    stored = load_targets(session)
    assert (stored.weeks, stored.call_answer_share, stored.call_answer_seconds) == (2, 0.9, 20)
    plan = planner.recommend(session, now=NOW, settings=SETTINGS)
    assert plan.weeks == 2 and plan.targets == stored
    assert plan.slot(SATURDAY, 10 * 60).calls == 6.0
    assert planner.recommend(session, now=NOW, settings=SETTINGS, weeks=1).weeks == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"call_answer_share": "1.5"}, "call_answer_share"),
        ({"call_answer_seconds": "soon"}, "call_answer_seconds"),
        ({"weeks": "2.5"}, "weeks"),
        ({"weeks": 0}, "weeks"),
        ({"favourite_colour": 3}, "favourite_colour"),
    ],
)
def test_bad_targets_are_refused_naming_the_field(session, changes, field) -> None:
    with pytest.raises(ValidationError) as refused:
        save_targets(session, **changes)
    assert refused.value.field == field
    assert load_targets(session) == Targets()


# --- the rota ----------------------------------------------------------------------------------


def test_a_days_shifts_are_read_as_a_supervisor_writes_them() -> None:
    assert rota.parse_day("09:00-12:00, 13:00-18:30") == [(540, 720), (780, 1110)]
    assert rota.parse_day("13:00-18:00，08:30 - 12:00") == [(510, 720), (780, 1080)]
    assert rota.parse_day("20:00-24:00") == [(1200, 1440)]
    assert rota.parse_day("") == rota.parse_day("off") == rota.parse_day("休") == []
    assert rota.format_day([(780, 1080), (510, 720)]) == "08:30-12:00, 13:00-18:00"
    for bad in ("9-17", "09:15-17:00", "17:00-09:00", "09:00-13:00, 12:00-18:00", "25:00-26:00"):
        with pytest.raises(ValidationError) as refused:
            rota.parse_day(bad, field="mon")
        assert refused.value.field == "mon", bad


def test_the_rota_head_count_counts_inbound_agents_by_half_hour(session, world) -> None:
    rota.set_days(
        session,
        world.sup,
        {
            (world.alice.id, SATURDAY): rota.parse_day("08:00-12:00, 13:00-17:00"),
            (world.bob.id, SATURDAY): rota.parse_day("08:00-17:00"),  # outbound only
        },
    )
    grid = rota.head_count(session, world.sup)
    saturday = grid[SATURDAY]
    assert saturday[16] == 1 and saturday[23] == 1  # 08:00 and 11:30
    assert saturday[24] == 0 and saturday[25] == 0  # the lunch break
    assert saturday[26] == 1 and saturday[34] == 0  # 13:00; 17:00 is after the shift
    assert sum(map(sum, grid)) == 16
    # Writing a day replaces it; the admin sees the south team too.
    rota.set_days(session, None, {(world.carol.id, SATURDAY): [(600, 660)]})
    assert rota.head_count(session, world.admin)[SATURDAY][20] == 2
    assert rota.head_count(session, world.sup)[SATURDAY][20] == 1
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "rota.set")).all()
    assert [e.actor_id for e in entries] == [world.sup.id, None]


def test_a_team_supervisor_plans_only_the_teams_agents(session, world) -> None:
    assert [a.login for a in rota.plannable_agents(session, world.sup)] == ["alice", "bob"]
    with pytest.raises(NotFound):
        rota.set_days(session, world.sup, {(world.carol.id, MONDAY): [(540, 1080)]})
    assert rota.shifts(session, world.admin) == []


# --- shifts from a plan ------------------------------------------------------------------------


def test_the_recommended_shifts_cover_the_plan(session, world) -> None:
    plan = _plan(session)
    shifts = rota_from_plan(plan)
    required = plan.required_grid()
    for day in range(7):
        for slot in range(48):
            covering = sum(s.covers(slot) for s in shifts if s.weekday == day)
            assert covering >= required[day][slot], (day, slot)
    assert all(4 <= s.hours <= 9 for s in shifts)
    saturday = [s for s in shifts if s.weekday == SATURDAY]
    assert [s.seat for s in saturday] == list(range(1, len(saturday) + 1))
    assert len(saturday) == max(required[SATURDAY])


def test_a_late_need_gets_a_shift_that_ends_at_closing() -> None:
    grid = [[0] * 48 for _ in range(7)]
    grid[0][16] = 1  # Monday 08:00: the week opens at 08:00
    grid[2][40] = grid[2][41] = 1  # Wednesday 20:00 to 21:00, and nobody after 21:00 all week
    monday, wednesday = rota_from_plan(grid)
    assert (monday.weekday, monday.start, monday.end) == (0, 8 * 60, 12 * 60)
    assert (wednesday.weekday, wednesday.start, wednesday.end) == (2, 17 * 60, 21 * 60)
    grid[2][47] = 1  # and 23:30, the last half hour: one shift covers both
    assert [(s.start, s.end) for s in rota_from_plan(grid) if s.weekday == 2] == [
        (20 * 60, 24 * 60)
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), min_size=48, max_size=48), min_size=7, max_size=7))
def test_any_plan_is_covered_by_shifts_of_four_to_nine_hours(grid) -> None:
    shifts = rota_from_plan(grid)
    for day in range(7):
        for slot in range(48):
            covering = sum(s.covers(slot) for s in shifts if s.weekday == day)
            assert covering >= grid[day][slot]
    assert all(4 * 60 <= s.end - s.start <= 9 * 60 for s in shifts)
    assert all(0 <= s.start < s.end <= 24 * 60 for s in shifts)
    needed = [slot for day in grid for slot, n in enumerate(day) if n]
    if needed:  # within the week's working hours, where a shift is not too long for them
        opening, closing = min(needed), max(needed) + 1
        assert all(s.start >= min(opening, 40) * 30 for s in shifts)
        assert all(s.end <= min(48, max(closing, opening + 8)) * 30 for s in shifts)


def test_more_work_in_a_half_hour_never_needs_fewer_agents(session, world) -> None:
    before = _plan(session).slot(SATURDAY, 10 * 60).required
    for day in (7, 14, 21, 28):
        for minute in (1, 2, 3, 4, 6, 7):
            hotline_call(session, world.alice, local(day, 10, minute), wait=5, talk=230, wrap=30)
        web_lead(session, world.alice, local(day, 10, 8), call_after=20, wrap=30)
    session.commit()
    after = _plan(session).slot(SATURDAY, 10 * 60)
    assert after.calls == 12 and after.required > before
