"""Two answered legs talking: who hangs up when, and the recording of their conversation."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from telephony.simulator.behaviour import DEFAULT_TALK, Behaviour
from telephony.simulator.flow import CLOSED, DEADLINE, TIME, DialOutcome
from telephony.simulator.records import API_VERSION, Leg, Signal
from telephony.simulator.twiml_reader import number_attr

if TYPE_CHECKING:
    from telephony.simulator.runner import CallRunner

#: Twilio's default and maximum call length, in seconds (4 hours).
MAX_CALL = 14400.0

#: How a bridge ended, from the point of view of the leg running the ``<Dial>``.
CALLER, CALLEE, CALLEE_LEFT, REDIRECT = "caller", "callee", "callee-left", "redirect"


def bridge(
    runner: CallRunner, verb: ET.Element, other: Leg, *, own_other: bool
) -> tuple[DialOutcome, str]:
    """Connect ``runner``'s leg with the answered ``other`` until one side ends it.

    ``own_other`` is True for a child leg of this ``<Dial>`` (this function consumes its REST
    requests and completes it); False for a dequeued caller, whose own runner acts on them once
    told how the bridge ended. Returns the Dial outcome and who ended the bridge.
    """
    engine, leg = runner.engine, runner.leg
    start = runner.t
    runner.answer()  # with answerOnBridge the caller is answered only now
    leg.alone_since_v = other.alone_since_v = None
    limit = number_attr(verb, "timeLimit", MAX_CALL)
    talk, ender = _talk(leg.behaviour, other.behaviour, limit)
    redirect = None
    while True:
        if own_other:
            waited = runner.wait(start + talk, other, patience=False)
        else:
            waited = runner.wait(start + talk, patience=False, peek=(other,))
        if waited == TIME:
            break
        if waited in {DEADLINE, CLOSED}:  # the call's own time limit, or shutting down
            ender = CALLER
            break
        signal = engine.take_signal(leg)
        if signal is not None:
            ender, redirect = (REDIRECT, signal) if signal.kind == "redirect" else (CALLER, None)
            break
        if own_other:
            theirs_signal = engine.take_signal(other)
            if theirs_signal is None:
                continue
            if theirs_signal.kind == "redirect":
                ender = CALLEE_LEFT
                _hand_off(runner, other, theirs_signal)
            else:
                ender = CALLEE
            break
        with engine.cv:
            pending = other.signals[0] if other.signals else None
        if pending is not None:
            ender = CALLEE_LEFT if pending.kind == "redirect" else CALLEE
            break
    end = runner.t
    if own_other and ender != CALLEE_LEFT:
        engine.set_status(other, "completed", end)
    if ender != CALLER:
        leg.alone_since_v = end
    duration = max(0, round(end - start))
    outcome = DialOutcome(
        "completed",
        dial_sid=other.sid,
        duration=duration,
        bridged=True,
        recording=make_recording(runner, verb.get("record", ""), start, duration),
        caller_gone=ender == CALLER,
        redirect=redirect,
    )
    return outcome, ender


def _talk(caller: Behaviour, callee: Behaviour, limit: float) -> tuple[float, str]:
    """How long the two talk and who hangs up: the shorter script wins, the callee on a tie.

    An unscripted side defers to the other's script; a Dial ``timeLimit`` ends the Dial (so
    the caller goes on with the action URL, as when the callee hangs up).
    """
    mine = math.inf if caller.hangup_after is None else caller.hangup_after
    theirs = math.inf if callee.hangup_after is None else callee.hangup_after
    if math.isinf(mine) and math.isinf(theirs):
        theirs = DEFAULT_TALK
    if mine < min(theirs, limit):
        return mine, CALLER
    return min(theirs, limit), CALLEE


def _hand_off(runner: CallRunner, child: Leg, signal: Signal) -> None:
    """A child redirected out of the bridge goes on with TwiML of its own, in its own thread."""
    runner.children.remove(child)
    child_runner = type(runner)(runner.engine, child)
    child_runner.t = runner.t
    runner.engine.spawn(lambda: child_runner.run_redirected(signal), child.sid)


def make_recording(
    runner: CallRunner, mode: str, start: float, duration: int
) -> dict[str, str] | None:
    """A recording of ``duration`` seconds from ``start``, if ``mode`` asks for one.

    ``mode`` is a ``<Dial record=…>`` value, or ``"true"`` / ``"dual"`` for a REST ``Record``.
    """
    if mode in {"", "false", "do-not-record"}:
        return None
    engine = runner.engine
    sid = engine.new_sid("RE")
    account = engine.config.account_sid
    recording = {
        "RecordingSid": sid,
        "RecordingUrl": f"{engine.base_url}/{API_VERSION}/Accounts/{account}/Recordings/{sid}",
        "RecordingDuration": str(duration),
        "RecordingChannels": "2" if mode.endswith("dual") else "1",
        "RecordingStartTime": engine.clock.rfc2822(start),
    }
    with engine.cv:
        engine.recordings[sid] = {
            "call_sid": runner.leg.sid,
            "duration": duration,
            "channels": 2 if mode.endswith("dual") else 1,
            "start_sim_time": start,
            "status": "processing",
        }
    return recording


def send_recording_callback(
    runner: CallRunner,
    recording: dict[str, str] | None,
    url: str | None,
    *,
    source: str,
    method: str = "POST",
) -> None:
    """The recording is ``processing`` for the simulator's ``recording_processing`` seconds,
    then ``completed``, and only then does its status callback go out (as at Twilio)."""
    if not recording:
        return
    engine = runner.engine
    sid = recording["RecordingSid"]
    params = {
        "AccountSid": engine.config.account_sid,
        "CallSid": runner.leg.sid,
        "RecordingStatus": "completed",
        "RecordingSource": source,
        "RecordingTrack": "both",
        "ErrorCode": "0",
        **recording,
    }
    address = runner.url(url) if url else None
    call_sid = runner.leg.sid

    def complete() -> None:
        with engine.cv:
            engine.recordings[sid]["status"] = "completed"
        if address:
            engine.sender.send(address, params, kind="recording", call_sid=call_sid, method=method)

    delay = engine.config.recording_processing
    if delay <= 0:
        complete()
        return
    due = runner.t + delay

    def later() -> None:
        if engine.wait_until(due, lambda: False):
            complete()

    engine.spawn(later, f"{sid}-processing")
