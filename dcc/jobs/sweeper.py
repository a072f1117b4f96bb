"""The sweeper: enqueues outbox work that did not reach RQ, and starts the daily checks.

Run any number of them (``dcc jobs sweep --every 10``); each pass is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import redis
from flask import Flask

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
        return count


def _after_close(app: Flask, day: dt.date) -> dt.datetime:
    """Three in the morning, dealer time: yesterday has closed (see dcc.reports.rollup)."""
    return _local_time(app, day, 3, 0)


def _local_time(app: Flask, day: dt.date, hour: int, minute: int) -> dt.datetime:
    zone = ZoneInfo(app.extensions["dcc.settings"].timezone)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)


def run_forever(app: Flask, every: float) -> None:
    """Sweep every ``every`` seconds until stopped; a Redis outage only delays the next pass."""
    while True:
        try:
            count = sweep_once(app)
            if count:
                log.info("sweeper: %d job(s) enqueued", count)
        except (redis.RedisError, OSError) as error:
            log.warning("sweeper: Redis unavailable (%s); trying again in %ss", error, every)
        time.sleep(every)
