"""Pure TwiML builders: each function takes plain values and returns a TwiML document (str).

Nothing here talks to the network or to Flask, so webhook handlers stay thin and the documents
are tested by parsing the XML. ``VoiceResponse`` does not join lists: multi-valued attributes
such as ``statusCallbackEvent`` are passed as one space-separated string.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from twilio.twiml.voice_response import Dial, VoiceResponse

from telephony import port

#: Mandarin text-to-speech: Amazon Polly's Zhiyu voice, addressed by its BCP-47 tag.
LANGUAGE = "cmn-CN"
VOICE = "Polly.Zhiyu"

#: The leg events the service asks for (:data:`telephony.port.CALL_EVENTS`), as TwiML writes
#: them: one call record per CallSid is kept up to date with them.
CALL_EVENTS = " ".join(port.CALL_EVENTS)

#: Both parties on separate channels, starting when the callee answers (no ringback recorded).
RECORD_MODE = "record-from-answer-dual"

CLIENT_PREFIX = "client:"

#: Twilio rings at most ten ``<Number>`` / ``<Client>`` nouns of one ``<Dial>`` at once.
MAX_DIAL_TARGETS = 10

#: The key an agent presses to take a screened call.
ACCEPT_KEY = "1"

#: What a waiting caller hears; ``{ahead}`` (callers before them) and ``{minutes}`` are filled in.
QUEUE_POSITION = "您前面还有{ahead}位客户，预计等待约{minutes}分钟。"
QUEUE_NEXT = "您是下一位，请稍候，马上为您接通。"
QUEUE_CALLBACK_OFFER = "如果您希望我们稍后回电并为您保留排队位置，请按1。"


def _check_targets(targets: Sequence[str]) -> None:
    """Refuse a ``<Dial>`` Twilio would refuse: none, or more than ten, nouns."""
    if not targets:
        raise ValueError("a Dial needs at least one target")
    if len(targets) > MAX_DIAL_TARGETS:
        raise ValueError(
            f"a Dial rings at most {MAX_DIAL_TARGETS} targets at once, not {len(targets)}: "
            "ring the rest in a later stage"
        )


def _say(response: VoiceResponse, message: str) -> None:
    """Speak ``message`` in Mandarin; empty messages are skipped rather than read as silence."""
    if message:
        response.say(message, language=LANGUAGE, voice=VOICE)


def _add_target(dial: Dial, target: str, status_callback: str, url: str | None = None) -> None:
    """Add one ``<Number>`` or ``<Client>`` (for ``client:<identity>``) to ``dial``.

    ``url`` is TwiML the provider runs on that party's leg once it answers, before the bridge
    (a whisper, a screen, a notice).
    """
    callbacks: dict[str, str] = {
        "status_callback": status_callback,
        "status_callback_event": CALL_EVENTS,
        "status_callback_method": "POST",
    }
    if url:
        callbacks.update(url=url, method="POST")
    if target.startswith(CLIENT_PREFIX):
        dial.client(target[len(CLIENT_PREFIX) :], **callbacks)
    else:
        dial.number(target, **callbacks)


def _recording_attrs(record: bool, recording_callback: str | None) -> dict[str, str]:
    """Dial attributes for recording the bridged conversation, or none when not recording."""
    if not record:
        return {}
    attrs = {"record": RECORD_MODE}
    if recording_callback:
        attrs["recording_status_callback"] = recording_callback
        attrs["recording_status_callback_method"] = "POST"
    return attrs


def inbound_route(
    *,
    notice: str,
    targets: Sequence[str],
    action_url: str,
    status_callback: str,
    caller_id: str | None,
    timeout: int = 20,
    record: bool = True,
    recording_callback: str | None = None,
) -> str:
    """Answer an inbound call: play the recording notice, then ring every target at once.

    ``targets`` are E.164 numbers or ``client:<identity>``; the first to answer is bridged and
    the others stop ringing. Each leg reports its events to ``status_callback``; when the
    ``<Dial>`` ends the provider requests ``action_url`` (with ``DialCallStatus``), whose answer
    decides what happens next (e.g. a missed-call callback). ``answerOnBridge`` keeps the caller
    hearing ringback, not silence, while the agents' phones ring.
    """
    if not targets:
        raise ValueError("inbound_route needs at least one target; use enqueue_caller instead")
    return dial_stage(
        targets=targets,
        action_url=action_url,
        status_callback=status_callback,
        caller_id=caller_id,
        timeout=timeout,
        notice=notice,
        record=record,
        recording_callback=recording_callback,
    )


def enqueue_caller(*, notice: str, queue: str, wait_url: str | None, action_url: str) -> str:
    """Play the notice and park the caller in the named queue until an agent dequeues them.

    ``wait_url`` serves the hold TwiML (see :func:`queue_wait_message`); without it the
    provider plays its default hold music. ``action_url`` is requested when the caller leaves
    the queue (``QueueResult`` says why: bridged, hangup, …).
    """
    response = VoiceResponse()
    _say(response, notice)
    response.enqueue(
        queue,
        action=action_url,
        method="POST",
        wait_url=wait_url,
        wait_url_method="POST" if wait_url else None,
    )
    return str(response)


def queue_wait_message(message: str, *, hold_music_url: str | None = None, pause: int = 10) -> str:
    """Hold TwiML for callers waiting in a queue: a message, then music or a pause.

    When this document ends the provider requests the wait URL again, which makes the loop; the
    pause keeps the message from being repeated back to back.
    """
    response = VoiceResponse()
    _say(response, message)
    if hold_music_url:
        response.play(hold_music_url)
    else:
        response.pause(length=pause)
    return str(response)


def after_hours(message: str) -> str:
    """Tell the caller we are closed and hang up (the app schedules the callback)."""
    response = VoiceResponse()
    _say(response, message)
    response.hangup()
    return str(response)


def bridge(
    *,
    customer: str,
    caller_id: str,
    action_url: str,
    status_callback: str,
    record: bool = True,
    recording_callback: str | None = None,
    timeout: int = 30,
    whisper: str | None = None,
    time_limit: int | None = None,
    customer_notice_url: str | None = None,
) -> str:
    """TwiML for the answered agent leg of a click-to-dial call: ring the customer and bridge.

    ``caller_id`` (the hotline) is what the customer sees; ``whisper`` is an optional short line
    read to the agent first (e.g. the customer's name). The customer leg reports its events to
    ``status_callback``; ``action_url`` gets ``DialCallStatus`` when the bridge ends.
    ``customer_notice_url`` serves TwiML played to the customer once they answer and before
    the bridge — the recording notice (:func:`recording_notice`) of a recorded call.
    """
    response = VoiceResponse()
    if whisper:
        _say(response, whisper)
    dial = _bridging_dial(
        response, action_url, timeout, caller_id, record, recording_callback, time_limit
    )
    _add_target(dial, customer, status_callback, customer_notice_url)
    return str(response)


def _bridging_dial(
    response: VoiceResponse,
    action_url: str,
    timeout: int,
    caller_id: str | None,
    record: bool,
    recording_callback: str | None,
    time_limit: int | None = None,
) -> Dial:
    """A ``<Dial>`` that keeps the caller on ringback until someone answers
    (``answerOnBridge``) and reports how it ended to ``action_url``."""
    return response.dial(
        action=action_url,
        method="POST",
        timeout=timeout,
        caller_id=caller_id,
        answer_on_bridge=True,
        time_limit=time_limit,
        **_recording_attrs(record, recording_callback),
    )


def dequeue(
    *, queue: str, action_url: str, record: bool = True, recording_callback: str | None = None
) -> str:
    """TwiML for an agent leg that takes the longest-waiting caller off ``queue``."""
    response = VoiceResponse()
    dial = response.dial(
        action=action_url, method="POST", **_recording_attrs(record, recording_callback)
    )
    dial.queue(queue)
    return str(response)


def say(message: str) -> str:
    """Speak ``message`` and end (the call hangs up when the document runs out)."""
    response = VoiceResponse()
    _say(response, message)
    return str(response)


def hangup() -> str:
    """End the call; also the usual answer to a ``<Dial>`` action that has nothing more to do."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


# --------------------------------------------------------------------------- call flows


def screen_prompt(*, whisper: str, action_url: str, timeout: int = 5, key: str = ACCEPT_KEY) -> str:
    """The screen an agent hears on answering, before the customer is connected.

    Served as the ``url`` of the agent's ``<Number>`` / ``<Client>`` (or as the first TwiML of
    a REST-created agent leg): reads ``whisper`` (e.g. "400 来电：王先生，凯美瑞，按 1 接听")
    and waits for one key. A key goes to ``action_url`` (answer it with
    :func:`screen_decision`); no key — a voicemail, or nobody there — hangs that leg up, so
    it never takes the call and the other agents keep ringing.
    """
    if len(key) != 1 or key not in "0123456789*#":
        raise ValueError("key must be one key of a phone pad")
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf", num_digits=1, action=action_url, method="POST", timeout=timeout
    )
    gather.say(whisper, language=LANGUAGE, voice=VOICE)
    response.hangup()
    return str(response)


