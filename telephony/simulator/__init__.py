"""A local stand-in for Twilio: its REST API in, Twilio-signed webhooks out.

Used by the embedded demo, the tests and the benchmarks. Run it in-process
(:class:`Simulator`) or as a process (``python -m telephony.simulator --help``).
"""

from __future__ import annotations

from telephony.simulator.behaviour import Behaviour
from telephony.simulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Simulator

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Behaviour", "Simulator"]
