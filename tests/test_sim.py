"""The dealership simulation: short runs of the shipped scenario that drive the real webhooks,
the telephony simulator's engine, the domain and the jobs on a virtual clock.

Each run has its own app, SQLite file and embedded Redis (the simulation commits, as the
service does), so these tests do not use the suite's rolled-back session.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from dcc import create_app, migrate
from dcc.db import get_database
from dcc.sim import scenario as scenarios
from dcc.sim import staffing, world
from dcc.sim.run import Result, simulate
from dcc.staffing import rota
from dcc.staffing.shifts import rota_from_plan
from dcc.users.models import User


def sim_app(folder: Path) -> Flask:
    app = create_app(world.sim_settings("", str(folder)))
    world.without_durability(app)
    migrate.upgrade(get_database(app).url)
    return app


def play(
    folder: Path,
    days: int,
    *,
    seed: int = 1,
    scenario: scenarios.Scenario | None = None,
    **options: Any,
) -> Result:
    chosen = scenario or scenarios.load()
    return simulate(sim_app(folder), chosen, seed=seed, days=days, **options)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Result:
    return play(tmp_path_factory.mktemp("two-days"), 2)


def test_two_days_keep_the_loop_closed(two_days: Result) -> None:
    figures = two_days.figures
    assert figures["violations"] == []
    assert figures["job_failures"] == []
    # Every hotline caller nobody answered is owed a callback.
    assert figures["abandoned_without_callback"] == 0
    # The web leads of the staffed hours were called within a minute: by an agent, or, when
    # every agent on shift was on a call (two in the morning), by ringing the customer first.
    speed = figures["speed_to_lead"]
    assert speed["leads"] > 20
    assert speed["within_60s_share"] >= 0.99
    assert speed["p95"] is not None and speed["p95"] <= 60
    assert 0 <= speed["rung_first"] < speed["leads"] / 5


def test_two_days_drive_the_whole_system(two_days: Result) -> None:
    figures, activity = two_days.figures, two_days.figures["activity"]
    # The signed webhooks took the leads and the calls; the agents worked them on the domain.
    assert activity["web_lead"] > 20 and activity["hotline_call"] > 40
    assert figures["hotline_calls"] > 40 and figures["service_level"] is not None
    assert activity["outcome_appointment"] > 0 and activity["walk_in"] > 0
    assert activity["worklist_follow_up"] > 0 and activity["arrival"] > 0
    assert figures["jobs_run"] > 100
    kpis = figures["kpis"]
    assert kpis["leads"] > 100 and kpis["invited"] > 0 and kpis["dialled"] > 0
    assert [day["day"] for day in figures["per_day"]] == ["2026-10-05", "2026-10-06"]
    assert all(day["nightly_audit_violations"] == 0 for day in figures["per_day"])


def test_a_job_that_never_runs_is_reported_by_the_audit(tmp_path: Path) -> None:
    # Nothing marks missed visits: the booked visits whose time has passed stay unresolved.
    # (Customers who rarely come make sure there are missed visits by the second day.)
    base = scenarios.load()
    flaky = replace(base, customers=replace(base.customers, show=0.1))
    result = play(
        tmp_path,
        2,
        scenario=flaky,
        skip_tasks={"appointment.no_show", "appointments.no_show_sweep"},
    )
    kinds = {v["kind"] for v in result.violations}
    assert kinds == {"appointment_unresolved"}
    assert all("appointment_id" in v["ids"] for v in result.violations)


def test_the_same_seed_gives_the_same_figures(tmp_path: Path) -> None:
    first = play(tmp_path / "one", 1, seed=5)
    second = play(tmp_path / "two", 1, seed=5)
    assert first.figures == second.figures
    other = play(tmp_path / "three", 1, seed=6)
    assert other.figures["kpis"] != first.figures["kpis"]


def test_the_same_seed_gives_the_same_figures_over_two_days(
    tmp_path: Path, two_days: Result
) -> None:
    # The second day starts from what the first left: its callbacks, follow-ups and visits.
    again = play(tmp_path, 2)
    assert again.figures == two_days.figures
    assert two_days.figures["per_day"][1]["kpis"] != two_days.figures["per_day"][0]["kpis"]


def small() -> scenarios.Scenario:
    """The shipped store at about a third of its traffic: quick to play."""
    base = scenarios.load()
    fewer = replace(base.arrivals, hotline_per_day=15, web_per_day=10, walk_in_per_day=6)
    return replace(base, arrivals=fewer)


def need(*spans: tuple[str, str, int]) -> list[int]:
    """A day's agents per half hour: ``(from, to, agents)`` spans, nobody elsewhere."""
    day = [0] * rota.SLOTS_PER_DAY
    for begin, end, agents in spans:
        first, last = rota.parse_day(f"{begin}-{end}")[0]
        for slot in range(first // rota.SLOT_MINUTES, last // rota.SLOT_MINUTES):
            day[slot] = agents
    return day


def test_the_planners_advice_becomes_the_played_rota(tmp_path: Path) -> None:
    # Monday needs one agent from 08:00, two from 12:00 to 17:00 and one until 21:00; the
    # rest of the week nobody. Agents come on and go off so that every half hour of the
    # played Monday has exactly the advised agents on shift, and none work on Tuesday.
    advice = [need(("08:00", "12:00", 1), ("12:00", "17:00", 2), ("17:00", "21:00", 1))]
    advice += [[0] * rota.SLOTS_PER_DAY for _ in range(6)]
    planned = rota_from_plan(advice)
    played = small().with_rota(planned)
    assert played.staff.agents == 2
    assert played.staff.duties(0) == [(0, 8 * 60, 17 * 60), (1, 12 * 60, 21 * 60)]
    assert played.staff.duties(1) == []
    app = sim_app(tmp_path)
    result = simulate(app, played, seed=1, days=2)
    # The dealership's rota (the staffing page's) is the one played.
    with app.app_context(), get_database(app).session_scope() as session:
        manager = session.scalars(select(User).where(User.login == "manager")).one()
        assert rota.head_count(session, manager) == advice
    monday, tuesday = result.figures["per_day"]
    assert monday["on_shift"] == advice[0]
    assert tuesday["on_shift"] == [0] * rota.SLOTS_PER_DAY
    assert staffing.short_slots(result.figures, advice) == []
    assert result.violations == []
    assert result.figures["abandoned_without_callback"] == 0
    # Speed to lead counts only the web leads of the rota's staffed hours: Monday's.
    assert 0 < result.figures["speed_to_lead"]["leads"] < result.figures["activity"]["web_lead"]


def test_the_what_if_plays_each_head_count_and_the_planners_advice(tmp_path: Path) -> None:
    folders = iter(range(100))
    report = staffing.what_if(
        lambda: sim_app(tmp_path / str(next(folders))),
        small(),
        [1, 4],
        seed=2,
        days=2,
    )
    one, four = report["counts"]
    assert (one["agents"], four["agents"]) == (1, 4)
    assert one["service_level"] < four["service_level"]
    assert one["abandoned"] > four["abandoned"]
    assert one["violations"] == four["violations"] == 0
    plan = report["planner"]
    # The same customers call in every run, whatever the agents did before.
    assert one["hotline_calls"] == four["hotline_calls"] == plan["played"]["hotline_calls"]
    assert plan["measured_with_agents"] == 4
    # The advice is per half hour: nobody at night, someone when calls come.
    monday = plan["required"][0]
    assert monday[:14] == [0] * 14 and max(monday) >= 1
    # Played as a rota covering every advised half hour, it keeps the loop closed and its
    # service level is measured against the dealer's target.
    assert plan["short_slots"] == []
    assert plan["played"]["violations"] == 0
    assert plan["played"]["abandoned_without_callback"] == 0
    assert plan["rota"][0]["agents"] >= 1 and plan["rota"][0]["shifts"]
    assert plan["target"] == {"share": 0.8, "seconds": 20}
    assert plan["reaches_target"] == (plan["service_level"] >= 0.8)
    text = "\n".join(staffing.as_text(report))
    assert "played as advised" in text and "the target of 80.0%" in text


def test_a_rota_needs_seats_that_do_not_overlap() -> None:
    base = scenarios.load()
    with pytest.raises(scenarios.ScenarioError, match="at least one shift"):
        base.with_rota([])
    with pytest.raises(scenarios.ScenarioError, match="two shifts at once"):
        base.with_rota([rota.Shift(0, 480, 720, seat=1), rota.Shift(0, 600, 900, seat=1)])
    # --agents N leaves the rota for the scenario's shifts taken in turn.
    again = base.with_rota([rota.Shift(2, 480, 720, seat=3)]).with_agents(2)
    assert again.staff.rota == () and again.staff.duties(2) == [(0, 480, 1020), (1, 720, 1260)]


def test_a_scenario_with_a_bad_value_names_its_key(tmp_path: Path) -> None:
    text = scenarios.DEFAULT.read_text(encoding="utf-8").replace("agents = 4", "agents = 0")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(scenarios.ScenarioError, match="agents"):
        scenarios.load(path)
