"""When customers turn up: hotline calls, web leads and walk-ins of one day, by the profiles.

Each hour's count is Poisson with the day's expected count spread over the hours by the
profile's weights (scaled by the weekday's factor); arrivals are uniform inside their hour.
Everything comes from the ``random.Random`` given, so a seed fixes the day.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dcc.sim.scenario import Scenario

HOTLINE, WEB, WALK_IN = "hotline", "web", "walk_in"


@dataclass(frozen=True, order=True)
class Arrival:
    at: dt.datetime  # UTC
    channel: str
    number: int  # the customer's index, for a phone number and a name


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation, never negative
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def day_arrivals(
    scenario: Scenario, day: dt.date, timezone: str, rng: random.Random, first_number: int
) -> list[Arrival]:
    """Every arrival of the local ``day``, in time order."""
    a = scenario.arrivals
    factor = a.weekday_factors[day.weekday()]
    zone = ZoneInfo(timezone)
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    found: list[tuple[dt.datetime, str]] = []
    for channel, per_day, hours in (
        (HOTLINE, a.hotline_per_day, a.hotline_hours),
        (WEB, a.web_per_day, a.web_hours),
        (WALK_IN, a.walk_in_per_day, a.walk_in_hours),
    ):
        weight = sum(hours)
        if weight <= 0:
            continue
        for hour, share in enumerate(hours):
            for _ in range(poisson(rng, per_day * factor * share / weight)):
                offset = dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600))
                # Local wall-clock hours (no DST in China; zoneinfo handles any that exist).
                found.append(((midnight + offset).astimezone(dt.UTC), channel))
    found.sort()
    return [Arrival(at, channel, first_number + i) for i, (at, channel) in enumerate(found)]
