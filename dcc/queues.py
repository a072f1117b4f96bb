"""The RQ queues, listed in the order a worker serves them (calls first, then the rest)."""

from __future__ import annotations

CALLS = "dcc-calls"
DEFAULT = "dcc-default"
LOW = "dcc-low"
QUEUE_NAMES = (CALLS, DEFAULT, LOW)
