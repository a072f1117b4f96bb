"""The dealer's rules: follow-up intervals per grade, initial grades, value tiers.

Defaults are DOMAIN.md's; a dealer overrides them in the ``dealer_settings`` table.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from dcc import settings_store
from dcc.leads.models import Channel, Grade, ValueTier

#: Days between rule-based follow-ups, per grade; None means no follow-up (lost).
DEFAULT_FOLLOW_UP_DAYS: dict[str, float | None] = {
    "N": 0,  # speed-to-lead: the first call is due now
    "H": 2,
    "A": 7,
    "B": 14,
    "C": 30,
    "O": 7,  # until delivery
    "F": None,
}

FOLLOW_UP_SETTING = "follow_up_days"


def follow_up_days(session: Session) -> dict[str, float | None]:
    """The dealer's intervals, with the defaults for any grade it did not set."""
    configured = settings_store.get(session, FOLLOW_UP_SETTING, {}) or {}
    return {**DEFAULT_FOLLOW_UP_DAYS, **configured}


def set_follow_up_days(session: Session, grade: Grade | str, days: float | None) -> None:
    configured = dict(settings_store.get(session, FOLLOW_UP_SETTING, {}) or {})
    configured[Grade(grade).value] = days
    settings_store.put(session, FOLLOW_UP_SETTING, configured)


def next_follow_up_at(session: Session, grade: Grade, after: dt.datetime) -> dt.datetime | None:
    """When the rule says the next contact is due, or None when the grade needs none."""
    days = follow_up_days(session).get(grade.value)
    if days is None:
        return None
    return after + dt.timedelta(days=days)


_TIMEFRAME_PATTERNS: list[tuple[Grade, re.Pattern[str]]] = [
    (Grade.H, re.compile(r"(7|七)\s*天|一周|1\s*week|this week|immediate|within 7|本周|马上|立即")),
    (Grade.A, re.compile(r"(1|一)\s*个?月|one month|1\s*month|within a month|30\s*天|本月")),
    (
        Grade.B,
        re.compile(r"(1|一)\s*[-~到至]\s*(3|三)\s*个?月|(3|三)\s*个?月|1-3\s*months?|3\s*months?"),
    ),
    (
        Grade.C,
        re.compile(r"(3|三)\s*个?月以上|半年|一年|6\s*months?|year|later|unclear|不确定|以后"),
    ),
]


def grade_for_timeframe(timeframe: str | None) -> Grade:
    """The initial grade a stated purchase timeframe implies; N when it says nothing clear.

    Accepts the grade letter itself (H/A/B/C) as well as free text in Chinese or English.
    """
    if not timeframe:
        return Grade.N
    text = timeframe.strip().lower()
    if text.upper() in {"H", "A", "B", "C"}:
        return Grade(text.upper())
    # Longer horizons first: "3个月以上" must not match the "3个月" of grade B.
    for grade in (Grade.C, Grade.B, Grade.A, Grade.H):
        pattern = dict(_TIMEFRAME_PATTERNS)[grade]
        if pattern.search(text):
            return grade
    return Grade.N


def value_tier_for(channel: Channel) -> ValueTier:
    """By what the customer spent to reach the dealer (DOMAIN.md, value tiers)."""
    # GENERAL (non-contact leads collected online) is set by the intake that knows it.
    return ValueTier.HIGH if channel == Channel.WALK_IN else ValueTier.VALUE


#: Walk-ins are received by showroom consultants; every other channel goes to the DCC.
def owner_roles_for(channel: Channel) -> tuple[str, ...]:
    if channel == Channel.WALK_IN:
        return ("consultant",)
    return ("dcc_agent",)
