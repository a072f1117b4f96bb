"""The rota (排班): reading and writing each DCC agent's weekly shifts, and its head-count.

A day's shifts are written as text the way a supervisor says them, ``09:00-12:00, 13:00-18:00``
(empty, ``-`` or ``off`` for a day off), so the page, the CLI and the tests share one parser.
Supervisors and managers of a team plan their team's agents; admins and dealer-wide managers
and supervisors plan everyone's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, false, select, true
from sqlalchemy.orm import Session

from dcc import audit
from dcc.errors import NotFound, ValidationError
from dcc.reports import scope
from dcc.staffing.models import RotaShift
from dcc.users.models import Role, User

SLOT_MINUTES = 30
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
DAY_MINUTES = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Words that mean "no shift that day".
DAY_OFF = frozenset({"", "-", "off", "休", "休息"})
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

Interval = tuple[int, int]  # start and end, minutes after local midnight


@dataclass(frozen=True)
class Shift:
    """A shift in the week: ``weekday`` (Monday 0) from ``start`` to ``end`` minutes.

    ``agent_id`` is the rota's agent; a proposed rota (:mod:`dcc.staffing.shifts`) numbers
    its seats instead (``seat`` 1, 2 …) for whoever will take them.
    """

    weekday: int
    start: int
    end: int
    agent_id: int | None = None
    seat: int | None = None

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 60

    def covers(self, slot: int) -> bool:
        """Whether the shift covers half hour ``slot`` (0-47) of its day in full."""
        return self.start <= slot * SLOT_MINUTES and (slot + 1) * SLOT_MINUTES <= self.end


# --- the text form -------------------------------------------------------------------------


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_day(intervals: Iterable[Interval]) -> str:
    """``09:00-12:00, 13:00-18:00``; empty for a day off."""
    return ", ".join(f"{clock_text(s)}-{clock_text(e)}" for s, e in sorted(intervals))


def parse_day(text: str, *, field: str = "shifts") -> list[Interval]:
    """The day's shifts from ``09:00-17:30`` or ``09:00-12:00, 13:00-18:00`` (``，`` or ``;``
    separate them too). Shifts start and end on the half hour, end after they start, at the
    latest at 24:00, and do not overlap. :class:`ValidationError` naming ``field`` otherwise."""
    text = (text or "").strip()
    if text.lower() in DAY_OFF:
        return []
    intervals: list[Interval] = []
    for part in re.split(r"[,，;；]", text):
        part = part.strip()
        if not part:
            continue
        ends = re.split(r"\s*[-–~到至]\s*", part)
        if len(ends) != 2:
            raise ValidationError("rota.not_a_shift", field=field, value=part)
        start, end = (_minutes(t, field) for t in ends)
        if end <= start:
            raise ValidationError("rota.ends_before_start", field=field, value=part)
        intervals.append((start, end))
    intervals.sort()
    for (_, first_end), (second_start, _) in itertools.pairwise(intervals):
        if second_start < first_end:
            raise ValidationError("rota.overlap", field=field)
    return intervals


def _minutes(text: str, field: str) -> int:
    found = _TIME.match(text.strip())
    if not found:
        raise ValidationError("rota.not_a_time", field=field, value=text)
    hours, minutes = int(found.group(1)), int(found.group(2))
    total = hours * 60 + minutes
    if minutes >= 60 or total > DAY_MINUTES:
        raise ValidationError("rota.not_a_time", field=field, value=text)
    if minutes % SLOT_MINUTES:
        raise ValidationError("rota.not_on_half_hour", field=field, value=text)
    return total


def parse_weekday(text: str) -> int:
    """``mon`` … ``sun``, or 1-7 (Monday 1): the weekday number, Monday 0."""
    word = text.strip().lower()[:3]
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word.isdigit() and 1 <= int(word) <= 7:
        return int(word) - 1
    raise ValidationError("rota.bad_weekday", field="weekday", value=text)


# --- who is planned ------------------------------------------------------------------------


def plannable_agents(session: Session, reader: User) -> list[User]:
    """The active DCC agents ``reader`` plans: everyone, or their team's."""
    in_scope: ColumnElement[bool]
    if scope.dealer_wide(reader):
        in_scope = true()
    elif reader.role in (Role.SUPERVISOR, Role.MANAGER):
        in_scope = User.team_id == reader.team_id
    else:
        in_scope = false()
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.DCC_AGENT, User.is_active.is_(True), in_scope)
            .order_by(User.name, User.id)
        )
    )


