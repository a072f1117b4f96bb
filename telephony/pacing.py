"""Outbound pacing: REST-created calls at most ``calls_per_second``, across processes.

Twilio queues calls beyond the account's calls per second (1 by default), so a burst of
auto-dials would ring agents late, one a second, while the app thinks they were placed. The
adapter asks a pacer for a slot before each ``calls.create``; the pacer sleeps until the slot,
or — when the next free slot is further away than ``max_wait`` — raises
:class:`TelephonyUnavailable` (nothing was sent: the job may retry later).

- :class:`TokenBucket`: one process (thread-safe).
- :class:`FilePacer`: every process on the host, through a small file locked with ``flock``
  (no Redis needed: the web workers and the RQ workers share the instance folder).
- Any callable ``() -> None`` the app provides (e.g. over its database) fits the same slot.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable

from telephony.errors import TelephonyUnavailable

#: A pacer blocks until a call may be placed (or raises TelephonyUnavailable).
Pacer = Callable[[], None]

#: Longest a caller waits for a slot before giving up (seconds).
DEFAULT_MAX_WAIT = 30.0


class _SlotPacer:
    """Reserve the next slot (``_reserve``), then sleep until it comes."""

    def __init__(
        self,
        calls_per_second: float,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self.interval = 1.0 / calls_per_second
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    def _reserve(self, now: float) -> float | None:
        raise NotImplementedError

    def __call__(self) -> None:
        now = self._clock()
        slot = self._reserve(now)
        if slot is None:
            raise TelephonyUnavailable(
                f"outbound pacing: no call slot within {self.max_wait:.0f} s "
                f"({1 / self.interval:g} calls per second); retry later"
            )
        if slot > now:
            self._sleep(slot - now)

    def _take(self, now: float, next_free: float) -> tuple[float | None, float]:
        """(slot or None, the next free slot after taking it)."""
        slot = max(now, next_free)
        if slot - now > self.max_wait:
            return None, next_free
        return slot, slot + self.interval


class TokenBucket(_SlotPacer):
    """Calls per second for the threads of one process."""

    def __init__(
        self,
        calls_per_second: float = 1.0,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(calls_per_second, max_wait=max_wait, clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._next = 0.0

    def _reserve(self, now: float) -> float | None:
        with self._lock:
            slot, self._next = self._take(now, self._next)
            return slot


class FilePacer(_SlotPacer):
    """Calls per second for every process of the host: the next free slot lives in ``path``."""

    def __init__(
        self,
        path: str,
        calls_per_second: float = 1.0,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(calls_per_second, max_wait=max_wait, clock=clock, sleep=sleep)
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)

    def _reserve(self, now: float) -> float | None:
        with open(self.path, "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                text = handle.read().strip()
                try:
                    next_free = float(text) if text else 0.0
                except ValueError:
                    next_free = 0.0  # a damaged file only costs one unpaced call
                slot, after = self._take(now, next_free)
                if slot is not None:
                    handle.seek(0)
                    handle.truncate()
                    handle.write(repr(after))
                    handle.flush()
                return slot
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
