"""Simulated time: seconds since the simulator started, running ``1 / speed`` times faster.

Scripted events are placed on this virtual time line exactly (so reported durations are the
scripted seconds), and a thread waits the scaled real time until each one is due.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime


class SimClock:
    """Maps virtual seconds to real monotonic time and to a wall-clock date."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin_real = time.monotonic()
        self._origin_wall = time.time()

    def now(self) -> float:
        """Virtual seconds elapsed since the clock started."""
        return (time.monotonic() - self._origin_real) / self.speed

    def real_delay(self, virtual_t: float) -> float:
        """Real seconds until ``virtual_t`` is due (negative when already past)."""
        return self._origin_real + virtual_t * self.speed - time.monotonic()

    def wall(self, virtual_t: float) -> datetime:
        """The simulated wall-clock date of ``virtual_t`` (UTC)."""
        return datetime.fromtimestamp(self._origin_wall + virtual_t, tz=UTC)

    def rfc2822(self, virtual_t: float) -> str:
        """``virtual_t`` as Twilio writes dates: ``Tue, 31 Aug 2010 20:36:28 +0000``."""
        return format_datetime(self.wall(virtual_t).replace(microsecond=0))
