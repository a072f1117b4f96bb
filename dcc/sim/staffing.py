"""The staffing what-if: the same days played with 2, 3 … agents, and the planner's advice
checked by playing it.

Each head-count gets a fresh database and the same seed, so the customers are the same people
arriving at the same moments; only the agents differ. The planner (:mod:`dcc.staffing`)
measures the run with the scenario's own head-count exactly as ``/reports/staffing`` measures
a real dealer's weeks; its recommended head-count (the busiest half hour's need) is then
played on the same days, and the service level it reaches is compared with the target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask

from dcc import clock
from dcc.config import get_settings
from dcc.db import get_database
from dcc.sim.output import pct
from dcc.sim.run import simulate
from dcc.sim.scenario import Scenario
from dcc.sim.world import local_midnight
from dcc.staffing import planner
from dcc.staffing.targets import load as load_targets


@dataclass(frozen=True)
class Advice:
    """What the planner recommends after the measured run."""

    agents: int  # the busiest half hour's need
    target_share: float
    target_seconds: int


def play(
    factory: Callable[[], Flask], scenario: Scenario, agents: int, *, seed: int, days: int
) -> tuple[dict[str, Any], Flask]:
    """One run with ``agents`` agents on a fresh app; its figures and the app (to measure)."""
    app = factory()
    result = simulate(app, scenario.with_agents(agents), seed=seed, days=days)
    return result.figures, app


def advise(app: Flask, scenario: Scenario, days: int) -> Advice:
    """The planner's recommendation from the run's calls and leads."""
    settings = get_settings(app)
    with app.app_context(), get_database(app).session_scope() as session:
        targets = load_targets(session)
        end = _end(scenario, days, settings.timezone)
        with clock.frozen(end):
            plan = planner.recommend(session, now=end, weeks=1, settings=settings)
    peak = max(max(day) for day in plan.required_grid())
    return Advice(max(1, peak), targets.call_answer_share, targets.call_answer_seconds)


def _end(scenario: Scenario, days: int, timezone: str) -> dt.datetime:
    return local_midnight(scenario.start + dt.timedelta(days=days), timezone)


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    """The what-if's figures for one head-count."""
    return {
        "agents": figures["agents"],
        "service_level": figures["service_level"],
        "hotline_calls": figures["hotline_calls"],
        "abandoned": figures["abandoned"],
        "abandoned_without_callback": figures["abandoned_without_callback"],
        "queue_wait": figures["queue_wait"],
        "speed_to_lead": figures["speed_to_lead"],
        "violations": len(figures["violations"]),
    }


def what_if(
    factory: Callable[[], Flask],
    scenario: Scenario,
    counts: list[int],
    *,
    seed: int,
    days: int,
) -> dict[str, Any]:
    """Every head-count's figures, the planner's advice and the advice played."""
    rows = []
    measured_app: Flask | None = None
    for agents in counts:
        figures, app = play(factory, scenario, agents, seed=seed, days=days)
        rows.append(summary(figures))
        if agents == scenario.staff.agents:
            measured_app = app
    if measured_app is None:
        _figures, measured_app = play(
            factory, scenario, scenario.staff.agents, seed=seed, days=days
        )
    advice = advise(measured_app, scenario, days)
    played = next((r for r in rows if r["agents"] == advice.agents), None)
    if played is None:
        played = summary(play(factory, scenario, advice.agents, seed=seed, days=days)[0])
    level = played["service_level"]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "days": days,
        "first_day": scenario.start.isoformat(),
        "counts": rows,
        "planner": {
            "measured_with_agents": scenario.staff.agents,
            "recommended_agents": advice.agents,
            "target": {"share": advice.target_share, "seconds": advice.target_seconds},
            "service_level": level,
            "reaches_target": level is not None and level >= advice.target_share,
        },
    }


def as_text(report: dict[str, Any]) -> Iterator[str]:
    yield (
        f"staffing what-if: {report['scenario']}, {report['days']} day(s) from "
        f"{report['first_day']}, seed {report['seed']}"
    )
    yield "agents  calls  service level  abandoned  no callback  wait p95  web <=60s  violations"
    for row in report["counts"]:
        wait = row["queue_wait"]["p95"]
        yield (
            f"{row['agents']:6} {row['hotline_calls']:6}  {pct(row['service_level']):>13}  "
            f"{row['abandoned']:9}  {row['abandoned_without_callback']:11}  "
            f"{'-' if wait is None else f'{wait:.0f} s':>8}  "
            f"{pct(row['speed_to_lead']['within_60s_share']):>9}  {row['violations']:10}"
        )
    plan = report["planner"]
    target = plan["target"]
    verdict = "reaches" if plan["reaches_target"] else "does NOT reach"
    yield (
        f"planner (measured with {plan['measured_with_agents']} agents): recommends "
        f"{plan['recommended_agents']} agent(s) at the busiest half hour; played on the same "
        f"days they answer {pct(plan['service_level'])} within {target['seconds']} s, which "
        f"{verdict} the target of {pct(target['share'])}"
    )
