"""Small shared vocabulary of the play-out modules (runner, dial, bridge, queueing)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Final

from telephony.simulator.records import Signal

#: Returned by a verb when the leg is over and its document must stop.
STOP: Final = "stop"
#: What a verb returns: a replacement document, STOP, or None to go on with the next verb.
Next = list[ET.Element] | str | None

#: Answers to ``CallRunner.wait``: the time came, a REST request came, the party gave up (or
#: the time limit struck), or the simulator is closing.
TIME: Final = "time"
SIGNAL: Final = "signal"
DEADLINE: Final = "deadline"
CLOSED: Final = "closed"


@dataclass
class DialOutcome:
    """How a ``<Dial>`` ended, in the terms of its action request."""

    status: str  # DialCallStatus: completed | busy | no-answer | failed | canceled
    dial_sid: str | None = None
    duration: int = 0
    bridged: bool = False
    recording: dict[str, str] | None = None
    caller_gone: bool = False  # the leg running the Dial hung up (or was hung up)
    redirect: Signal | None = None  # the leg running the Dial was redirected by the REST API
    extra: dict[str, str] = field(default_factory=dict)

    def action_params(self) -> dict[str, str]:
        """The parameters Twilio adds to the Dial ``action`` request."""
        params = {"DialCallStatus": self.status, "DialBridged": str(self.bridged).lower()}
        if self.dial_sid:
            params["DialCallSid"] = self.dial_sid
            params["DialCallDuration"] = str(self.duration)
        if self.recording:
            for key in ("RecordingUrl", "RecordingSid", "RecordingDuration"):
                params[key] = self.recording[key]
        params.update(self.extra)
        return params
