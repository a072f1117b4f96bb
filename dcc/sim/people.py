"""How the simulated people behave: customers on the phone, and what agents, clerks and
consultants decide. Pure choices from a ``random.Random``; the loop carries them out through
the domain functions the pages call.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from zoneinfo import ZoneInfo

from dcc.calls import wrapup
from dcc.leads.models import Grade, LostReason
from dcc.sim.scenario import Scenario
from telephony.simulator import Behaviour

RESULT_NO_ANSWER = "未接通，稍后再联系"
RESULT_TALKED = "已沟通：了解需求，按计划跟进"
RESULT_INVITED = "已沟通：邀约到店试驾"
RESULT_LOST = "已沟通：客户已放弃购车或另购"
LOST_REASONS = tuple(LostReason)


def pick(rng: random.Random, shares: dict[str, float]) -> str:
    """One key of ``shares``, with chances proportional to the values."""
    total = sum(shares.values())
    point, running = rng.random() * total, 0.0
    for key, share in shares.items():
        running += share
        if point < running:
            return key
    return next(reversed(shares))


class Phones:
    """The behaviour of every leg the simulator opens: agents pick up; customers answer by
    the hour, talk, and wait in a queue as long as their patience lasts."""

    def __init__(
        self,
        scenario: Scenario,
        rng: random.Random,
        agents: set[str],
        wrong_numbers: set[str],
        now: Callable[[], dt.datetime],
        timezone: str,
    ) -> None:
        self.scenario, self.rng, self.agents = scenario, rng, agents
        self.wrong_numbers, self.now, self.zone = wrong_numbers, now, ZoneInfo(timezone)

    def __call__(self, number: str) -> Behaviour | None:
        staff, people = self.scenario.staff, self.scenario.customers
        if number in self.agents:
            # Staff press 1 to take a screened call (the whisper's prompt).
            return Behaviour(
                answer_after=staff.answer_after_seconds, abandon_after=120.0, press="1"
            )
        if number in self.wrong_numbers:
            return Behaviour(fail=True)
        hour = self.now().astimezone(self.zone).hour
        talk = max(30.0, self.rng.expovariate(1 / people.talk_mean_seconds))
        patience = max(10.0, self.rng.expovariate(1 / people.patience_mean_seconds))
        answers = self.rng.random() < people.answer_by_hour[hour]
        return Behaviour(
            answer_after=round(self.rng.uniform(3, 15), 1),
            no_answer=not answers,
            hangup_after=round(talk),
            abandon_after=round(patience),
        )


def visit_time(rng: random.Random, now: dt.datetime, timezone: str) -> dt.datetime:
    """A visit one to three days ahead, on the hour between 10:00 and 17:00 local."""
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date() + dt.timedelta(days=rng.randint(1, 3))
    at = dt.datetime.combine(day, dt.time(rng.randint(10, 17)), tzinfo=ZoneInfo(timezone))
    return at.astimezone(dt.UTC)


def outcome(
    scenario: Scenario,
    rng: random.Random,
    *,
    talked: bool,
    grade: Grade | None,
    may_invite: bool,
    consultant: object,
    now: dt.datetime,
    timezone: str,
) -> wrapup.Outcome:
    """What the agent records at wrap-up (the outcome form).

    Not reached: a result and the plan stays. Reached: a first conversation grades the lead
    by the scenario's mix; then a visit is booked, a lost request filed, or a follow-up kept.
    """
    if not talked:
        return wrapup.Outcome(result=RESULT_NO_ANSWER)
    people = scenario.customers
    if grade in (None, Grade.N):
        new_grade: Grade | None = Grade(pick(rng, people.grade_mix))
    else:
        new_grade = None  # kept as it is
    key = (new_grade or grade or Grade.C).value
    key = key if key in people.invite else "C"
    point = rng.random()
    if may_invite and point < people.invite[key]:
        return wrapup.Outcome(
            result=RESULT_INVITED,
            action=wrapup.APPOINTMENT,
            grade=new_grade,
            appointment_at=visit_time(rng, now, timezone),
            consultant=consultant,  # type: ignore[arg-type]
        )
    if point > 1 - people.lost[key]:
        return wrapup.Outcome(
            result=RESULT_LOST,
            action=wrapup.LOST,
            grade=new_grade,
            lost_reason=rng.choice(LOST_REASONS),
        )
    return wrapup.Outcome(result=RESULT_TALKED, grade=new_grade)