def screen_decision(digits: str | None, *, key: str = ACCEPT_KEY) -> str:
    """The answer to a screen's key: an empty document (the leg is bridged) for ``key``,
    a hang-up for anything else."""
    if (digits or "").strip() == key:
        return str(VoiceResponse())
    return hangup()


def recording_notice(message: str) -> str:
    """TwiML for the called customer's leg before the bridge: the recording notice.

    Served as the customer's ``<Number url>`` (see :func:`bridge`); when it ends the customer
    is connected, so the notice is heard before the recorded conversation starts.
    """
    if not message:
        raise ValueError("a recording notice needs its text")
    response = VoiceResponse()
    _say(response, message)
    return str(response)


def dial_stage(
    *,
    targets: Sequence[str],
    action_url: str,
    status_callback: str,
    caller_id: str | None,
    timeout: int = 15,
    screen_url: str | None = None,
    notice: str = "",
    record: bool = True,
    recording_callback: str | None = None,
) -> str:
    """One stage of routing a call: ring up to ten targets at once, then go to ``action_url``.

    The first target to answer (and accept the screen at ``screen_url``, when given) is
    bridged; if nobody does within ``timeout`` seconds the provider requests ``action_url``
    with ``DialCallStatus``, whose answer is the next stage (more agents, the queue). The
    caller hears ringback throughout (``answerOnBridge``), never a goodbye between stages.
    More than ten targets are refused: split them into stages.
    """
    _check_targets(targets)
    response = VoiceResponse()
    _say(response, notice)
    dial = _bridging_dial(response, action_url, timeout, caller_id, record, recording_callback)
    for target in targets:
        _add_target(dial, target, status_callback, screen_url)
    return str(response)


