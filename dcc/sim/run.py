"""One simulated run: set the world up, play the days, measure.

:func:`simulate` takes an app already built on its database (an empty one for ``dcc sim
dealership``, the demo's for ``dcc demo seed``); the figures it returns are plain data, the
same for the text and the JSON output.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from flask import Flask

from dcc import clock
from dcc.config import get_settings
from dcc.db import get_database
from dcc.sim import metrics, people, world
from dcc.sim.dealership import Dealership
from dcc.sim.scenario import Scenario
from dcc.users.models import User


@dataclass
class Result:
    """The figures of a run (:meth:`to_dict` is the ``--json`` document)."""

    figures: dict[str, Any]

    @property
    def violations(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.figures["violations"]
        return found


def simulate(
    app: Flask,
    scenario: Scenario,
    *,
    seed: int,
    days: int,
    first_day: dt.date | None = None,
    skip_tasks: Collection[str] = (),
    password: str | None = None,
    on_day: Callable[[int], None] | None = None,
) -> Result:
    """Play ``days`` days of ``scenario`` on ``app``'s database and measure them.

    ``skip_tasks`` injects a fault: those jobs never run (the audit should notice).
    ``on_day(n)`` is told as each day is played (the last after the night that follows it).
    """
    settings = get_settings(app)
    first = first_day or scenario.start
    # The simulator starts a minute before the first local midnight: the world is set up then.
    start = world.local_midnight(first, settings.timezone) - dt.timedelta(minutes=1)
    sim = world.make_simulator(settings, start, seed)
    world.connect(app, sim)
    database = get_database(app)
    try:
        with app.app_context(), clock.following(sim.now):
            with database.session_scope() as session:
                staff = world.setup_staff(session, scenario, password)
                secrets = world.setup_sources(session)
            loop = Dealership(
                app,
                sim,
                scenario,
                staff,
                secrets,
                seed=seed,
                first_day=first,
                days=days,
                skip_tasks=skip_tasks,
            )
            sim.set_behaviour_script(
                people.Phones(
                    scenario,
                    random.Random(seed * 7919 + 1),
                    set(staff.phones),
                    loop.wrong_numbers,
                    sim.now,
                    settings.timezone,
                )
            )
            loop.run(on_day)
            if on_day is not None:
                on_day(days)
            with database.session_scope() as session:
                figures = measure(session, loop, scenario, seed)
    finally:
        sim.stop()
    return Result(figures)


def measure(session: Any, loop: Dealership, scenario: Scenario, seed: int) -> dict[str, Any]:
    """Every figure of the run, whole and per day."""
    settings = loop.settings
    zone = loop.zone
    manager = session.get(User, loop.staff.manager)
    last = loop.first_day + dt.timedelta(days=loop.days - 1)

    def day_of(moment: dt.datetime) -> dt.date:
        return moment.astimezone(zone).date()

    def staffed(moment: dt.datetime) -> bool:
        local = moment.astimezone(zone)
        minute = local.hour * 60 + local.minute
        duties = scenario.staff.duties(local.weekday())
        return any(start <= minute < end for _agent, start, end in duties)

    calls = metrics.hotline(session, settings, loop.start, loop.end, day_of)
    leads = metrics.speed_to_lead(session, settings, loop.start, loop.end, staffed, day_of)
    nightly = metrics.nightly_audits(
        session, loop.start, loop.end + dt.timedelta(hours=6), settings.timezone
    )
    per_day = []
    for n in range(loop.days):
        day = loop.first_day + dt.timedelta(days=n)
        per_day.append(
            {
                "day": day.isoformat(),
                "kpis": metrics.kpis(session, manager, day, day, settings.timezone),
                "hotline": calls[day].to_dict(),
                "speed_to_lead": leads[day].to_dict(),
                "nightly_audit_violations": nightly.get(day + dt.timedelta(days=1)),
                "on_shift": loop.on_shift.get(day, []),
            }
        )
    whole = calls[None].to_dict()
    return {
        "scenario": scenario.name,
        "seed": seed,
        "days": loop.days,
        "first_day": loop.first_day.isoformat(),
        "agents": scenario.staff.agents,
        "kpis": metrics.kpis(session, manager, loop.first_day, last, settings.timezone),
        "service_level": whole["service_level"],
        "hotline_calls": whole["calls"],
        "answered": whole["answered"],
        "abandoned": whole["abandoned"],
        "abandoned_without_callback": whole["abandoned_without_callback"],
        "queue_wait": whole["queue_wait"],
        "speed_to_lead": leads[None].to_dict(),
        "violations": metrics.violations(session),
        "per_day": per_day,
        "activity": dict(sorted(loop.tally.actions.items())),
        "refusals": dict(sorted(loop.tally.refusals.items())),
        "jobs_run": loop.tally.jobs_run,
        "job_failures": loop.tally.job_failures,
    }
