"""``<Dial>``: ring every ``<Number>`` / ``<Client>`` at once, bridge the first to answer
(screened by its ``url`` TwiML, if any), then report to the ``action`` URL and the recording
callback. Refused like Twilio: a ``callerId`` the account may not show fails the Dial (13214),
a destination outside the geographic permissions fails its leg (13227)."""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from telephony.simulator import queueing, screening
from telephony.simulator.account import is_client
from telephony.simulator.bridge import bridge, send_recording_callback
from telephony.simulator.flow import CLOSED, DEADLINE, SIGNAL, STOP, DialOutcome, Next
from telephony.simulator.records import Leg, Signal
from telephony.simulator.twiml_reader import DialTarget, dial_targets, number_attr

if TYPE_CHECKING:
    from telephony.simulator.runner import CallRunner

log = logging.getLogger(__name__)


def perform(runner: CallRunner, verb: ET.Element) -> Next:
    """Run a ``<Dial>`` verb and decide what the leg does next."""
    if verb.get("answerOnBridge") != "true":
        runner.answer()
    targets = dial_targets(verb)
    queue = next((target for target in targets if target.kind == "queue"), None)
    if queue is not None:
        outcome = queueing.dial_queue(runner, verb, queue)
    else:
        outcome = ring(runner, verb, targets)
    return _after(runner, verb, outcome)


def _after(runner: CallRunner, verb: ET.Element, outcome: DialOutcome) -> Next:
    """Request the action URL, send the recording callback, and pick the next document."""
    if outcome.caller_gone:
        runner.hang_up()
    action = verb.get("action")
    method = verb.get("method", "POST")
    following: Next = STOP if outcome.caller_gone else None
    if outcome.redirect is not None and not outcome.caller_gone:
        # Redirected by the REST API: the action URL is not requested, the new TwiML runs.
        following = runner.obey(outcome.redirect)
    elif action and outcome.caller_gone:
        runner.post(runner.url(action), outcome.action_params(), kind="action", method=method)
    elif action:
        verbs = runner.fetch(runner.url(action), method, outcome.action_params(), kind="action")
        following = STOP if verbs is None else verbs
    send_recording_callback(
        runner,
        outcome.recording,
        verb.get("recordingStatusCallback"),
        source="DialVerb",
        method=verb.get("recordingStatusCallbackMethod", "POST"),
    )
    return following


