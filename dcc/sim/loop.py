"""The discrete-event loop: days on the virtual clock, driving the real system.

One driver thread holds a calendar of actions (:meth:`Calendar.at`). Between two of them it lets
time run: the telephony simulator plays out every call event due (its webhooks reach the app,
signed), and the outbox's due work runs through the real job runner (:func:`dcc.jobs.runner.run`)
as the clock reaches it. What the actions are, a dealership's people at work, is
:class:`dcc.sim.dealership.Dealership`'s.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import Connection, event

from dcc.config import get_settings
from dcc.db import get_database
from dcc.jobs import runner
from dcc.jobs.models import OutboxJob
from dcc.users.models import User
from telephony.simulator import Simulator

OUTBOX, USERS = OutboxJob.__tablename__, User.__tablename__


@dataclass(order=True)
class _Event:
    at: dt.datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class Tally:
    """What the people did, and what the system refused them (domain refusals are expected
    now and then: a lead closed meanwhile; a failing job is not)."""

    actions: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    job_failures: list[str] = field(default_factory=list)
    jobs_run: int = 0


class Calendar:
    """The app and its simulated provider on one virtual clock, with a calendar of actions."""

    def __init__(self, app: Flask, sim: Simulator, *, skip_tasks: Collection[str] = ()) -> None:
        self.app, self.sim = app, sim
        self.settings = get_settings(app)
        self.timezone = self.settings.timezone
        self.zone = ZoneInfo(self.timezone)
        self.database = get_database(app)
        self.skip_tasks = tuple(skip_tasks)
        self.tally = Tally()
        self._events: list[_Event] = []
        self._seq = itertools.count()
        # Tables written since the loop last looked: the outbox (work to run) and the users
        # (an agent in wrap-up). Only a write to them makes the loop read them again.
        self._written: set[str] = {OUTBOX, USERS}
        self._job_due: dt.datetime | None = None

    # ------------------------------------------------------------------ the calendar
    def now(self) -> dt.datetime:
        return self.sim.now()

    def at(self, when: dt.datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, _Event(when, next(self._seq), action))

    def play(self, until: dt.datetime) -> None:
        """Let time run to ``until`` (see :meth:`_run_until`), noting the tables written."""
        event.listen(self.database.engine, "after_execute", self._note_write)
        try:
            self._run_until(until)
        finally:
            event.remove(self.database.engine, "after_execute", self._note_write)

    def _agents_written(self, connection: Connection) -> None:
        """The users table was written since the last look: the people's side looks at its
        agents (on ``connection``, in the loop's transaction of looks)."""

    def _run_until(self, until: dt.datetime) -> None:
        """Let time run to ``until``: the next of the calendar's actions, the simulator's
        call events and the due jobs, in time order (virtual seconds, exactly)."""
        clock = self.sim.clock
        end = clock.at(until)
        while True:
            job_due = self._run_jobs() if self._changed(clock.now()) else self._job_due
            candidates = [end]
            if self._events:
                candidates.append(clock.at(self._events[0].at))
            sim_due = clock.next_due()
            if sim_due is not None:
                candidates.append(sim_due)
            if job_due is not None:
                candidates.append(clock.at(job_due))
            step = max(clock.now(), min(candidates))
            self.sim.run_until(step)
            if self._events and clock.at(self._events[0].at) <= step:
                heapq.heappop(self._events).action()
            elif step >= end and (job_due is None or clock.at(job_due) > end):
                return

    # ------------------------------------------------------------------ jobs
    def _note_write(self, _conn: Any, statement: Any, *_args: Any) -> None:
        """Every statement the app (a webhook, a job, a person's action) runs: which tables it
        writes. A write later rolled back only costs one needless look."""
        if getattr(statement, "is_dml", False) and statement.table.name in (OUTBOX, USERS):
            self._written.add(statement.table.name)

    def _changed(self, now: float) -> bool:
        """Whether the outbox or an agent may have changed, or known work fell due, since the
        last look."""
        due = self._job_due
        return bool(self._written) or (due is not None and self.sim.clock.at(due) <= now)

    def _run_jobs(self) -> dt.datetime | None:
        """Run the work due now, each row in its own transaction as a worker would (the
        real :func:`dcc.jobs.runner.run`); returns when the next waiting work is due."""
        ran: set[int] = set()
        next_due = self._job_due
        while True:
            now = self.now()
            due: list[int] = []
            with self.database.engine.connect() as connection:  # one transaction for the looks
                if OUTBOX in self._written or (next_due is not None and next_due <= now):
                    self._written.discard(OUTBOX)
                    next_due = runner.next_due_at(connection, self.skip_tasks)
                    if next_due is not None and next_due <= now:
                        due = runner.due_ids(connection, now, skip=self.skip_tasks, exclude=ran)
                if not due and USERS in self._written:
                    self._written.discard(USERS)
                    self._agents_written(connection)
            if not due:
                self._job_due = next_due if next_due is None or next_due > now else None
                return self._job_due
            for outbox_id in due:
                ran.add(outbox_id)
                try:
                    runner.run(outbox_id)
                    self.tally.jobs_run += 1
                except Exception as error:  # kept on its row, retried after its backoff
                    self.tally.job_failures.append(f"{now.isoformat()}: {error}")
