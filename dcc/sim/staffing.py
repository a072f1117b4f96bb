"""The staffing what-if: the same days played with 2, 3 … agents, and the planner's advice
checked by playing it.

Each head-count gets a fresh database and the same seed, so the customers are the same people
arriving at the same moments; only the agents differ. The planner (:mod:`dcc.staffing`)
measures the run with the scenario's own head-count exactly as ``/reports/staffing`` measures
a real dealer's weeks, and recommends the agents each half hour of the week needs. That advice
becomes a rota (:func:`dcc.staffing.shifts.rota_from_plan`: shifts covering every half hour),
which is played on the same days: agents come on and go off as it says. The report gives the
service level it reaches against the target, and any half hour where fewer agents were on
shift than advised.
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
from dcc.staffing.rota import SLOT_MINUTES, WEEKDAYS, Shift, clock_text, format_day
from dcc.staffing.shifts import rota_from_plan
from dcc.staffing.targets import load as load_targets


@dataclass(frozen=True)
class Advice:
    """What the planner recommends after the measured run."""

    required: list[list[int]]  # agents per half hour, 7 days (Monday first) of 48
    rota: list[Shift]  # shifts covering ``required``
    target_share: float
    target_seconds: int
    web_lead_share: float
    web_lead_seconds: int

    @property
    def peak(self) -> int:
        """The busiest half hour's need."""
        return max(max(day) for day in self.required)


def play(
    factory: Callable[[], Flask], scenario: Scenario, agents: int, *, seed: int, days: int
) -> tuple[dict[str, Any], Flask]:
    """One run with ``agents`` agents on a fresh app; its figures and the app (to measure)."""
    app = factory()
    result = simulate(app, scenario.with_agents(agents), seed=seed, days=days)
    return result.figures, app


def advise(app: Flask, scenario: Scenario, days: int) -> Advice:
    """The planner's recommendation from the run's calls and leads, and the rota covering it."""
    settings = get_settings(app)
    with app.app_context(), get_database(app).session_scope() as session:
        targets = load_targets(session)
        end = _end(scenario, days, settings.timezone)
        with clock.frozen(end):
            plan = planner.recommend(session, now=end, weeks=1, settings=settings)
    return Advice(
        required=plan.required_grid(),
        rota=rota_from_plan(plan),
        target_share=targets.call_answer_share,
        target_seconds=targets.call_answer_seconds,
        web_lead_share=targets.web_lead_share,
        web_lead_seconds=targets.web_lead_seconds,
    )


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


def rota_summary(rota: list[Shift], required: list[list[int]]) -> list[dict[str, Any]]:
    """Per weekday: the rota's shifts, its agent-hours, the advice's peak and the seats."""
    days = []
    for weekday, need in enumerate(required):
        shifts = [s for s in rota if s.weekday == weekday]
        days.append(
            {
                "weekday": WEEKDAYS[weekday],
                "peak_required": max(need),
                "agents": len({s.seat for s in shifts}),
                "agent_hours": sum(s.hours for s in shifts),
                "shifts": [
                    f"{s.seat}: {format_day([(s.start, s.end)])}"
                    for s in sorted(shifts, key=lambda s: (s.seat or 0, s.start))
                ],
            }
        )
    return days


def short_slots(figures: dict[str, Any], required: list[list[int]]) -> list[dict[str, Any]]:
    """The played half hours with fewer agents on shift than advised."""
    short = []
    for day in figures["per_day"]:
        weekday = dt.date.fromisoformat(day["day"]).weekday()
        for slot, played in enumerate(day["on_shift"]):
            if played < required[weekday][slot]:
                short.append(
                    {
                        "day": day["day"],
                        "at": clock_text(slot * SLOT_MINUTES),
                        "on_shift": played,
                        "advised": required[weekday][slot],
                    }
                )
    return short


def what_if(
    factory: Callable[[], Flask],
    scenario: Scenario,
    counts: list[int],
    *,
    seed: int,
    days: int,
) -> dict[str, Any]:
    """Every head-count's figures, the planner's advice and the advice played as a rota."""
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
    app = factory()
    figures = simulate(app, scenario.with_rota(advice.rota), seed=seed, days=days).figures
    played = summary(figures)
    level = played["service_level"]
    web = played["speed_to_lead"]["within_60s_share"]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "days": days,
        "first_day": scenario.start.isoformat(),
        "counts": rows,
        "planner": {
            "measured_with_agents": scenario.staff.agents,
            "peak_agents": advice.peak,
            "required": advice.required,
            "rota": rota_summary(advice.rota, advice.required),
            "played": played,
            "short_slots": short_slots(figures, advice.required),
            "target": {"share": advice.target_share, "seconds": advice.target_seconds},
            "web_target": {"share": advice.web_lead_share, "seconds": advice.web_lead_seconds},
            "service_level": level,
            "reaches_target": level is not None and level >= advice.target_share,
            "web_reaches_target": web is not None and web >= advice.web_lead_share,
        },
    }


def as_text(report: dict[str, Any]) -> Iterator[str]:
    yield (
        f"staffing what-if: {report['scenario']}, {report['days']} day(s) from "
        f"{report['first_day']}, seed {report['seed']}"
    )
    yield HEADER
    for row in report["counts"]:
        yield _row(str(row["agents"]), row)
    plan = report["planner"]
    target, web_target = plan["target"], plan["web_target"]
    yield ""
    yield (
        f"planner (measured with {plan['measured_with_agents']} agents): agents per half hour, "
        f"at most {plan['peak_agents']}; as a rota (seat: shift):"
    )
    for day in plan["rota"]:
        yield (
            f"  {day['weekday']}  peak {day['peak_required']}, {day['agents']} agent(s), "
            f"{day['agent_hours']:g} agent-hours: {'; '.join(day['shifts']) or 'off'}"
        )
    yield HEADER
    yield _row("rota", plan["played"])
    short = plan["short_slots"]
    yield (
        "played as advised: every half hour had the advised agents on shift"
        if not short
        else f"played short of the advice in {len(short)} half hour(s): "
        + ", ".join(f"{s['day']} {s['at']} {s['on_shift']}/{s['advised']}" for s in short[:8])
    )
    verdict = "reaches" if plan["reaches_target"] else "does NOT reach"
    yield (
        f"the recommended rota answers {pct(plan['service_level'])} of calls within "
        f"{target['seconds']} s, which {verdict} the target of {pct(target['share'])}"
    )
    web_verdict = "reaches" if plan["web_reaches_target"] else "does NOT reach"
    yield (
        f"web leads called within {web_target['seconds']} s: "
        f"{pct(plan['played']['speed_to_lead']['within_60s_share'])}, which {web_verdict} "
        f"the target of {pct(web_target['share'])}"
    )


HEADER = "agents  calls  service level  abandoned  no callback  wait p95  web <=60s  violations"


def _row(label: str, row: dict[str, Any]) -> str:
    wait = row["queue_wait"]["p95"]
    return (
        f"{label:>6} {row['hotline_calls']:6}  {pct(row['service_level']):>13}  "
        f"{row['abandoned']:9}  {row['abandoned_without_callback']:11}  "
        f"{'-' if wait is None else f'{wait:.0f} s':>8}  "
        f"{pct(row['speed_to_lead']['within_60s_share']):>9}  {row['violations']:10}"
    )