def ring(runner: CallRunner, verb: ET.Element, targets: list[DialTarget]) -> DialOutcome:
    """Ring the targets simultaneously; the first to answer (and accept, when screened) wins.

    A target with a ``url`` is screened: once it answers, that TwiML runs on its leg while the
    others keep ringing; it is bridged only if the document runs to its end (a ``<Hangup>``,
    e.g. after a ``<Gather>`` nobody answered, ends that leg instead).
    """
    engine, leg = runner.engine, runner.leg
    for target in targets:
        if target.kind == "unsupported":
            log.info("call %s: <Dial><%s> is not simulated", leg.sid, target.address)
    dialable = [t for t in targets if t.kind in {"number", "client"} and t.address]
    if not dialable:
        return DialOutcome("failed")
    caller_id = verb.get("callerId")
    for target in dialable:
        refusal = engine.account.refuse_dial_caller_id(caller_id, leg.from_, leg.to, target.address)
        if refusal is not None:
            engine.alert(refusal.code, refusal.message, call_sid=leg.sid)
            return DialOutcome("failed")
    timeout = number_attr(verb, "timeout", 30)
    start = runner.t
    children = [
        engine.add_leg(
            direction="outbound-dial",
            to=target.address,
            from_=caller_id or leg.from_,
            behaviour=engine.behaviour_for(target.address),
            created_v=start,
            parent_sid=leg.sid,
            status_callback=target.status_callback,
            status_events=target.status_events,
            status_callback_method=target.status_callback_method,
            timeout=timeout,
            machine_detection=target.machine_detection,
        )
        for target in dialable
    ]
    target_of = {child.sid: target for child, target in zip(children, dialable, strict=True)}
    runner.children.extend(children)
    plans = {child.sid: _plan(runner, child, start, timeout) for child in children}
    screens: dict[str, screening.Screen] = {}
    winner: Leg | None = None
    while winner is None:
        decided = [c for c in children if c.sid in screens and screens[c.sid].state != "screening"]
        accepted = [c for c in decided if screens[c.sid].state == "accepted"]
        if accepted:
            winner = accepted[0]
            break
        pending = [s for s in screens.values() if s.state == "screening"]
        live = [c for c in children if not c.ended and c.sid not in screens]
        if not live and not pending:
            break
        if live:
            child = min(live, key=lambda c: plans[c.sid][0])
            at, final = plans[child.sid]
        else:
            at, final = math.inf, ""
        waited = runner.wait(at, *live, wake=_decided(pending))
        if waited in {DEADLINE, CLOSED}:  # the caller gave up before anyone took the call
            _cancel(runner, children)
            return DialOutcome("canceled", caller_gone=True)
        if waited == SIGNAL:
            signal = engine.take_signal(leg)
            if signal is not None:
                _cancel(runner, children)
                if signal.kind == "redirect":
                    return DialOutcome("canceled", redirect=signal)
                return DialOutcome("canceled", caller_gone=True)
            for ringing in live:
                request = engine.take_signal(ringing)
                if request is not None and request.kind != "redirect":
                    engine.set_status(ringing, "canceled", runner.t)
            continue
        if final != "in-progress":
            engine.set_status(child, final, at)
            continue
        if child.machine_detection:
            child.answered_by = child.behaviour.answered_by()
        engine.set_status(child, "in-progress", runner.t)
        target = target_of[child.sid]
        if target.url:
            screens[child.sid] = screening.start(runner, child, target.url, target.url_method)
        else:
            winner = child
    if winner is None:
        refused = [c for c in children if c.sid in screens]
        return DialOutcome(_unanswered(children, refused), dial_sid=children[0].sid)
    _cancel(runner, [c for c in children if c is not winner])
    outcome, _ = bridge(runner, verb, winner, own_other=True)
    return outcome


def _decided(pending: list[screening.Screen]) -> Callable[[], bool]:
    """A wake condition: one of the legs being screened accepted or refused."""
    return lambda: any(screen.state != "screening" for screen in pending)


def _plan(runner: CallRunner, child: Leg, start: float, timeout: float) -> tuple[float, str]:
    """Send the child's first events and say when and how its ringing ends."""
    engine, behaviour = runner.engine, child.behaviour
    refusal = engine.account.refuse_dial_target(child.to)
    if refusal is not None:
        engine.alert(refusal.code, refusal.message, call_sid=runner.leg.sid)
        return start, "failed"
    engine.set_status(child, "initiated", start)
    if is_client(child.to) and not engine.account.client_online(child.to):
        return start, "no-answer"  # no device registered for the identity: nothing rings
    if behaviour.fail:
        return start + 0.5, "failed"
    if behaviour.busy:
        return start + 1.0, "busy"
    engine.set_status(child, "ringing", start)
    if not behaviour.no_answer and behaviour.answer_after < timeout:
        return start + behaviour.answer_after, "in-progress"
    return start + timeout, "no-answer"


def _cancel(runner: CallRunner, legs: list[Leg]) -> None:
    """End every leg still live: ringing ones are canceled, answered (screening) ones hung up."""
    engine = runner.engine
    for leg in legs:
        if leg.ended:
            continue
        if leg.answered:
            with engine.cv:
                leg.signals.append(Signal("hangup"))
                engine.cv.notify_all()
            engine.set_status(leg, "completed", runner.t)
        else:
            engine.set_status(leg, "canceled", runner.t)


def _unanswered(children: list[Leg], refused: list[Leg]) -> str:
    """DialCallStatus when nobody was bridged: the most telling of the children's statuses
    (a leg that answered but did not accept the screen counts as not answered)."""
    statuses = {child.status for child in children if child not in refused}
    if refused:
        statuses.add("no-answer")
    for status in ("no-answer", "busy", "canceled"):
        if status in statuses:
            return status
    return "failed"
