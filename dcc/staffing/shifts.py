"""From a plan's head-count per half hour to shifts people can work.

:func:`rota_from_plan` covers each day's need with shifts of 4 to 9 hours (by default), so a
simulated or a real week can be staffed from the recommendation. Each day is covered on its
own, left to right: at the first half hour that still lacks agents, enough shifts start to
cover it, each running until the need it was started for ends (at least the shortest shift,
at most the longest). Shifts stay within the week's working hours (from the earliest need of
any day to the latest) where they can: one started late begins earlier rather than run on after
closing, though never before opening. Every half hour ends up covered; a few are
over-covered where a shift cannot be shorter. Shifts are numbered as seats (1, 2 …) per day,
in order of start, so seat 1 can be the same person every day.
"""

from __future__ import annotations

from collections.abc import Sequence

from dcc.staffing.planner import StaffingPlan
from dcc.staffing.rota import SLOT_MINUTES, SLOTS_PER_DAY, Shift

SHORTEST_HOURS = 4
LONGEST_HOURS = 9


def rota_from_plan(
    plan: StaffingPlan | Sequence[Sequence[int]],
    *,
    shortest_hours: float = SHORTEST_HOURS,
    longest_hours: float = LONGEST_HOURS,
) -> list[Shift]:
    """Shifts covering every half hour's required agents, Monday first.

    ``plan`` is a :class:`StaffingPlan` or its 7 × 48 grid of required agents.
    """
    grid = plan.required_grid() if isinstance(plan, StaffingPlan) else plan
    if len(grid) != 7 or any(len(day) != SLOTS_PER_DAY for day in grid):
        raise ValueError("a plan has 7 days of 48 half hours")
    shortest = round(shortest_hours * 60 / SLOT_MINUTES)
    longest = round(longest_hours * 60 / SLOT_MINUTES)
    if not 1 <= shortest <= longest <= SLOTS_PER_DAY:
        raise ValueError("shifts must last from half an hour to a day, shortest first")
    needed = [slot for day in grid for slot, n in enumerate(day) if n > 0]
    hours = (min(needed), max(needed) + 1) if needed else (0, SLOTS_PER_DAY)
    shifts: list[Shift] = []
    for weekday, need in enumerate(grid):
        shifts.extend(cover_day(weekday, need, shortest=shortest, longest=longest, hours=hours))
    return shifts


def cover_day(
    weekday: int,
    need: Sequence[int],
    *,
    shortest: int,
    longest: int,
    hours: tuple[int, int] = (0, SLOTS_PER_DAY),
) -> list[Shift]:
    """One day's shifts (lengths in half hours) covering ``need`` agents in each half hour,
    within the working ``hours`` (opening and closing half hours) where they can."""
    coverage = [0] * SLOTS_PER_DAY
    spans: list[tuple[int, int]] = []
    opening, closing = hours
    for slot in range(SLOTS_PER_DAY):
        while coverage[slot] < need[slot]:
            # A late need: the shift starts earlier, so as not to run on after closing.
            start = min(max(opening, min(slot, closing - shortest)), SLOTS_PER_DAY - shortest)
            end = start + shortest
            # Run on while the next half hour still lacks agents (this one not yet counted).
            while end < min(SLOTS_PER_DAY, start + longest) and need[end] > coverage[end]:
                end += 1
            for covered in range(start, end):
                coverage[covered] += 1
            spans.append((start, end))
    spans.sort()
    return [
        Shift(weekday, start * SLOT_MINUTES, end * SLOT_MINUTES, seat=seat)
        for seat, (start, end) in enumerate(spans, start=1)
    ]
