"""The RQ queues, listed in the order a worker serves them.

Deadline alerts (a lead past its first-response SLA, an overdue follow-up) come first: they are
cheap, and a burst of first-contact calls must not hold them back past the deadline they
report. Then calls and callbacks, then the rest.
"""

from __future__ import annotations

ALERTS = "dcc-alerts"
CALLS = "dcc-calls"
DEFAULT = "dcc-default"
LOW = "dcc-low"
QUEUE_NAMES = (ALERTS, CALLS, DEFAULT, LOW)
