"""Time: one place that says what "now" is, so that tests and jobs can control it.

Everything is stored in UTC; the dealer's local time (``DCC_TIMEZONE``) is used only for
business rules such as calling hours and for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

_frozen: dt.datetime | None = None
#: The clock :func:`following` follows (a simulation's virtual clock); it wins over a frozen one.
_source: Callable[[], dt.datetime] | None = None


def now() -> dt.datetime:
    """The current time, aware, in UTC (the followed clock's inside :func:`following`, or the
    frozen time inside :func:`frozen`)."""
    if _source is not None:
        return _source()
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Make :func:`now` return ``at`` inside the block (tests, replays)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(dt.UTC)
    try:
        yield
    finally:
        _frozen = previous


@contextmanager
def following(source: Callable[[], dt.datetime]) -> Iterator[None]:
    """Make :func:`now` ask ``source`` inside the block: a simulation's virtual clock, which
    jumps from event to event while the app, its webhooks and its jobs run on it."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


def local(moment: dt.datetime, timezone: str) -> dt.datetime:
    """``moment`` in the dealer's time zone."""
    return moment.astimezone(ZoneInfo(timezone))


def within_hours(moment: dt.datetime, timezone: str, hours: tuple[int, int]) -> bool:
    """True when ``moment`` falls inside ``hours`` (minutes since local midnight)."""
    t = local(moment, timezone)
    minutes = t.hour * 60 + t.minute
    start, end = hours
    return start <= minutes < end


def next_opening(moment: dt.datetime, timezone: str, hours: tuple[int, int]) -> dt.datetime:
    """The first moment at or after ``moment`` that is inside ``hours``, in UTC."""
    if within_hours(moment, timezone, hours):
        return moment
    t = local(moment, timezone)
    start_today = t.replace(hour=hours[0] // 60, minute=hours[0] % 60, second=0, microsecond=0)
    opening = start_today if t < start_today else start_today + dt.timedelta(days=1)
    return opening.astimezone(dt.UTC)
