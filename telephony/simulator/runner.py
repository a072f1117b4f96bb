"""Play-out of one leg that runs TwiML: ringing, answering, then the app's verbs in order.

A runner owns a virtual time cursor ``t``. Scripted moments (answer after 1 s, hang up after 5 s)
advance it exactly, so reported durations are the scripted ones; a REST request interrupting a
wait moves it to the current virtual time instead.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from telephony.simulator import dial, gather, queueing
from telephony.simulator.account import is_client
from telephony.simulator.bridge import make_recording, send_recording_callback
from telephony.simulator.flow import CLOSED, DEADLINE, SIGNAL, STOP, TIME, Next
from telephony.simulator.records import Leg, Signal
from telephony.simulator.twiml_reader import TwimlError, number_attr, parse_document

#: Twilio's error code when a webhook could not be fetched (unreachable, non-2xx answer).
HTTP_RETRIEVAL_FAILURE = 11200

if TYPE_CHECKING:
    from telephony.simulator.engine import Engine

log = logging.getLogger(__name__)


class CallRunner:
    """Runs one leg: a REST-created call, an inbound call, or a child redirected out of a Dial."""

    def __init__(self, engine: Engine, leg: Leg) -> None:
        self.engine = engine
        self.leg = leg
        self.t = leg.created_v
        self.doc_url = leg.url or ""
        self.children: list[Leg] = []
        #: Running a screening document on a called party's leg: no ``<Dial>`` allowed.
        self.whisper = False

    # ------------------------------------------------------------------ entry points
    def run_outbound(self) -> None:
        """A leg created with POST Calls.json: ring, and once answered run its TwiML."""
        try:
            if not self._wait_for_slot():
                return
            self.engine.set_status(self.leg, "initiated", self.t)
            if self._ring():
                self.answer()
                if self.leg.twiml:
                    self.execute(self._parse(self.leg.twiml))
                elif self.leg.url:
                    self.execute(self.fetch_primary(self.leg.url, self.leg.method) or [])
        finally:
            self.finish()

    def run_inbound(self) -> None:
        """An incoming hotline call: ask the app's voice URL what to do, then do it."""
        try:
            self.engine.set_status(self.leg, "ringing", self.t)
            self.leg.alone_since_v = self.t
            assert self.leg.url is not None
            verbs = self.fetch_primary(self.leg.url, "POST", kind="incoming")
            if verbs is None:
                # The app (and its fallback) failed: Twilio apologises and gives up.
                self.engine.set_status(self.leg, "failed", self.t)
                return
            self.execute(verbs)
        finally:
            self.finish()

    def run_redirected(self, signal: Signal) -> None:
        """A child leg taken out of its bridge by a redirect: it now runs TwiML of its own."""
        try:
            self.leg.alone_since_v = self.t
            verbs = self.obey(signal)
            if isinstance(verbs, list):
                self.execute(verbs)
        finally:
            self.finish()

    # ------------------------------------------------------------------ time
    def deadline(self, *, patience: bool = True) -> float:
        """When the party gives up waiting alone, or the call's time limit, if sooner."""
        leg = self.leg
        limits = [math.inf]
        if patience and leg.alone_since_v is not None:
            limits.append(leg.alone_since_v + leg.behaviour.abandon_after)
        if leg.time_limit is not None and leg.answered_v is not None:
            limits.append(leg.answered_v + leg.time_limit)
        return min(limits)

    def wait(
        self,
        until: float,
        *watch: Leg,
        patience: bool = True,
        wake: Callable[[], bool] | None = None,
        peek: tuple[Leg, ...] = (),
    ) -> str:
        """Wait for virtual time ``until``; answer TIME, SIGNAL, DEADLINE or CLOSED.

        Signals (REST requests) on this leg or on ``watch`` / ``peek`` legs end the wait early,
        as does ``wake()``; DEADLINE means the party gave up or the time limit struck first.
        """
        deadline = self.deadline(patience=patience)
        target = min(until, deadline)
        legs = (self.leg, *watch, *peek)
        reached = self.engine.wait_until(
            target, lambda: any(leg.signals for leg in legs) or bool(wake and wake())
        )
        if self.engine.closed:
            return CLOSED
        if reached:
            self.t = max(self.t, target)
            return TIME if until <= deadline else DEADLINE
        self.t = max(self.t, self.engine.clock.now())
        return SIGNAL

    # ------------------------------------------------------------------ call states
    def _before_answer(self, until: float) -> bool:
        """Wait, unanswered, until ``until``: True when it came, False if the leg was
        canceled by the REST API (or the simulator closed). A redirect meanwhile only
        replaces the TwiML that runs once the leg is answered."""
        leg, engine = self.leg, self.engine
        while True:
            outcome = self.wait(until, patience=False)
            if outcome == TIME:
                return True
            if outcome == CLOSED:
                return False
            signal = engine.take_signal(leg)
            if signal is None:
                continue
            if signal.kind == "redirect":
                leg.url, leg.method, leg.twiml = signal.url, signal.method, signal.twiml
                continue
            engine.set_status(leg, "canceled", self.t)
            return False

    def _wait_for_slot(self) -> bool:
        """A call beyond the account's calls per second stays ``queued`` until its slot.

        False if it was canceled (or the simulator closed) while queued.
        """
        slot = self.leg.slot_v if self.leg.slot_v is not None else self.t
        return self.t >= slot or self._before_answer(slot)

    def _ring(self) -> bool:
        """Ring the REST-created leg; True once answered, else its final status is set."""
        leg, engine = self.leg, self.engine
        behaviour = leg.behaviour
        start = self.t
        if is_client(leg.to) and not engine.account.client_online(leg.to):
            # No device registered for the identity: nothing rings.
            final, at = "no-answer", start
        elif behaviour.fail or behaviour.busy:
            final, at = ("failed", start + 0.5) if behaviour.fail else ("busy", start + 1.0)
        else:
            engine.set_status(leg, "ringing", start)
            answers = not behaviour.no_answer and behaviour.answer_after < leg.timeout
            final = "in-progress" if answers else "no-answer"
            at = start + (behaviour.answer_after if answers else leg.timeout)
        if not self._before_answer(at):
            return False
        if final != "in-progress":
            engine.set_status(leg, final, self.t)
            return False
        return True

    def answer(self) -> None:
        """The party picks up (a machine if scripted as voicemail)."""
        leg = self.leg
        if leg.answered or leg.ended:
            return
        if leg.machine_detection:
            leg.answered_by = leg.behaviour.answered_by()
        leg.alone_since_v = self.t
        self.engine.set_status(leg, "in-progress", self.t)

    def hang_up(self) -> str:
        """This leg ends now (by its party, the app or a time limit)."""
        status = "completed" if self.leg.answered or self.leg.direction == "inbound" else "canceled"
        self.engine.set_status(self.leg, status, self.t)
        return STOP

    def finish(self) -> None:
        """Leave nothing live behind, whatever happened (including errors)."""
        for child in self.children:
            if not child.ended and child.parent_sid == self.leg.sid:
                self.engine.set_status(child, "completed" if child.answered else "canceled", self.t)
        if not self.leg.ended:
            self.hang_up()
        queueing.forget(self.engine, self.leg)
        leg = self.leg
        if leg.record and leg.answered_v is not None:
            # Record=true on POST Calls.json records the whole leg, reported when it ends.
            mode = "dual" if leg.recording_channels == 2 else "true"
            recording = make_recording(self, mode, leg.answered_v, leg.duration())
            send_recording_callback(
                self, recording, leg.recording_status_callback, source="OutboundAPI"
            )

    # ------------------------------------------------------------------ webhooks
    def url(self, ref: str) -> str:
        """Resolve a TwiML URL relative to the document it came from, as Twilio does."""
        return urljoin(self.doc_url, ref.strip())

    def post(
        self, url: str, extra: dict[str, str] | None = None, *, kind: str, method: str = "POST"
    ) -> str | None:
        """Send a voice request about this leg; the body when the app answered 2xx."""
        params = self.leg.call_params()
        params.update(extra or {})
        delivery = self.engine.sender.send(
            url, params, kind=kind, call_sid=self.leg.sid, method=method
        )
        if not delivery.ok:
            reason = delivery.error or f"HTTP {delivery.status}"
            self.engine.alert(
                HTTP_RETRIEVAL_FAILURE,
                f"HTTP retrieval failure: {reason}",
                call_sid=self.leg.sid,
                url=url,
            )
        return delivery.text if delivery.ok else None

    def _request(
        self, url: str, method: str, extra: dict[str, str] | None, kind: str, *, whisper: bool
    ) -> tuple[list[ET.Element] | None, int | None]:
        """Fetch and parse a document: (verbs, None), or (None, Twilio's error code)."""
        text = self.post(url, extra, kind=kind, method=method)
        if text is None:
            return None, HTTP_RETRIEVAL_FAILURE
        try:
            verbs = parse_document(text, whisper=whisper or self.whisper)
        except TwimlError as exc:
            self.engine.alert(exc.code, str(exc), call_sid=self.leg.sid, url=url)
            return None, exc.code
        self.doc_url = url
        return verbs, None

    def fetch(
        self,
        url: str,
        method: str = "POST",
        extra: dict[str, str] | None = None,
        *,
        kind: str = "twiml",
        whisper: bool = False,
    ) -> list[ET.Element] | None:
        """Ask the app for TwiML; None when it failed (the call then ends, as at Twilio)."""
        return self._request(url, method, extra, kind, whisper=whisper)[0]

    def fetch_primary(
        self, url: str, method: str = "POST", *, kind: str = "twiml"
    ) -> list[ET.Element] | None:
        """Fetch the call's first document; on failure, the fallback URL's (once, no retry).

        Twilio does not retry a failing voice URL: it requests the number's (or the REST
        call's) fallback URL with ``ErrorCode`` and ``ErrorUrl``, and runs that TwiML.
        """
        verbs, error = self._request(url, method, None, kind, whisper=False)
        fallback = self.leg.fallback_url
        if error is None or not fallback:
            return verbs
        extra = {"ErrorCode": str(error), "ErrorUrl": url}
        return self.fetch(fallback, self.leg.fallback_method, extra, kind="fallback")

    def _parse(self, text: str) -> list[ET.Element] | None:
        try:
            return parse_document(text)
        except TwimlError as exc:
            self.engine.alert(exc.code, str(exc), call_sid=self.leg.sid)
            return None

    def obey(self, signal: Signal) -> Next:
        """Apply a REST request: hang up, or fetch the TwiML it points at."""
        if signal.kind in {"hangup", "cancel"}:
            return self.hang_up()
        if signal.twiml is not None:
            verbs = self._parse(signal.twiml)
        else:
            assert signal.url is not None
            verbs = self.fetch(signal.url, signal.method)
        return STOP if verbs is None else verbs

    # ------------------------------------------------------------------ TwiML
    def execute(self, verbs: list[ET.Element] | None) -> None:
        """Run a document verb by verb; REST requests are obeyed between and during verbs."""
        pending = list(verbs or [])
        while not self.leg.ended:
            signal = self.engine.take_signal(self.leg)
            outcome: Next = self.obey(signal) if signal else None
            if outcome is None:
                if not pending:
                    return  # the document ran out: the call hangs up
                outcome = self.perform(pending.pop(0))
            if outcome == STOP:
                return
            if isinstance(outcome, list):
                pending = outcome

    def perform(self, verb: ET.Element) -> Next:
        """Run one verb."""
        tag = verb.tag
        if tag in {"Say", "Play", "Pause"}:
            self.answer()
            return self.idle(self.verb_seconds(verb))
        if tag == "Hangup":
            return self.hang_up()
        if tag == "Reject":
            if self.leg.answered:
                return self.hang_up()
            busy = verb.get("reason") == "busy"
            self.engine.set_status(self.leg, "busy" if busy else "failed", self.t)
            return STOP
        if tag == "Redirect":
            verbs = self.fetch(self.url(verb.text or ""), verb.get("method", "POST"))
            return STOP if verbs is None else verbs
        if tag == "Dial":
            return dial.perform(self, verb)
        if tag == "Enqueue":
            self.answer()
            return queueing.perform_enqueue(self, verb)
        if tag == "Gather":
            self.answer()
            return gather.perform(self, verb)
        if tag == "Record":
            # Nobody speaks in the simulator: wait out the timeout and go on.
            self.answer()
            prompt = sum(self.verb_seconds(child) for child in verb)
            return self.idle(prompt + number_attr(verb, "timeout", 5))
        log.info("call %s: <%s> is not simulated, skipped", self.leg.sid, tag)
        return None

    def verb_seconds(self, verb: ET.Element) -> float:
        """How long a Say / Play / Pause lasts in simulated seconds (loop=0 means forever)."""
        if verb.tag == "Pause":
            return number_attr(verb, "length", 1)
        if verb.tag not in {"Say", "Play"}:
            return 0.0
        loops = number_attr(verb, "loop", 1)
        config = self.engine.config
        each = config.say_seconds if verb.tag == "Say" else config.play_seconds
        return math.inf if loops <= 0 else each * loops

    def idle(self, seconds: float) -> Next:
        """Let the party listen for ``seconds``; it may give up, or a REST request may come."""
        outcome = self.wait(self.t + seconds)
        if outcome in {DEADLINE, CLOSED}:
            return self.hang_up()
        return None
