"""What every report shares: the period in the dealer's local days, grouping, SQL day buckets.

Times are stored in UTC; a dealer asks about its own calendar days (``DCC_TIMEZONE``, default
Asia/Shanghai). A period is a range of local days, both ends included, turned into one
half-open UTC interval for the WHERE clause (so indexes on the time columns are used), and
each row's local day or hour is computed in SQL for grouping.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnExpressionArgument, Date, DateTime, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from dcc import clock
from dcc.errors import ValidationError

#: The longest period a report answers for (two years and a leap day).
MAX_DAYS = 731


class Group(enum.StrEnum):
    """What a report's rows may be broken down by."""

    AGENT = "agent"  # the lead's owner, or the agent who did the work
    SOURCE = "source"  # the lead's channel (汽车之家, 400 热线, 到店 …)
    MODEL = "model"  # the model of interest: the lead's series, else its model


@dataclass(frozen=True)
class Period:
    """Local days ``start`` to ``end`` (both included) in ``timezone``."""

    start: dt.date
    end: dt.date
    timezone: str = "Asia/Shanghai"

    @property
    def utc_start(self) -> dt.datetime:
        """Local midnight starting ``start``, in UTC."""
        return _local_midnight(self.start, self.timezone)

    @property
    def utc_end(self) -> dt.datetime:
        """Local midnight after ``end``, in UTC: the interval is half-open."""
        return _local_midnight(self.end + dt.timedelta(days=1), self.timezone)

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @classmethod
    def parse(cls, start: str | None, end: str | None, timezone: str) -> Period:
        """From ``YYYY-MM-DD`` texts; missing ends give the last 30 days up to today.

        Raises :class:`ValidationError` naming ``from`` or ``to``.
        """
        today = clock.local(clock.now(), timezone).date()
        last = _date(end, "to") if end else today
        first = _date(start, "from") if start else last - dt.timedelta(days=29)
        if first > last:
            raise ValidationError("field.after_end", field="from")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationError("field.period_too_long", field="to", days=MAX_DAYS)
        return cls(first, last, timezone)


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError("field.not_a_date", field=field, value=text) from exc


def _local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)).astimezone(dt.UTC)


def check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("field.unknown_time_zone", field="timezone", value=timezone) from exc
    return timezone


def parse_group(text: str | None, allowed: frozenset[Group]) -> Group | None:
    """``agent`` / ``source`` / ``model`` (or nothing); 422 naming ``group`` otherwise."""
    if not text:
        return None
    try:
        group = Group(text)
    except ValueError:
        group = None
    if group is None or group not in allowed:
        choices = ", ".join(sorted(g.value for g in allowed)) or "none"
        raise ValidationError("field.group_not_offered", field="group", choices=choices)
    return group


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


# --- local day and hour in SQL ---------------------------------------------------------------


class local_day(FunctionElement[dt.date]):
    """``local_day(column, tz)``: the local calendar day of a UTC timestamp column."""

    type = Date()
    inherit_cache = True
    name = "local_day"


class local_hour(FunctionElement[int]):
    """``local_hour(column, tz)``: the local hour (0-23) of a UTC timestamp column."""

    type = Integer()
    inherit_cache = True
    name = "local_hour"


class local_hour_start(FunctionElement[dt.datetime]):
    """``local_hour_start(column, tz)``: the local wall-clock hour of a UTC timestamp column
    (a naive timestamp truncated to the hour), so one conversion gives both day and hour."""

    type = DateTime()
    inherit_cache = True
    name = "local_hour_start"


@compiles(local_day, "postgresql")
def _pg_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column, zone = list(element.clauses)
    return (
        f"CAST(timezone({compiler.process(zone, **kw)}, {compiler.process(column, **kw)}) AS DATE)"
    )


@compiles(local_hour, "postgresql")
def _pg_hour(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    column, zone = list(element.clauses)
    local = f"timezone({compiler.process(zone, **kw)}, {compiler.process(column, **kw)})"
    return f"CAST(EXTRACT(HOUR FROM {local}) AS INTEGER)"


@compiles(local_hour_start, "postgresql")
def _pg_hour_start(element: local_hour_start, compiler: SQLCompiler, **kw: Any) -> str:
    column, zone = list(element.clauses)
    local = f"timezone({compiler.process(zone, **kw)}, {compiler.process(column, **kw)})"
    return f"date_trunc('hour', {local})"


@compiles(local_hour_start)
def _sqlite_hour_start(element: local_hour_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"dcc_local_hour_start({compiler.process(element.clauses, **kw)})"


@compiles(local_day)
def _sqlite_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"dcc_local_day({compiler.process(element.clauses, **kw)})"


@compiles(local_hour)
def _sqlite_hour(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"dcc_local_hour({compiler.process(element.clauses, **kw)})"


def _sqlite_local(value: str | None, zone: str) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(zone))


def prepare(session: Session) -> None:
    """Give SQLite the two functions PostgreSQL has built in (``timezone()`` does both).

    SQLite has no time zone rules, and a fixed offset would be wrong across a DST change in
    zones that have one, so the conversion runs in Python through zoneinfo. Registering is
    cheap and idempotent, so every report does it on its own connection.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw: Any = connection.connection.driver_connection

    def day(value: str | None, zone: str) -> str | None:
        local = _sqlite_local(value, zone)
        return local.date().isoformat() if local else None

    def hour(value: str | None, zone: str) -> int | None:
        local = _sqlite_local(value, zone)
        return local.hour if local else None

    def hour_start(value: str | None, zone: str) -> str | None:
        local = _sqlite_local(value, zone)
        return local.strftime("%Y-%m-%d %H:00:00") if local else None

    raw.create_function("dcc_local_day", 2, day, deterministic=True)
    raw.create_function("dcc_local_hour", 2, hour, deterministic=True)
    raw.create_function("dcc_local_hour_start", 2, hour_start, deterministic=True)


def as_datetime(value: dt.datetime | str) -> dt.datetime:
    """A naive timestamp as the driver returned it (SQLite may give text) as a datetime."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def as_date(value: dt.date | str) -> dt.date:
    """A day as the driver returned it (SQLite gives text) as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def hour_of(column: ColumnExpressionArgument[Any], period: Period) -> local_hour:
    return local_hour(column, period.timezone)
