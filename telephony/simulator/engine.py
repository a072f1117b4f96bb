"""The simulator's state and the operations on it: the REST API and ``/sim`` both call these.

One condition variable guards everything: legs, messages, queues, behaviours. Every play-out
thread waits on it, so a REST request (hang up, redirect) or a status change wakes the threads
that care. Webhooks are always sent outside the lock.

Time is either real (``SimClock``: threads sleep the scaled real time until each moment) or
virtual (``VirtualClock``: the threads take turns in due order and the clock jumps; a driver
advances it). Everything else is the same code in both modes.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telephony.simulator.account import Account, PhoneNumber, Refusal
from telephony.simulator.behaviour import Behaviour, probability
from telephony.simulator.clock import SimClock
from telephony.simulator.delivery import WebhookSender
from telephony.simulator.records import (
    API_VERSION,
    EVENT_OF_STATUS,
    SIP_CODE,
    TERMINAL,
    Leg,
    Message,
    Signal,
    leg_report,
    message_report,
)
from telephony.simulator.virtual import VirtualClock

log = logging.getLogger(__name__)

#: Country of a number, for the Caller/Called location fields of inbound webhooks.
_COUNTRY_PREFIXES = (("+86", "CN"), ("+852", "HK"), ("+1", "US"), ("+44", "GB"))


def country_of(number: str) -> str:
    """ISO country of an E.164 number, as far as the simulator cares ('' if unknown)."""
    for prefix, country in _COUNTRY_PREFIXES:
        if number.startswith(prefix):
            return country
    return ""


class SimApiError(Exception):
    """A REST request the simulator refuses the way Twilio would (code, HTTP status)."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def of(cls, refusal: Refusal) -> SimApiError:
        """The REST error for an account refusal."""
        return cls(refusal.code, refusal.message, refusal.status)


@dataclass
class SimConfig:
    """Settings of one simulator instance."""

    account_sid: str
    auth_token: str
    voice_url: str | None = None
    voice_status_url: str | None = None
    #: A number's status callback only gets the final status at Twilio; widen it if needed.
    voice_status_events: frozenset[str] = frozenset({"completed"})
    speed: float = 1.0
    duplicate_events: float = 0.0
    reorder_events: bool = False
    seed: int | None = None
    say_seconds: float = 1.0
    play_seconds: float = 5.0
    default_behaviour: Behaviour = field(default_factory=Behaviour)
    #: The number's fallback URL: requested when the voice URL fails (no retries on 5xx).
    voice_fallback_url: str | None = None
    account: Account = field(default_factory=Account)
    #: Simulated seconds a recording stays ``processing`` before it is ``completed``.
    recording_processing: float = 0.0
    #: Virtual time: the driver advances the clock (see ``telephony.simulator.virtual``).
    virtual: bool = False
    #: The simulated date at virtual time 0 (virtual mode; real time starts now).
    start: datetime | None = None