def week(session: Session, agents: Iterable[User]) -> dict[int, dict[int, list[Interval]]]:
    """Each agent's shifts by weekday: ``{agent_id: {weekday: [(start, end), …]}}``."""
    ids = [a.id for a in agents]
    plan: dict[int, dict[int, list[Interval]]] = {i: {d: [] for d in range(7)} for i in ids}
    if not ids:
        return plan
    rows = session.scalars(
        select(RotaShift)
        .where(RotaShift.agent_id.in_(ids))
        .order_by(RotaShift.agent_id, RotaShift.weekday, RotaShift.start_minute)
    )
    for row in rows:
        plan[row.agent_id][row.weekday].append((row.start_minute, row.end_minute))
    return plan


def shifts(session: Session, reader: User) -> list[Shift]:
    """Every planned shift of the agents ``reader`` plans."""
    plan = week(session, plannable_agents(session, reader))
    return [
        Shift(day, start, end, agent_id=agent_id)
        for agent_id, days in plan.items()
        for day, intervals in days.items()
        for start, end in intervals
    ]


def head_count(session: Session, reader: User) -> list[list[int]]:
    """How many agents the rota has in each half hour of the week (7 × 48, Monday first).

    Only agents who answer inbound work count: the hotline never rings an outbound-only agent.
    """
    inbound = {a.id for a in plannable_agents(session, reader) if a.takes_inbound}
    grid = [[0] * SLOTS_PER_DAY for _ in range(7)]
    for shift in shifts(session, reader):
        if shift.agent_id in inbound:
            for slot in range(SLOTS_PER_DAY):
                grid[shift.weekday][slot] += shift.covers(slot)
    return grid


# --- writing -------------------------------------------------------------------------------


def set_days(
    session: Session,
    reader: User | None,
    changes: Mapping[tuple[int, int], list[Interval]],
) -> int:
    """Replace the shifts of each ``(agent_id, weekday)`` in ``changes``; returns how many
    shifts the changed days now hold. ``reader`` (None: an operator at the console) may only
    plan the agents :func:`plannable_agents` gives them; anyone else is NotFound.
    """
    if reader is not None:
        allowed = {a.id for a in plannable_agents(session, reader)}
    else:
        allowed = set(
            session.scalars(
                select(User.id).where(User.role == Role.DCC_AGENT, User.is_active.is_(True))
            )
        )
    written = 0
    for (agent_id, weekday), intervals in sorted(changes.items()):
        if agent_id not in allowed:
            raise NotFound("rota.no_agent", field="agent_id", agent=agent_id)
        if not 0 <= weekday <= 6:
            raise ValidationError("field.out_of_range", field="weekday", min=0, max=6)
        session.execute(
            delete(RotaShift).where(RotaShift.agent_id == agent_id, RotaShift.weekday == weekday)
        )
        for start, end in intervals:
            session.add(
                RotaShift(agent_id=agent_id, weekday=weekday, start_minute=start, end_minute=end)
            )
            written += 1
    audit.record(
        session,
        actor_id=reader.id if reader else None,
        action="rota.set",
        entity="rota",
        entity_id=None,
        days=[
            {"agent_id": a, "weekday": WEEKDAYS[d], "shifts": format_day(i)}
            for (a, d), i in sorted(changes.items())
        ],
    )
    session.flush()
    return written
