"""What the simulator remembers: call legs, messages, signals from the REST API.

Records are mutated only under the engine's lock; the ``*_json`` functions render them the way
Twilio's REST API does (enough for the twilio library's ``CallInstance`` / ``MessageInstance``)
and the way ``/sim`` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from telephony.simulator.behaviour import Behaviour

API_VERSION = "2010-04-01"
TERMINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

#: Status -> the StatusCallbackEvent name that subscribes to it.
EVENT_OF_STATUS = {
    "initiated": "initiated",
    "ringing": "ringing",
    "in-progress": "answered",
    **{status: "completed" for status in TERMINAL},
}

#: SIP response code Twilio reports with each final status.
SIP_CODE = {"completed": 200, "busy": 486, "no-answer": 487, "canceled": 487, "failed": 500}


@dataclass
class Signal:
    """A request from the REST API to a running leg: hang up, cancel, or run other TwiML."""

    kind: Literal["hangup", "cancel", "redirect"]
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None


@dataclass
class Leg:
    """One call leg, as Twilio sees it (one CallSid)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str  # inbound | outbound-api | outbound-dial
    behaviour: Behaviour
    requested_at: float  # time.monotonic() when the leg was requested
    created_v: float  # virtual time of creation
    parent_sid: str | None = None
    status: str = "queued"
    history: list[dict[str, Any]] = field(default_factory=list)
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset()
    status_callback_method: str = "POST"
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    timeout: float = 60.0
    time_limit: float | None = None
    machine_detection: str | None = None
    answered_by: str | None = None
    record: bool = False
    recording_channels: int = 1
    recording_status_callback: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    #: Pacing: when a REST-created call leaves ``queued`` (its calls-per-second slot).
    slot_v: float | None = None
    initiated_v: float | None = None
    answered_v: float | None = None
    ended_v: float | None = None
    alone_since_v: float | None = None
    sequence: int = 0
    signals: list[Signal] = field(default_factory=list)
    buffered: list[tuple[dict[str, str], bool, str]] = field(default_factory=list)
    extra_params: dict[str, str] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """True once the leg reached a final status."""
        return self.status in TERMINAL

    @property
    def answered(self) -> bool:
        """True once the leg was answered (it may have ended since)."""
        return self.answered_v is not None

    def duration(self) -> int:
        """Whole seconds from answer to end (Twilio's ``CallDuration``), 0 if never answered."""
        if self.answered_v is None or self.ended_v is None:
            return 0
        return max(0, round(self.ended_v - self.answered_v))

    def call_params(self) -> dict[str, str]:
        """The parameters Twilio sends with every voice request about this leg."""
        params = {
            "CallSid": self.sid,
            "AccountSid": self.account_sid,
            "From": self.from_,
            "To": self.to,
            "Caller": self.from_,
            "Called": self.to,
            "CallStatus": self.status,
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
            **self.extra_params,
        }
        if self.parent_sid:
            params["ParentCallSid"] = self.parent_sid
        if self.machine_detection and self.answered_by:
            params["AnsweredBy"] = self.answered_by
        return params


@dataclass
class Message:
    """One outbound SMS."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    requested_at: float
    created_v: float
    status: str = "queued"
    error_code: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def call_json(leg: Leg, rfc2822: Any) -> dict[str, Any]:
    """A leg as Twilio's REST API renders a Call resource."""
    uri = f"/{API_VERSION}/Accounts/{leg.account_sid}/Calls/{leg.sid}"
    # Twilio's start_time is when the call was dialled (empty while queued), not the answer.
    started = leg.initiated_v
    return {
        "sid": leg.sid,
        "account_sid": leg.account_sid,
        "parent_call_sid": leg.parent_sid,
        "to": leg.to,
        "to_formatted": leg.to,
        "from": leg.from_,
        "from_formatted": leg.from_,
        "status": leg.status,
        "direction": leg.direction,
        "answered_by": leg.answered_by,
        "api_version": API_VERSION,
        "date_created": rfc2822(leg.created_v),
        "date_updated": rfc2822(leg.history[-1]["sim_time"] if leg.history else leg.created_v),
        "start_time": rfc2822(started) if started is not None else None,
        "end_time": rfc2822(leg.ended_v) if leg.ended_v is not None else None,
        "duration": str(leg.duration()) if leg.ended else None,
        "price": None,
        "price_unit": "USD",
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "phone_number_sid": None,
        "queue_time": str(round(1000 * max(0.0, (leg.slot_v or leg.created_v) - leg.created_v))),
        "trunk_sid": None,
        "annotation": None,
        "uri": uri + ".json",
        "subresource_uris": {
            "notifications": uri + "/Notifications.json",
            "recordings": uri + "/Recordings.json",
            "events": uri + "/Events.json",
        },
    }


def message_json(message: Message, rfc2822: Any) -> dict[str, Any]:
    """A message as Twilio's REST API renders a Message resource."""
    uri = f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": message.status,
        "direction": "outbound-api",
        "num_segments": "1",
        "num_media": "0",
        "api_version": API_VERSION,
        "date_created": rfc2822(message.created_v),
        "date_updated": rfc2822(message.created_v),
        "date_sent": None,
        "error_code": message.error_code,
        "error_message": None,
        "messaging_service_sid": None,
        "price": None,
        "price_unit": "USD",
        "uri": uri + ".json",
        "subresource_uris": {"media": uri + "/Media.json"},
    }


def leg_report(leg: Leg) -> dict[str, Any]:
    """A leg as ``/sim/calls`` reports it: everything a test or benchmark may want."""
    return {
        "sid": leg.sid,
        "parent_call_sid": leg.parent_sid,
        "to": leg.to,
        "from": leg.from_,
        "direction": leg.direction,
        "status": leg.status,
        "history": [dict(entry) for entry in leg.history],
        "requested_at": leg.requested_at,
        "slot_sim_time": leg.slot_v,
        "created_sim_time": leg.created_v,
        "answered_sim_time": leg.answered_v,
        "ended_sim_time": leg.ended_v,
        "duration": leg.duration(),
        "answered_by": leg.answered_by,
        "url": leg.url,
        "status_callback": leg.status_callback,
        "status_events": sorted(leg.status_events),
    }


def message_report(message: Message) -> dict[str, Any]:
    """A message as ``/sim/messages`` reports it."""
    return {
        "sid": message.sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": message.status,
        "error_code": message.error_code,
        "status_callback": message.status_callback,
        "requested_at": message.requested_at,
        "history": [dict(entry) for entry in message.history],
    }