class Engine:
    """Holds every leg and message and runs their play-out threads."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.cv = threading.Condition()
        self.clock: SimClock | VirtualClock = (
            VirtualClock(self.cv, config.start) if config.virtual else SimClock(config.speed)
        )
        self.sender = WebhookSender(config.auth_token)
        self.sender.clock = lambda: self.clock.wall(self.clock.now())
        self.base_url = ""  # set by the server once it listens; used in RecordingUrl
        self.closed = False
        self.account = config.account
        self.legs: dict[str, Leg] = {}
        self.messages: dict[str, Message] = {}
        self.recordings: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, list[Any]] = {}  # name -> QueueEntry list, oldest first
        self.queue_sids: dict[str, str] = {}
        #: name -> (callers taken off the queue, their total wait): Twilio's AvgQueueTime.
        self.queue_served: dict[str, tuple[int, float]] = {}
        self.alerts: list[dict[str, Any]] = []
        self._behaviours: dict[str, Behaviour] = {}
        self.behaviour_script: Callable[[str], Behaviour | None] | None = None
        self._default = config.default_behaviour
        self._duplicate = probability(config.duplicate_events)
        self._reorder = config.reorder_events
        self._rng = random.Random(config.seed)
        self._ids = random.Random(config.seed)  # sids: reproducible with a seed
        self._next_slot = 0.0  # when the next REST-created call may start (pacing)
        self._late: list[float] = []  # faults: REST answers held back this many real seconds
        self._active = 0

    def new_sid(self, prefix: str) -> str:
        """A Twilio-shaped sid: two letters and 32 hex digits (the same ones for one seed)."""
        with self.cv:
            return prefix + f"{self._ids.getrandbits(128):032x}"

    @property
    def virtual(self) -> VirtualClock | None:
        """The virtual clock, in virtual-time mode."""
        return self.clock if isinstance(self.clock, VirtualClock) else None

    def alert(self, code: int, message: str, *, call_sid: str | None, url: str = "") -> None:
        """Record an error the way Twilio's debugger lists it (``/sim/alerts``)."""
        log.warning("call %s: error %s: %s", call_sid, code, message)
        with self.cv:
            self.alerts.append(
                {
                    "code": code,
                    "message": message,
                    "call_sid": call_sid,
                    "url": url,
                    "sim_time": self.clock.now(),
                }
            )

    # ----------------------------------------------------------------- behaviours and chaos
    def behaviour_for(self, number: str) -> Behaviour:
        """The behaviour scripted for ``number``, or the script's for this leg (see
        :meth:`set_behaviour_script`), or the default one."""
        with self.cv:
            found = self._behaviours.get(number.strip())
            if found is None and self.behaviour_script is not None:
                found = self.behaviour_script(number.strip())
            return found if found is not None else self._default

    def set_behaviour_script(self, script: Callable[[str], Behaviour | None] | None) -> None:
        """Ask ``script`` for the behaviour of each new leg of a number that has no behaviour
        of its own (None: the default): a driver's people, who answer or not by the hour."""
        with self.cv:
            self.behaviour_script = script

    def set_behaviour(self, number: str, data: Mapping[str, Any] | None) -> Behaviour | None:
        """Script ``number`` (``"*"`` for the default); ``None`` data forgets the script.

        A script starts from the simulator's default behaviour, so ``{"busy": true}`` keeps the
        default timings.
        """
        number = number.strip()
        with self.cv:
            if number == "*":
                base = self.config.default_behaviour if data is None else self._default
                self._default = Behaviour.from_mapping(data or {}, base)
                return self._default
            if data is None:
                self._behaviours.pop(number, None)
                return None
            behaviour = Behaviour.from_mapping(data, self._default)
            self._behaviours[number] = behaviour
            return behaviour

    def behaviours(self) -> dict[str, Any]:
        """Every scripted number and the default, JSON-friendly."""
        with self.cv:
            return {
                "default": self._default.to_dict(),
                "numbers": {n: b.to_dict() for n, b in self._behaviours.items()},
                "chaos": {"duplicate_events": self._duplicate, "reorder_events": self._reorder},
            }

    def set_chaos(
        self, *, duplicate_events: float | bool | None = None, reorder_events: bool | None = None
    ) -> None:
        """Turn the simulator-wide chaos options on or off (``None`` leaves one unchanged)."""
        with self.cv:
            if duplicate_events is not None:
                self._duplicate = probability(duplicate_events)
            if reorder_events is not None:
                self._reorder = bool(reorder_events)

    def random(self) -> float:
        """A draw from the simulator's seeded generator."""
        with self.cv:
            return self._rng.random()

    # ----------------------------------------------------------------- threads and time
    def spawn(self, target: Callable[[], None], name: str) -> None:
        """Run ``target`` in a daemon thread that :meth:`wait_idle` waits for.

        In virtual mode the thread first waits for its turn (it is due now, after every
        thread already due now).
        """
        virtual = self.virtual
        ticket = virtual.register() if virtual is not None else None

        def run() -> None:
            try:
                if virtual is not None and ticket is not None:
                    virtual.wait_turn(ticket)
                if virtual is None or not self.closed:
                    target()
            except Exception:
                log.exception("simulator thread %s crashed", name)
            finally:
                with self.cv:
                    self._active -= 1
                    self.cv.notify_all()
                if virtual is not None:
                    virtual.release()

        with self.cv:
            self._active += 1
        threading.Thread(target=run, name=f"sim-{name}", daemon=True).start()

    def wait_until(self, virtual_t: float, wake: Callable[[], bool]) -> bool:
        """Block until ``virtual_t`` (True) or until ``wake()`` holds or we close (False)."""
        virtual = self.virtual
        if virtual is not None:
            with self.cv:
                return virtual.park(virtual_t, lambda: self.closed or wake())
        assert isinstance(self.clock, SimClock)
        with self.cv:
            while True:
                if self.closed or wake():
                    return False
                delay = self.clock.real_delay(virtual_t)
                if delay <= 0:
                    return True
                # Capped: waiting "forever" (math.inf) is a wait for a notify.
                self.cv.wait(min(delay, 3600.0))

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every call and message has finished playing out.

        In virtual mode this plays the simulation out (the clock jumps to each due moment).
        ``timeout`` is in real seconds in both modes.
        """
        virtual = self.virtual
        if virtual is not None and not self.closed:
            virtual.run_until_idle(real_timeout=timeout)
        self._wait_threads(timeout)

    def _wait_threads(self, timeout: float) -> None:
        """Wait (real seconds) until every play-out thread has returned."""
        with self.cv:
            if not self.cv.wait_for(lambda: self._active == 0, timeout):
                raise TimeoutError(f"{self._active} simulator thread(s) still busy")

    def close(self) -> None:
        """Stop every play-out quickly and send no more webhooks."""
        with self.cv:
            self.closed = True
            self.sender.closed = True
            if self.virtual is not None:
                self.virtual.close()
            self.cv.notify_all()
        try:
            self._wait_threads(5.0)
        except TimeoutError:
            log.warning("simulator threads still running at close")

    def reset(self) -> None:
        """End every call silently and forget all state, behaviours and chaos settings."""
        self.close()
        with self.cv:
            self.legs.clear()
            self.messages.clear()
            self.recordings.clear()
            self.queues.clear()
            self.queue_sids.clear()
            self._behaviours.clear()
            self._default = self.config.default_behaviour
            self._duplicate = probability(self.config.duplicate_events)
            self._reorder = self.config.reorder_events
            self.sender.clear()
            self.alerts.clear()
            self.queue_served.clear()
            self._late.clear()
            self.closed = False
            self.sender.closed = False
            if self.virtual is not None:
                self.virtual.reopen()

    # ----------------------------------------------------------------- legs
    def add_leg(self, **fields_: Any) -> Leg:
        """Create and register a leg; ``created_v`` defaults to now."""
        fields_.setdefault("created_v", self.clock.now())
        leg = Leg(
            sid=self.new_sid("CA"),
            account_sid=self.config.account_sid,
            requested_at=time.monotonic(),
            **fields_,
        )
        with self.cv:
            self.legs[leg.sid] = leg
        return leg

    def take_signal(self, leg: Leg) -> Signal | None:
        """Pop the oldest pending REST request for ``leg``."""
        with self.cv:
            return leg.signals.pop(0) if leg.signals else None

    def set_status(
        self, leg: Leg, status: str, t: float, extra: Mapping[str, str] | None = None
    ) -> None:
        """Move ``leg`` to ``status`` at virtual time ``t`` and send its status callback.

        A final status is never left (events after it are dropped), mirroring what the app
        must do with Twilio's unordered events.
        """
        deliveries: list[tuple[dict[str, str], bool, str]] = []
        with self.cv:
            if leg.ended or leg.status == status:
                return
            leg.status = status
            if status == "initiated" or leg.initiated_v is None:
                leg.initiated_v = t
            if status == "in-progress":
                leg.answered_v = t
            if status in TERMINAL:
                leg.ended_v = t
            leg.history.append(
                {
                    "status": status,
                    "sim_time": t,
                    "timestamp": self.clock.rfc2822(t),
                    "monotonic": time.monotonic(),
                }
            )
            # No notify: waiters wake on signals, queue changes and thread ends, not statuses.
            params = self._status_params(leg, status, t, extra)
            own = leg.behaviour  # a party's own chaos settings win over the simulator's
            duplicate = self._duplicate if own.duplicate_events is None else own.duplicate_events
            reorder = self._reorder if own.reorder_events is None else own.reorder_events
            if params is not None:
                token = f"{leg.sid}-{params['SequenceNumber']}"
                copies = [(params, False, token)]
                if duplicate and self._rng.random() < duplicate:
                    copies.append((params, True, token))
                if reorder:
                    # Held back until the leg ends, then delivered all at once, shuffled.
                    leg.buffered.extend(copies)
                else:
                    deliveries = copies
            if reorder and status in TERMINAL and leg.buffered:
                deliveries, leg.buffered = leg.buffered, []
                self._rng.shuffle(deliveries)
        for params, duplicate_copy, token in deliveries:
            assert leg.status_callback is not None
            self.sender.send(
                leg.status_callback,
                params,
                kind="status",
                call_sid=leg.sid,
                method=leg.status_callback_method,
                duplicate=duplicate_copy,
                token=token,
            )

    def _status_params(
        self, leg: Leg, status: str, t: float, extra: Mapping[str, str] | None
    ) -> dict[str, str] | None:
        """The status-callback parameters for this change, or None if nobody subscribed."""
        if not leg.status_callback or EVENT_OF_STATUS[status] not in leg.status_events:
            return None
        params = leg.call_params()
        params.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(leg.sequence),
            Timestamp=self.clock.rfc2822(t),
        )
        leg.sequence += 1
        if status in TERMINAL:
            seconds = leg.duration()
            params.update(
                CallDuration=str(seconds),
                Duration=str(math.ceil(seconds / 60)),
                SipResponseCode=str(SIP_CODE[status]),
            )
        if extra:
            params.update(extra)
        return params

    # ----------------------------------------------------------------- REST operations
    def get_leg(self, sid: str) -> Leg:
        """The leg ``sid`` or a Twilio-style 404."""
        with self.cv:
            leg = self.legs.get(sid)
        if leg is None:
            raise SimApiError(20404, f"The requested resource /Calls/{sid}.json was not found", 404)
        return leg

    def create_call(self, **fields_: Any) -> Leg:
        """Create an ``outbound-api`` leg and start playing it out (POST Calls.json).

        Refused like Twilio (a ``From`` the account may not show, a destination outside its
        geographic permissions); beyond the account's calls per second the call is accepted
        but stays ``queued`` until its slot.
        """
        from telephony.simulator.runner import CallRunner

        refusal = self.account.refuse_rest_call(fields_["to"], fields_["from_"])
        if refusal is not None:
            raise SimApiError.of(refusal)
        with self.cv:
            now = self.clock.now()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.account.calls_per_second
        leg = self.add_leg(
            direction="outbound-api",
            behaviour=self.behaviour_for(fields_["to"]),
            created_v=now,
            slot_v=slot,
            **fields_,
        )
        self.spawn(CallRunner(self, leg).run_outbound, leg.sid)
        return leg

    def update_call(
        self,
        sid: str,
        *,
        status: str | None = None,
        url: str | None = None,
        method: str = "POST",
        twiml: str | None = None,
    ) -> Leg:
        """Hang up, cancel or redirect a leg (POST Calls/{sid}.json); applied asynchronously."""
        leg = self.get_leg(sid)
        with self.cv:
            if status is not None:
                if status not in {"completed", "canceled"}:
                    raise SimApiError(21218, f"Invalid value for Status: {status}")
                if leg.ended or (status == "canceled" and leg.status == "in-progress"):
                    return leg  # nothing to do, as Twilio
                leg.signals.append(Signal("hangup" if status == "completed" else "cancel"))
            elif url is not None or twiml is not None:
                if leg.ended:
                    raise SimApiError(21220, "Call is not in-progress. Cannot redirect.")
                leg.signals.append(Signal("redirect", url=url, method=method, twiml=twiml))
            self.cv.notify_all()
        return leg

    def originate_inbound(
        self,
        from_: str,
        to: str,
        voice_url: str | None = None,
        status_callback: str | None = None,
    ) -> Leg:
        """Ring the number ``to`` from ``from_``: its voice URL gets the incoming call.

        A number of the account brings its own voice, fallback and status URLs; otherwise the
        simulator-wide ``voice_url`` / ``voice_fallback_url`` / ``voice_status_url`` apply.
        """
        from telephony.simulator.runner import CallRunner

        with self.cv:
            number = self.account.numbers.get(to) or PhoneNumber(to)
        url = voice_url or number.voice_url or self.config.voice_url
        if not url:
            raise SimApiError(21205, "No voice URL: configure voice_url or pass one")
        callback = status_callback or number.status_callback or self.config.voice_status_url
        location = {}
        for prefix, party in (("From", from_), ("To", to), ("Caller", from_), ("Called", to)):
            location.update(
                {
                    f"{prefix}Country": country_of(party),
                    f"{prefix}City": "",
                    f"{prefix}State": "",
                    f"{prefix}Zip": "",
                }
            )
        leg = self.add_leg(
            direction="inbound",
            to=to,
            from_=from_,
            behaviour=self.behaviour_for(from_),
            url=url,
            fallback_url=number.voice_fallback_url or self.config.voice_fallback_url,
            status_callback=callback,
            status_events=self.config.voice_status_events if callback else frozenset(),
            extra_params=location,
        )
        self.spawn(CallRunner(self, leg).run_inbound, leg.sid)
        return leg

    def send_message(
        self, *, to: str, from_: str, body: str, status_callback: str | None
    ) -> Message:
        """Accept an outbound SMS (POST Messages.json) and play out its delivery."""
        refusal = self.account.refuse_message(to, from_)
        if refusal is not None:
            raise SimApiError.of(refusal)
        message = Message(
            sid=self.new_sid("SM"),
            account_sid=self.config.account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            requested_at=time.monotonic(),
            created_v=self.clock.now(),
        )
        with self.cv:
            self.messages[message.sid] = message
            message.history.append({"status": "queued", "sim_time": message.created_v})
        self.spawn(lambda: self._play_message(message), message.sid)
        return message

    def get_message(self, sid: str) -> Message:
        """The message ``sid`` or a Twilio-style 404."""
        with self.cv:
            message = self.messages.get(sid)
        if message is None:
            raise SimApiError(
                20404, f"The requested resource /Messages/{sid}.json was not found", 404
            )
        return message

    def _play_message(self, message: Message) -> None:
        """sent, then delivered (or undelivered when the number is scripted to fail)."""
        failing = self.behaviour_for(message.to).sms_fail
        steps = [
            ("sent", 0.5, None),
            ("undelivered" if failing else "delivered", 1.5, 30003 if failing else None),
        ]
        for status, at, error in steps:
            t = message.created_v + at
            if not self.wait_until(t, lambda: False):
                return
            with self.cv:
                message.status = status
                message.error_code = error
                message.history.append({"status": status, "sim_time": t})
            if message.status_callback:
                params = {
                    "MessageSid": message.sid,
                    "SmsSid": message.sid,
                    "AccountSid": message.account_sid,
                    "From": message.from_,
                    "To": message.to,
                    "MessageStatus": status,
                    "SmsStatus": status,
                    "ApiVersion": API_VERSION,
                }
                if error is not None:
                    params["ErrorCode"] = str(error)
                self.sender.send(message.status_callback, params, kind="sms-status")

    def find_calls(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        status: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
    ) -> list[Leg]:
        """Calls matching the filters of ``GET Calls.json``, newest first, as Twilio lists them.

        The start-time filters compare the time the call was dialled; a call still
        ``queued`` has none and only matches without them.
        """
        with self.cv:
            legs = list(self.legs.values())
        found = []
        for leg in reversed(legs):
            if to is not None and leg.to != to:
                continue
            if from_ is not None and leg.from_ != from_:
                continue
            if status is not None and leg.status != status:
                continue
            if started_after is not None or started_before is not None:
                if leg.initiated_v is None:
                    continue
                started = self.clock.wall(leg.initiated_v)
                if started_after is not None and started < started_after:
                    continue
                if started_before is not None and started > started_before:
                    continue
            found.append(leg)
        return found

    def find_messages(
        self, *, to: str | None = None, from_: str | None = None, sent_after: datetime | None = None
    ) -> list[Message]:
        """Messages matching the filters of ``GET Messages.json``, newest first."""
        with self.cv:
            messages = list(self.messages.values())
        return [
            m
            for m in reversed(messages)
            if (to is None or m.to == to)
            and (from_ is None or m.from_ == from_)
            and (sent_after is None or self.clock.wall(m.created_v) >= sent_after)
        ]

    # ----------------------------------------------------------------- faults
    def respond_late(self, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` accepted REST creations ``seconds`` late (real seconds):
        the call or message exists, but the client's request times out."""
        with self.cv:
            self._late.extend([float(seconds)] * count)

    def take_late(self) -> float:
        """How late to answer the request just accepted (0: at once)."""
        with self.cv:
            return self._late.pop(0) if self._late else 0.0

    # ----------------------------------------------------------------- reports
    def calls(self) -> list[dict[str, Any]]:
        """Every leg, in the order it was requested."""
        with self.cv:
            return [leg_report(leg) for leg in self.legs.values()]

    def message_reports(self) -> list[dict[str, Any]]:
        """Every message, in the order it was requested."""
        with self.cv:
            return [message_report(m) for m in self.messages.values()]
