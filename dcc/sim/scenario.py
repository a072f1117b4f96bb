"""A scenario: what a dealership's days look like, read from a TOML file.

The shipped default is ``scenarios/mid_size_4s.toml`` (its comments explain every value).
Bad values stop the run with a :class:`ScenarioError` naming the key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dcc.staffing.rota import Shift

DEFAULT = Path(__file__).with_name("scenarios") / "mid_size_4s.toml"
GRADES = ("H", "A", "B", "C")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Arrivals:
    hotline_per_day: float
    web_per_day: float
    walk_in_per_day: float
    weekday_factors: tuple[float, ...]
    hotline_hours: tuple[float, ...]
    web_hours: tuple[float, ...]
    walk_in_hours: tuple[float, ...]
    web_sources: dict[str, float]


@dataclass(frozen=True)
class Staff:
    agents: int
    consultants: int
    shifts: tuple[tuple[int, int], ...]  # minutes since local midnight
    break_after_hours: float
    break_minutes: int
    answer_after_seconds: float
    wrap_up_seconds: float
    worklist_every_minutes: int
    follow_ups_per_agent_day: int
    #: A week's rota by seat (agent 1, 2 …): when given, the agents come and go as it says,
    #: day by day, instead of taking ``shifts`` in turn.
    rota: tuple[Shift, ...] = ()

    def duties(self, weekday: int) -> list[tuple[int, int, int]]:
        """Who works on ``weekday`` (Monday 0) and when: ``(agent, start, end)``, the agent
        numbered from 0, the times in minutes since local midnight.

        Without a rota every agent works every day, agent 1 the first of ``shifts``, agent 2
        the second, agent 3 the first again …; with one, each of its shifts that day.
        """
        if self.rota:
            return [
                ((shift.seat or 1) - 1, shift.start, shift.end)
                for shift in self.rota
                if shift.weekday == weekday
            ]
        return [(n, *self.shifts[n % len(self.shifts)]) for n in range(self.agents)]

    @property
    def breaks(self) -> bool:
        """Whether agents take the scenario's break within a shift: not when a rota is
        played, whose shifts are the time at the desk (a break is the gap between two)."""
        return self.break_minutes > 0 and not self.rota


@dataclass(frozen=True)
class Customers:
    patience_mean_seconds: float
    talk_mean_seconds: float
    answer_by_hour: tuple[float, ...]
    wrong_number: float
    grade_mix: dict[str, float]
    invite: dict[str, float]
    lost: dict[str, float]
    show: float
    order_after_visit: dict[str, float]
    walk_in_first_visit: float
    walk_in_leave_contact: float
    walk_in_order: float


@dataclass(frozen=True)
class Managers:
    review_at: int  # minutes since local midnight
    approve_lost: float


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    start: dt.date
    arrivals: Arrivals
    staff: Staff
    customers: Customers
    managers: Managers

    def with_agents(self, agents: int) -> Scenario:
        """The same dealership with another number of DCC agents, on the scenario's shifts."""
        if agents < 1:
            raise ScenarioError("agents must be at least 1")
        return replace(self, staff=replace(self.staff, agents=agents, rota=()))

    def with_rota(self, rota: Iterable[Shift]) -> Scenario:
        """The same dealership whose agents work ``rota``: shifts by weekday and seat (1, 2 …;
        seat ``n`` is agent ``n`` every day), e.g. :func:`dcc.staffing.shifts.rota_from_plan`.
        As many agents as the rota has seats."""
        shifts = tuple(sorted(rota, key=lambda s: (s.weekday, s.start, s.seat or 1)))
        if not shifts:
            raise ScenarioError("a rota needs at least one shift")
        for shift in shifts:
            if shift.seat is None or shift.seat < 1 or not 0 <= shift.weekday <= 6:
                raise ScenarioError("a rota's shifts need a weekday (0-6) and a seat (1, 2 …)")
            if not 0 <= shift.start < shift.end <= 24 * 60:
                raise ScenarioError("a rota's shifts must end after they start, within the day")
        ends: dict[tuple[int, int | None], int] = {}
        for shift in shifts:  # in order of start: a seat's next shift starts after the last
            if ends.get((shift.weekday, shift.seat), 0) > shift.start:
                raise ScenarioError("a rota's seat cannot work two shifts at once")
            ends[(shift.weekday, shift.seat)] = shift.end
        agents = max((s.seat or 1 for s in shifts), default=1)
        return replace(self, staff=replace(self.staff, agents=agents, rota=shifts))


def load(path: str | Path | None = None) -> Scenario:
    """Read a scenario file (default: the mid-size 4S store)."""
    source = Path(path) if path else DEFAULT
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read {source}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source}: {error}") from error
    return parse(data)


