"""``<Dial>``: ring every ``<Number>`` / ``<Client>`` at once, bridge the first to answer,
then report to the ``action`` URL and the recording callback."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from telephony.simulator import queueing
from telephony.simulator.bridge import bridge, send_recording_callback
from telephony.simulator.flow import CLOSED, DEADLINE, SIGNAL, STOP, DialOutcome, Next
from telephony.simulator.records import Leg
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
    """Ring the targets simultaneously; the first to answer wins, the others are canceled."""
    engine, leg = runner.engine, runner.leg
    for target in targets:
        if target.kind == "unsupported":
            log.info("call %s: <Dial><%s> is not simulated", leg.sid, target.address)
    dialable = [t for t in targets if t.kind in {"number", "client"} and t.address]
    if not dialable:
        return DialOutcome("failed")
    timeout = number_attr(verb, "timeout", 30)
    caller_id = verb.get("callerId") or leg.from_
    start = runner.t
    children = [
        engine.add_leg(
            direction="outbound-dial",
            to=target.address,
            from_=caller_id,
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
    runner.children.extend(children)
    plans = {child.sid: _plan(runner, child, start, timeout) for child in children}
    winner: Leg | None = None
    while winner is None:
        live = [child for child in children if not child.ended]
        if not live:
            break
        child = min(live, key=lambda c: plans[c.sid][0])
        at, final = plans[child.sid]
        waited = runner.wait(at, *live)
        if waited in {DEADLINE, CLOSED}:  # the caller gave up before anyone answered
            _cancel(runner, live)
            return DialOutcome("canceled", caller_gone=True)
        if waited == SIGNAL:
            signal = engine.take_signal(leg)
            if signal is not None:
                _cancel(runner, live)
                if signal.kind == "redirect":
                    return DialOutcome("canceled", redirect=signal)
                return DialOutcome("canceled", caller_gone=True)
            for ringing in live:
                request = engine.take_signal(ringing)
                if request is not None and request.kind != "redirect":
                    engine.set_status(ringing, "canceled", runner.t)
            continue
        if final == "in-progress":
            winner = child
        else:
            engine.set_status(child, final, at)
    if winner is None:
        return DialOutcome(_unanswered(children), dial_sid=children[0].sid)
    _cancel(runner, [c for c in children if c is not winner and not c.ended])
    if winner.machine_detection:
        winner.answered_by = "machine_start" if winner.behaviour.voicemail else "human"
    engine.set_status(winner, "in-progress", runner.t)
    outcome, _ = bridge(runner, verb, winner, own_other=True)
    return outcome


def _plan(runner: CallRunner, child: Leg, start: float, timeout: float) -> tuple[float, str]:
    """Send the child's first events and say when and how its ringing ends."""
    engine, behaviour = runner.engine, child.behaviour
    engine.set_status(child, "initiated", start)
    if behaviour.fail:
        return start + 0.5, "failed"
    if behaviour.busy:
        return start + 1.0, "busy"
    engine.set_status(child, "ringing", start)
    if not behaviour.no_answer and behaviour.answer_after < timeout:
        return start + behaviour.answer_after, "in-progress"
    return start + timeout, "no-answer"


def _cancel(runner: CallRunner, legs: list[Leg]) -> None:
    for leg in legs:
        runner.engine.set_status(leg, "canceled", runner.t)


def _unanswered(children: list[Leg]) -> str:
    """DialCallStatus when nobody answered: the most telling of the children's statuses."""
    statuses = {child.status for child in children}
    for status in ("no-answer", "busy", "canceled"):
        if status in statuses:
            return status
    return "failed"