def stages(targets: Sequence[str], size: int = MAX_DIAL_TARGETS) -> list[list[str]]:
    """``targets`` in order, cut into stages of at most ``size`` (≤ 10) each."""
    if not 1 <= size <= MAX_DIAL_TARGETS:
        raise ValueError(f"a stage rings 1 to {MAX_DIAL_TARGETS} targets")
    return [list(targets[i : i + size]) for i in range(0, len(targets), size)]


def queue_wait(
    *,
    position: int,
    expected_wait: float,
    waited: float,
    callback_after: float,
    callback_url: str,
    hold_music_url: str | None = None,
    pause: int = 10,
    position_text: str = QUEUE_POSITION,
    next_text: str = QUEUE_NEXT,
    callback_text: str = QUEUE_CALLBACK_OFFER,
) -> str:
    """Hold TwiML for a caller in the queue, served by the ``<Enqueue waitUrl>``.

    Says the caller's place (``position`` as the provider's ``QueuePosition``) and the
    expected wait in whole minutes (at least one), then music or a pause. Once the caller has
    ``waited`` at least ``callback_after`` seconds, it offers "press 1 to keep your place as a
    callback": the key goes to ``callback_url``, whose answer (e.g. :func:`leave_queue` after
    recording the callback) runs in the queue. The provider requests the wait URL again when
    this document ends, which makes the loop.
    """
    response = VoiceResponse()
    if position <= 1:
        _say(response, next_text)
    else:
        minutes = max(1, math.ceil(expected_wait / 60))
        _say(response, position_text.format(ahead=position - 1, minutes=minutes))
    if waited >= callback_after:
        gather = response.gather(
            input="dtmf", num_digits=1, action=callback_url, method="POST", timeout=5
        )
        gather.say(callback_text, language=LANGUAGE, voice=VOICE)
    if hold_music_url:
        response.play(hold_music_url)
    else:
        response.pause(length=pause)
    return str(response)


def leave_queue(message: str = "") -> str:
    """Wait-URL TwiML that takes the caller out of the queue (the ``<Enqueue>`` action runs
    next, with ``QueueResult=leave``), after an optional message."""
    response = VoiceResponse()
    _say(response, message)
    response.leave()
    return str(response)


def fallback_apology(message: str) -> str:
    """The number's fallback: apologise and hang up (the app records the callback)."""
    if not message:
        raise ValueError("a fallback apology needs its text")
    response = VoiceResponse()
    _say(response, message)
    response.hangup()
    return str(response)