def parse(data: dict[str, Any]) -> Scenario:
    """A scenario from the TOML document's tables."""
    arrivals, staff = _table(data, "arrivals"), _table(data, "staff")
    people, managers = _table(data, "customers"), _table(data, "managers")
    return Scenario(
        name=str(data.get("name", "scenario")),
        title=str(data.get("title", "")),
        start=_date(data.get("start", "2026-10-05"), "start"),
        arrivals=Arrivals(
            hotline_per_day=_number(arrivals, "hotline_per_day"),
            web_per_day=_number(arrivals, "web_per_day"),
            walk_in_per_day=_number(arrivals, "walk_in_per_day"),
            weekday_factors=_numbers(arrivals, "weekday_factors", 7),
            hotline_hours=_numbers(arrivals, "hotline_hours", 24),
            web_hours=_numbers(arrivals, "web_hours", 24),
            walk_in_hours=_numbers(arrivals, "walk_in_hours", 24),
            web_sources=_shares(arrivals, "web_sources", None),
        ),
        staff=Staff(
            agents=int(_number(staff, "agents", minimum=1)),
            consultants=int(_number(staff, "consultants", minimum=1)),
            shifts=tuple(_shift(s, f"staff.shifts[{i}]") for i, s in enumerate(staff["shifts"])),
            break_after_hours=_number(staff, "break_after_hours"),
            break_minutes=int(_number(staff, "break_minutes")),
            answer_after_seconds=_number(staff, "answer_after_seconds"),
            wrap_up_seconds=_number(staff, "wrap_up_seconds"),
            worklist_every_minutes=int(_number(staff, "worklist_every_minutes", minimum=1)),
            follow_ups_per_agent_day=int(_number(staff, "follow_ups_per_agent_day")),
        ),
        customers=Customers(
            patience_mean_seconds=_number(people, "patience_mean_seconds", minimum=1),
            talk_mean_seconds=_number(people, "talk_mean_seconds", minimum=1),
            answer_by_hour=_numbers(people, "answer_by_hour", 24, share=True),
            wrong_number=_share(people, "wrong_number"),
            grade_mix=_shares(people, "grade_mix", GRADES),
            invite=_shares(people, "invite", GRADES, total=False),
            lost=_shares(people, "lost", GRADES, total=False),
            show=_share(people, "show"),
            order_after_visit=_shares(people, "order_after_visit", GRADES, total=False),
            walk_in_first_visit=_share(people, "walk_in_first_visit"),
            walk_in_leave_contact=_share(people, "walk_in_leave_contact"),
            walk_in_order=_share(people, "walk_in_order"),
        ),
        managers=Managers(
            review_at=_clock(managers.get("review_at", "18:30"), "managers.review_at"),
            approve_lost=_share(managers, "approve_lost"),
        ),
    )


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name)
    if not isinstance(table, dict):
        raise ScenarioError(f"the scenario needs a [{name}] table")
    return table


def _number(table: dict[str, Any], key: str, *, minimum: float = 0.0) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ScenarioError(f"{key} must be a number of at least {minimum:g}")
    return float(value)


def _share(table: dict[str, Any], key: str) -> float:
    value = _number(table, key)
    if value > 1:
        raise ScenarioError(f"{key} must be a share between 0 and 1")
    return value


def _numbers(
    table: dict[str, Any], key: str, count: int, *, share: bool = False
) -> tuple[float, ...]:
    values = table.get(key)
    if not isinstance(values, list) or len(values) != count:
        raise ScenarioError(f"{key} must list {count} numbers")
    checked = tuple(_number({key: v}, key) for v in values)
    if share and any(v > 1 for v in checked):
        raise ScenarioError(f"{key} must list shares between 0 and 1")
    return checked


def _shares(
    table: dict[str, Any], key: str, names: tuple[str, ...] | None, *, total: bool = True
) -> dict[str, float]:
    values = table.get(key)
    if not isinstance(values, dict) or not values:
        raise ScenarioError(f"{key} must be a table of shares")
    if names is not None and set(values) != set(names):
        raise ScenarioError(f"{key} must give {', '.join(names)}")
    shares = {name: _number(values, name) for name in values}
    if total and sum(shares.values()) <= 0:
        raise ScenarioError(f"{key} must not be all zero")
    if not total and any(v > 1 for v in shares.values()):
        raise ScenarioError(f"{key} must give shares between 0 and 1")
    return shares


def _clock(text: Any, key: str) -> int:
    try:
        hours, minutes = str(text).split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ScenarioError(f"{key} must be a time such as 08:30") from None
    if not 0 <= value <= 24 * 60:
        raise ScenarioError(f"{key} must be a time such as 08:30")
    return value


def _shift(pair: Any, key: str) -> tuple[int, int]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise ScenarioError(f"{key} must be [start, end]")
    start, end = _clock(pair[0], key), _clock(pair[1], key)
    if end <= start:
        raise ScenarioError(f"{key} must end after it starts")
    return start, end


def _date(text: Any, key: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ScenarioError(f"{key} must be a date such as 2026-10-05") from None
