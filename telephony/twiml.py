"""Pure TwiML builders: each function takes plain values and returns a TwiML document (str).

Nothing here talks to the network or to Flask, so webhook handlers stay thin and the documents
are tested by parsing the XML. ``VoiceResponse`` does not join lists: multi-valued attributes
such as ``statusCallbackEvent`` are passed as one space-separated string.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Dial, VoiceResponse

#: Mandarin text-to-speech: Amazon Polly's Zhiyu voice, addressed by its BCP-47 tag.
LANGUAGE = "cmn-CN"
VOICE = "Polly.Zhiyu"

#: Every leg event: the app needs them all to keep one call record per CallSid up to date.
CALL_EVENTS = "initiated ringing answered completed"

#: Both parties on separate channels, starting when the callee answers (no ringback recorded).
RECORD_MODE = "record-from-answer-dual"

CLIENT_PREFIX = "client:"


def _say(response: VoiceResponse, message: str) -> None:
    """Speak ``message`` in Mandarin; empty messages are skipped rather than read as silence."""
    if message:
        response.say(message, language=LANGUAGE, voice=VOICE)


def _add_target(dial: Dial, target: str, status_callback: str) -> None:
    """Add one ``<Number>`` or ``<Client>`` (for ``client:<identity>``) to ``dial``."""
    callbacks = {
        "status_callback": status_callback,
        "status_callback_event": CALL_EVENTS,
        "status_callback_method": "POST",
    }
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
    response = VoiceResponse()
    _say(response, notice)
    dial = response.dial(
        action=action_url,
        method="POST",
        timeout=timeout,
        caller_id=caller_id,
        answer_on_bridge=True,
        **_recording_attrs(record, recording_callback),
    )
    for target in targets:
        _add_target(dial, target, status_callback)
    return str(response)


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
) -> str:
    """TwiML for the answered agent leg of a click-to-dial call: ring the customer and bridge.

    ``caller_id`` (the hotline) is what the customer sees; ``whisper`` is an optional short line
    read to the agent first (e.g. the customer's name). The customer leg reports its events to
    ``status_callback``; ``action_url`` gets ``DialCallStatus`` when the bridge ends.
    """
    response = VoiceResponse()
    if whisper:
        _say(response, whisper)
    dial = response.dial(
        action=action_url,
        method="POST",
        timeout=timeout,
        caller_id=caller_id,
        answer_on_bridge=True,
        time_limit=time_limit,
        **_recording_attrs(record, recording_callback),
    )
    _add_target(dial, customer, status_callback)
    return str(response)


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
