"""The sweeper: hands due outbox work to RQ, and starts the daily checks.

It is the service's scheduler: scheduled work, retries and whatever Redis missed all wait in
the outbox until a sweep enqueues them (:func:`dcc.jobs.outbox.sweep`). Run any number of
sweepers (``dcc jobs sweep --every 5``); each pass is idempotent, and passes of two sweepers
claim different rows. A sweeper survives database and Redis outages: a failed pass is retried
with a growing pause (up to half a minute), and the first good pass after it says so. Each
pass leaves its time in Redis, which /healthz and /metrics report.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from zoneinfo import ZoneInfo

import redis
from flask import Flask
from sqlalchemy.exc import DBAPIError

from dcc import clock
from dcc.broker import get_broker
from dcc.db import get_database
from dcc.jobs import outbox

log = logging.getLogger(__name__)

#: The nightly jobs of the loop and when they run (dealer time), each once a day.
NIGHTLY = (
    ("appointments.no_show_sweep", 2, 0),
    ("leads.dormant", 2, 15),
    ("loop.audit", 2, 45),
)
#: The time (Unix seconds, :func:`dcc.clock.now`) of the latest pass of any sweeper.
LAST_PASS_KEY = "dcc:sweeper:last-pass"
#: The longest pause between two tries while the database or Redis is away.
MAX_PAUSE = 30.0


def sweep_once(app: Flask) -> int:
    """One pass; returns how many jobs were handed to RQ."""
    with app.app_context():
        database, broker = get_database(app), get_broker(app)
        with database.session_scope() as session:
            count = outbox.sweep(session, broker.connection)
            # The 30-day rule runs once a day; the key makes every sweeper agree on "once".
            day = clock.local(clock.now(), app.extensions["dcc.settings"].timezone).date()
            outbox.schedule(
                session,
                "escalation.invited_no_show",
                key=f"invited-no-show-{day.isoformat()}",
                day=day.isoformat(),
            )
            # The loop's nightly work, in order: missed visits, sleeping leads, then the audit
            # of what is left broken.
            for task, hour, minute in NIGHTLY:
                outbox.schedule(
                    session,
                    task,
                    run_at=_local_time(app, day, hour, minute),
                    key=f"{task}-{day.isoformat()}",
                    day=day.isoformat(),
                )
            # Yesterday's calls go into the report roll-up once the day has closed.
            outbox.schedule(
                session,
                "reports.rollup",
                run_at=_after_close(app, day),
                key=f"reports-rollup-{day.isoformat()}",
                day=day.isoformat(),
            )
        broker.connection.set(LAST_PASS_KEY, clock.now().timestamp())
        return count


def last_pass(conn: redis.Redis) -> dt.datetime | None:
    """When a sweeper last finished a pass (None: never, or Redis was emptied since)."""
    raw = conn.get(LAST_PASS_KEY)
    if raw is None:
        return None
    return dt.datetime.fromtimestamp(float(raw), dt.UTC)


def _after_close(app: Flask, day: dt.date) -> dt.datetime:
    """Three in the morning, dealer time: yesterday has closed (see dcc.reports.rollup)."""
    return _local_time(app, day, 3, 0)


def _local_time(app: Flask, day: dt.date, hour: int, minute: int) -> dt.datetime:
    zone = ZoneInfo(app.extensions["dcc.settings"].timezone)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)


def run_forever(app: Flask, every: float, stop: threading.Event | None = None) -> None:
    """Sweep every ``every`` seconds until ``stop`` is set (or forever).

    A pass that fails (the database or Redis away, or anything else) is logged and tried again
    after a pause that doubles each time, up to :data:`MAX_PAUSE`; the sweeper never exits.
    """
    stop = stop or threading.Event()
    failures = 0
    while not stop.is_set():
        try:
            count = sweep_once(app)
        except Exception as error:
            failures += 1
            pause = min(every * 2 ** min(failures - 1, 16), max(MAX_PAUSE, every))
            if isinstance(error, DBAPIError | redis.RedisError | OSError):
                what = "the database" if isinstance(error, DBAPIError) else "Redis"
                log.warning(
                    "sweeper: %s unavailable (%s); pass %d failed, next try in %.1f s",
                    what,
                    str(error).splitlines()[0] if str(error) else type(error).__name__,
                    failures,
                    pause,
                )
            else:
                log.exception("sweeper: pass %d failed; next try in %.1f s", failures, pause)
            stop.wait(pause)
            continue
        if failures:
            log.info("sweeper: working again after %d failed pass(es)", failures)
            failures = 0
        if count:
            log.info("sweeper: %d job(s) enqueued", count)
        stop.wait(every)
