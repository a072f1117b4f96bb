"""Call queues: ``<Enqueue>`` parks a caller, ``<Dial><Queue>`` bridges an agent to them.

The caller's runner waits, playing the wait URL's TwiML in a loop (requested again each time
it runs out, with ``QueuePosition``, ``QueueTime``, ``AvgQueueTime`` and ``CurrentQueueSize``),
until an agent's runner takes the entry; the agent's runner then owns the bridge and tells the
caller's runner how it ended. The wait TwiML may ``<Say>``, ``<Play>``, ``<Pause>``,
``<Gather>`` (its action TwiML goes on in the queue), ``<Redirect>``, ``<Leave>`` (the caller
leaves the queue and the ``<Enqueue>`` action runs) and ``<Hangup>``. A REST update of the
queued call takes it out of the queue to the new TwiML. Nothing dequeues by itself.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telephony.simulator import gather
from telephony.simulator.bridge import CALLEE, CALLEE_LEFT, bridge
from telephony.simulator.flow import CLOSED, DEADLINE, SIGNAL, STOP, TIME, DialOutcome, Next
from telephony.simulator.records import Leg
from telephony.simulator.twiml_reader import DialTarget, number_attr

if TYPE_CHECKING:
    from telephony.simulator.engine import Engine
    from telephony.simulator.runner import CallRunner

#: Least simulated time between two requests of a wait URL (an empty document would spin).
MIN_WAIT_REFETCH = 1.0


@dataclass
class QueueEntry:
    """A caller waiting in a named queue: waiting -> bridging -> done, or left."""

    leg: Leg
    name: str
    queue_sid: str
    enqueued_v: float
    state: str = "waiting"
    bridged_v: float | None = None
    ender: str | None = None
    end_v: float = 0.0


def _join(engine: Engine, leg: Leg, name: str, t: float) -> QueueEntry:
    with engine.cv:
        sid = engine.queue_sids.setdefault(name, engine.new_sid("QU"))
        entry = QueueEntry(leg, name, sid, t)
        engine.queues.setdefault(name, []).append(entry)
        engine.cv.notify_all()
        return entry


def _leave(engine: Engine, entry: QueueEntry) -> bool:
    """Take the caller out of the queue, unless an agent got them first."""
    with engine.cv:
        if entry.state != "waiting":
            return False
        entry.state = "left"
        engine.queues[entry.name].remove(entry)
        return True


def _take(engine: Engine, name: str) -> QueueEntry | None:
    """The longest-waiting caller of ``name``, now being bridged; None if nobody waits."""
    with engine.cv:
        waiting = engine.queues.get(name) or []
        if not waiting:
            return None
        entry = waiting.pop(0)
        entry.state = "bridging"
        engine.cv.notify_all()  # the caller's runner stops playing hold music
        return entry


def forget(engine: Engine, leg: Leg) -> None:
    """Drop a finished leg from every queue (its runner ended without leaving properly)."""
    with engine.cv:
        for entries in engine.queues.values():
            entries[:] = [e for e in entries if e.leg is not leg]


def _queue_params(engine: Engine, entry: QueueEntry, t: float) -> dict[str, str]:
    """What Twilio tells the wait URL about the caller's place in the queue."""
    with engine.cv:
        entries = engine.queues.get(entry.name) or []
        position = entries.index(entry) + 1 if entry in entries else 0
        size = len(entries)
    return {
        "QueueSid": entry.queue_sid,
        "QueuePosition": str(position),
        "QueueTime": str(round(t - entry.enqueued_v)),
        "AvgQueueTime": str(average_wait(engine, entry.name)),
        "CurrentQueueSize": str(size),
    }


def average_wait(engine: Engine, name: str) -> int:
    """Average seconds callers waited before an agent took them off ``name`` (0: none yet)."""
    with engine.cv:
        served, total = engine.queue_served.get(name, (0, 0.0))
    return round(total / served) if served else 0


def _served(engine: Engine, entry: QueueEntry, t: float) -> None:
    with engine.cv:
        served, total = engine.queue_served.get(entry.name, (0, 0.0))
        engine.queue_served[entry.name] = (served + 1, total + max(0.0, t - entry.enqueued_v))


