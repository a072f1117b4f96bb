"""The RQ queues, listed in the order a worker serves them.

Deadline alerts (a lead past its first-response SLA, an overdue follow-up) come first: they are
cheap, and a burst of first-contact calls must not hold them back past the deadline they
report. Then calls and callbacks, then the rest.
"""

from __future__ import annotations

import rq

from dcc.broker import get_redis

ALERTS = "dcc-alerts"
CALLS = "dcc-calls"
DEFAULT = "dcc-default"
LOW = "dcc-low"
QUEUE_NAMES = (ALERTS, CALLS, DEFAULT, LOW)


def get_queue(name: str) -> rq.Queue:
    """The queue ``name`` on the app's Redis connection (needs an app context)."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; expected one of {', '.join(QUEUE_NAMES)}")
    return rq.Queue(name, connection=get_redis())
