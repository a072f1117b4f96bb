"""Virtual time: the simulator's play-out threads take turns on a clock that jumps.

In real-time mode every leg's thread sleeps until its next moment is due (scaled by ``speed``).
In virtual mode the very same threads run **one at a time**: a thread that waits *parks* with
its due time and a wake condition, and a controller (:meth:`VirtualClock.advance_to`) hands the
turn to the parked thread that is due first — by (due time, sequence of parking), where a
thread whose wake condition holds is due *now*. The clock jumps straight to each due time, so
a simulated day plays out as fast as the code runs, and the same inputs (and seed) give the
same order of events on every run.

Everything a running thread does — webhooks delivered in-process, REST requests the app makes
back into the engine, new legs — happens while it holds the turn; a new leg's thread is parked
at "now" until the controller reaches it. ``advance_to(t)`` returns once nothing more is
runnable at or before ``t`` (quiescence), leaving the clock at ``t``.

The controller must not be a play-out thread: it is the driver (a test, or the dealership
simulation) calling :meth:`advance_to`, :meth:`run_until` or :meth:`run_until_idle`.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


@dataclass
class _Ticket:
    """A parked thread: when it is due, what wakes it early, and how it was resumed."""

    seq: int
    due: float
    wake: Callable[[], bool] | None
    go: bool = False
    by_time: bool = True


class VirtualClock:
    """A virtual clock that also schedules the play-out threads waiting on it.

    ``cv`` is the engine's condition variable: every method here runs under it, so the
    scheduler's state and the engine's state change together.
    """

    virtual = True

    def __init__(self, cv: threading.Condition, start: datetime | None = None) -> None:
        self.cv = cv
        self.start = (start or datetime(2026, 1, 5, 1, 0, tzinfo=UTC)).astimezone(UTC)
        self._now = 0.0
        self._sequence = itertools.count()
        self._parked: dict[int, _Ticket] = {}
        self._turn: _Ticket | None = None
        self._running = False  # a play-out thread holds the turn
        self.closed = False

    # ------------------------------------------------------------------ the clock
    def now(self) -> float:
        """Virtual seconds since the start."""
        return self._now

    def wall(self, virtual_t: float) -> datetime:
        """The simulated date of ``virtual_t`` (UTC)."""
        return self.start + timedelta(seconds=virtual_t)

    def rfc2822(self, virtual_t: float) -> str:
        """``virtual_t`` as Twilio writes dates."""
        return format_datetime(self.wall(virtual_t).replace(microsecond=0))

    def at(self, when: datetime) -> float:
        """The virtual time of the date ``when``."""
        return (when.astimezone(UTC) - self.start).total_seconds()

    # ------------------------------------------------------------------ play-out threads
    def register(self) -> _Ticket:
        """A ticket for a thread about to start: it runs when the controller reaches it."""
        with self.cv:
            ticket = _Ticket(next(self._sequence), self._now, None)
            self._parked[ticket.seq] = ticket
            return ticket

    def wait_turn(self, ticket: _Ticket) -> bool:
        """Block the calling thread until ``ticket`` gets the turn; True if reached by time."""
        with self.cv:
            while not ticket.go and not self.closed:
                self.cv.wait()
            return ticket.by_time and not self.closed

    def park(self, due: float, wake: Callable[[], bool]) -> bool:
        """Give up the turn until ``due`` (True) or until ``wake()`` holds (False).

        Called by the thread holding the turn, under ``cv``.
        """
        with self.cv:
            if self.closed or wake():
                return False
            if due <= self._now:
                return True  # already due: keep the turn, nothing else can be earlier
            ticket = _Ticket(next(self._sequence), due, wake)
            self._parked[ticket.seq] = ticket
            self.release()
            return self.wait_turn(ticket)

    def release(self) -> None:
        """The running thread parks or ends: the controller may pick the next one."""
        with self.cv:
            self._running = False
            self._turn = None
            self.cv.notify_all()

    def busy(self) -> int:
        """How many play-out threads are parked or running."""
        with self.cv:
            return len(self._parked) + (1 if self._running else 0)

    def next_due(self) -> float | None:
        """When the next parked thread is due (now if one's wake condition holds)."""
        with self.cv:
            found = self._next()
            return None if found is None else found[0]

    # ------------------------------------------------------------------ the controller
    def _next(self) -> tuple[float, _Ticket, bool] | None:
        best: tuple[float, int, _Ticket, bool] | None = None
        for ticket in self._parked.values():
            woken = ticket.wake is not None and ticket.wake()
            at = self._now if woken else ticket.due
            key = (at, ticket.seq, ticket, not woken)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is None:
            return None
        return best[0], best[2], best[3]

    def advance_to(self, t: float) -> None:
        """Run every parked thread due at or before ``t``, one at a time, then set the clock to
        ``t`` (it never goes back). Returns when nothing more is runnable by then."""
        with self.cv:
            while True:
                while self._running and not self.closed:
                    self.cv.wait()
                if self.closed:
                    return
                found = self._next()
                if found is None or found[0] > t:
                    self._now = max(self._now, t)
                    return
                at, ticket, by_time = found
                del self._parked[ticket.seq]
                self._now = max(self._now, at)
                ticket.go, ticket.by_time = True, by_time
                self._turn, self._running = ticket, True
                self.cv.notify_all()

    def run_until(self, t: float) -> None:
        """Alias of :meth:`advance_to`, for drivers that read better with it."""
        self.advance_to(t)

    def run_until_idle(self, limit: float = math.inf, real_timeout: float | None = None) -> float:
        """Play out until no thread is left (every call and message finished); returns now.

        Raises ``TimeoutError`` if threads are still waiting at virtual time ``limit`` (a call
        that never ends, e.g. a queue nobody serves and a caller of infinite patience), or
        after ``real_timeout`` real seconds.
        """
        give_up = None if real_timeout is None else time.monotonic() + real_timeout
        while True:
            if give_up is not None and time.monotonic() > give_up:
                raise TimeoutError(f"{self.busy()} simulator thread(s) still busy")
            with self.cv:
                while self._running and not self.closed:
                    self.cv.wait()
                due = self.next_due()
                if due is None or self.closed:
                    return self._now
            if not math.isfinite(due) or due > limit:
                raise TimeoutError(f"{self.busy()} simulator thread(s) still busy at {limit}")
            self.advance_to(due)

    def close(self) -> None:
        """Release every parked thread (they see the engine closed and end)."""
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def reopen(self) -> None:
        """After a reset: nothing parked, the clock keeps its time."""
        with self.cv:
            self._parked.clear()
            self._turn, self._running = None, False
            self.closed = False