def perform_enqueue(runner: CallRunner, verb: ET.Element) -> Next:
    """Run ``<Enqueue>``: wait to be dequeued, then go on after the bridge."""
    engine, leg = runner.engine, runner.leg
    document_url = runner.doc_url
    entry = _join(engine, leg, (verb.text or "").strip(), runner.t)
    wait_url = verb.get("waitUrl")
    hold: list[ET.Element] = []
    next_fetch = runner.t
    result: str | None = None
    while result is None and entry.state == "waiting":
        if wait_url and not hold and runner.t >= next_fetch:
            params = _queue_params(engine, entry, runner.t)
            hold = (
                runner.fetch(
                    runner.url(wait_url), verb.get("waitUrlMethod", "POST"), params, kind="wait"
                )
                or []
            )
            next_fetch = runner.t + MIN_WAIT_REFETCH
        seconds = max(0.0, next_fetch - runner.t) if wait_url else math.inf
        if hold:
            step = hold.pop(0)
            if step.tag in {"Leave", "Hangup"}:
                result = "leave" if step.tag == "Leave" else "hangup"
                break
            if step.tag == "Redirect":
                hold = (
                    runner.fetch(
                        runner.url(step.text or ""), step.get("method", "POST"), kind="wait"
                    )
                    or []
                )
                continue
            if step.tag == "Gather":
                outcome, keys = gather.listen(runner, step, wake=lambda: entry.state != "waiting")
                if outcome in {DEADLINE, CLOSED}:
                    result = "hangup"
                elif outcome == SIGNAL and leg.signals:
                    result = "signal"
                elif outcome == TIME and gather.wants_action(step, keys):
                    params = _queue_params(engine, entry, runner.t)
                    params.update(gather.action_params(keys))
                    action = runner.url(step.get("action") or runner.doc_url)
                    hold = (
                        runner.fetch(action, step.get("method", "POST"), params, kind="gather")
                        or []
                    )
                continue
            seconds = runner.verb_seconds(step)
        waited = runner.wait(runner.t + seconds, wake=lambda: entry.state != "waiting")
        if waited in {DEADLINE, CLOSED}:
            result = "hangup"
        elif waited == SIGNAL and leg.signals:
            result = "signal"
        elif waited != TIME:
            continue
    runner.doc_url = document_url
    if result is not None and _leave(engine, entry):
        return _left(runner, verb, entry, result)
    return _after_bridge(runner, verb, entry)


def _left(runner: CallRunner, verb: ET.Element, entry: QueueEntry, result: str) -> Next:
    """The caller left the queue on their own (hung up, redirected, ``<Leave>``)."""
    if result == "signal":
        signal = runner.engine.take_signal(runner.leg)
        if signal is not None and signal.kind == "redirect":
            return runner.obey(signal)  # redirected: no action request, as at Twilio
        result = "hangup"
    if result == "hangup":
        runner.hang_up()
    return _action(runner, verb, entry, result)


def _after_bridge(runner: CallRunner, verb: ET.Element, entry: QueueEntry) -> Next:
    """An agent took the caller: wait for the bridge to end, then carry on or stop."""
    engine = runner.engine
    engine.wait_until(math.inf, lambda: entry.state == "done")
    if engine.closed:
        return runner.hang_up()
    runner.t = max(runner.t, entry.end_v)
    if entry.ender == CALLEE:  # the caller hung up (or was hung up by the REST API)
        engine.take_signal(runner.leg)
        return runner.hang_up()
    if entry.ender == CALLEE_LEFT:
        return None  # the pending redirect is obeyed by the runner's main loop
    runner.leg.alone_since_v = runner.t
    return _action(runner, verb, entry, "bridged")


def _action(runner: CallRunner, verb: ET.Element, entry: QueueEntry, result: str) -> Next:
    """Request the ``<Enqueue>`` action URL (its answer is ignored once the caller is gone)."""
    action = verb.get("action")
    done = STOP if runner.leg.ended else None
    if not action:
        return done
    waited_until = entry.bridged_v if entry.bridged_v is not None else runner.t
    params = {
        "QueueResult": result,
        "QueueSid": entry.queue_sid,
        "QueueTime": str(max(0, round(waited_until - entry.enqueued_v))),
    }
    method = verb.get("method", "POST")
    if runner.leg.ended:
        runner.post(runner.url(action), params, kind="action", method=method)
        return STOP
    verbs = runner.fetch(runner.url(action), method, params, kind="action")
    return STOP if verbs is None else verbs


def dial_queue(runner: CallRunner, verb: ET.Element, target: DialTarget) -> DialOutcome:
    """``<Dial><Queue>``: bridge the agent leg to the longest-waiting caller."""
    engine, leg = runner.engine, runner.leg
    until = runner.t + number_attr(verb, "timeout", 30)
    while (entry := _take(engine, target.address)) is None:
        waited = runner.wait(until, wake=lambda: bool(engine.queues.get(target.address)))
        if waited == TIME:
            return DialOutcome("no-answer")
        if waited in {DEADLINE, CLOSED}:
            return DialOutcome("canceled", caller_gone=True)
        if waited == SIGNAL and (signal := engine.take_signal(leg)) is not None:
            if signal.kind == "redirect":
                return DialOutcome("canceled", redirect=signal)
            return DialOutcome("canceled", caller_gone=True)
    entry.bridged_v = runner.t
    _served(engine, entry, runner.t)
    outcome, ender = bridge(runner, verb, entry.leg, own_other=False)
    with engine.cv:
        entry.ender, entry.end_v, entry.state = ender, runner.t, "done"
        engine.cv.notify_all()
    outcome.extra["QueueSid"] = entry.queue_sid
    return outcome


def queue_reports(engine: Engine) -> list[dict[str, Any]]:
    """Every queue ever used: sid, name, callers waiting (oldest first) and average wait."""
    now = engine.clock.now()
    with engine.cv:
        names = list(engine.queue_sids)
        reports = []
        for name in names:
            entries = list(engine.queues.get(name) or [])
            reports.append(
                {
                    "sid": engine.queue_sids[name],
                    "name": name,
                    "average_wait_time": average_wait(engine, name),
                    "members": [
                        {
                            "call_sid": e.leg.sid,
                            "position": i + 1,
                            "wait_time": round(now - e.enqueued_v),
                            "enqueued_sim_time": e.enqueued_v,
                        }
                        for i, e in enumerate(entries)
                    ],
                }
            )
    return reports
