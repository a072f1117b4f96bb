"""Twilio voice webhooks: the 400 hotline, the click-to-dial bridge, call progress, recordings.

Handlers are thin: the signature hook has already run; each parses the form, calls one
``dcc.calls`` function and answers TwiML from the pure builders in ``telephony.twiml``.

The hotline rings in stages (the owner, then up to ten agents at a time, then the queue);
every agent leg is screened (a whisper, then press 1) before the customer is connected, so a
voicemail never takes a call. Configure the number's fallback URL as
``<public base URL>/webhooks/twilio/voice/fallback``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from dcc.calls import inbound as inbound_calls
from dcc.calls import policy, ready
from dcc.calls import queue as hotline_queue
from dcc.calls import service as calls
from dcc.calls.models import TERMINAL_CALL_STATUSES, Call
from dcc.config import Settings
from dcc.db import get_session, load
from dcc.voice import (
    AFTER_HOURS,
    CALL_CANCELED,
    CALLBACK_PROMISED,
    CUSTOMER_FIRST_GREETING,
    FALLBACK_APOLOGY,
    HOTLINE_QUEUE,
    NOBODY_ANSWERED,
    NOTICE,
    get_telephony,
    public_url,
)
from telephony import twiml
from webhooks.signature import require_twilio_signature

bp = Blueprint("twilio_voice", __name__, url_prefix="/webhooks/twilio")
bp.before_request(require_twilio_signature)

ANSWERED_DIAL_STATUSES = {"completed", "answered"}


def _settings() -> Settings:
    settings: Settings = current_app.extensions["dcc.settings"]
    return settings


def _twiml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _ids_arg(name: str) -> list[int]:
    return [int(v) for v in request.args.get(name, "").split(",") if v.isdigit()]


def _route(decision: inbound_calls.InboundDecision, notice: str = "") -> Response:
    """A stage of agents to ring (screened), or the queue when nobody is left."""
    if not decision.endpoints:
        session = get_session()
        session.commit()
        ready.agent_may_be_ready(session, settings=_settings(), telephony=get_telephony())
        return _enqueue(decision.call_id, notice)
    return _twiml(
        twiml.dial_stage(
            notice=notice,
            targets=decision.endpoints,
            timeout=decision.ring_seconds,
            action_url=public_url(
                "twilio_voice.dial",
                call_id=decision.call_id,
                tried=",".join(str(i) for i in decision.tried),
            ),
            status_callback=public_url(
                "twilio_voice.status", parent_call_id=decision.call_id, leg="agent"
            ),
            screen_url=public_url("twilio_voice.agent_screen", parent_call_id=decision.call_id),
            caller_id=request.form.get("From"),
            recording_callback=public_url("twilio_voice.recording"),
        )
    )


def _enqueue(call_id: int, notice: str) -> Response:
    """The notice, then the hotline queue: held with the wait URL's announcements; the
    ``<Enqueue>`` action tells how the customer left it."""
    return _twiml(
        twiml.enqueue_caller(
            notice=notice,
            queue=HOTLINE_QUEUE,
            wait_url=public_url("twilio_voice.queue_wait", call_id=call_id),
            action_url=public_url("twilio_voice.dial", call_id=call_id),
        )
    )


@bp.post("/voice/inbound")
def inbound() -> Response:
    """The hotline's voice URL: notice, then ring the owner or the inbound agents, or queue."""
    settings = _settings()
    decision = inbound_calls.receive(get_session(), request.form, settings)
    if decision.after_hours:
        return _twiml(twiml.after_hours(AFTER_HOURS))
    return _route(decision, NOTICE.format(dealer=settings.dealer_name))


@bp.post("/voice/screen")
def agent_screen() -> Response:
    """An agent's leg answered: the whisper, then press 1 to take the call (a voicemail
    never presses, so it never takes one). In the browser softphone the agent's Answer is
    that key: a browser has no voicemail."""
    session = get_session()
    call_id, parent_id = _int_arg("call_id"), _int_arg("parent_call_id")
    about = load(session, Call, parent_id if parent_id is not None else call_id or 0)
    if about is not None and about.kind == hotline_queue.PICKUP:
        about = hotline_queue.head(session)
    inbound = parent_id is not None or (about is not None and about.direction.value == "inbound")
    whisper = calls.whisper(session, about, inbound=inbound)
    if (request.form.get("To") or "").startswith("client:"):
        return _accepted(whisper)
    values = {"call_id": call_id} if call_id is not None else {"parent_call_id": parent_id}
    return _twiml(
        twiml.screen_prompt(
            whisper=whisper, action_url=public_url("twilio_voice.agent_key", **values)
        )
    )


@bp.post("/voice/screen-key")
def agent_key() -> Response:
    """The agent's key at the screen: 1 connects (the hotline caller, the customer of a
    click-to-dial call, or the longest waiting caller of the queue); anything else hangs up."""
    if (request.form.get("Digits") or "").strip() != twiml.ACCEPT_KEY:
        return _twiml(twiml.hangup())
    return _accepted()


def _accepted(whisper: str | None = None) -> Response:
    """The agent took the leg: put it on record and connect them."""
    session = get_session()
    call = calls.accept_leg(
        session,
        request.form,
        call_id=_int_arg("call_id"),
        parent_call_id=_int_arg("parent_call_id"),
    )
    if _int_arg("parent_call_id") is not None:
        # The hotline's <Dial> bridges when this document ends.
        return _twiml(twiml.say(whisper) if whisper else twiml.screen_decision(twiml.ACCEPT_KEY))
    if call.kind == hotline_queue.PICKUP:
        return _twiml(
            twiml.dequeue(
                queue=HOTLINE_QUEUE,
                action_url=public_url("twilio_voice.pickup_done", call_id=call.id),
                recording_callback=public_url("twilio_voice.recording"),
            )
        )
    return _bridge(call.id, whisper)


def _bridge(call_id: int | None, whisper: str | None = None) -> Response:
    """Ring the customer with the hotline shown; they hear the recording notice first."""
    call, customer = calls.bridge_target(get_session(), call_id)
    if customer is None:
        return _twiml(twiml.say(CALL_CANCELED))
    return _twiml(
        twiml.bridge(
            customer=customer,
            caller_id=_settings().hotline_number,
            action_url=public_url("twilio_voice.dial", call_id=call.id),
            status_callback=public_url(
                "twilio_voice.status", parent_call_id=call.id, leg="customer"
            ),
            recording_callback=public_url("twilio_voice.recording"),
            customer_notice_url=public_url("twilio_voice.customer_notice"),
            whisper=whisper,
        )
    )


@bp.post("/voice/bridge")
def bridge() -> Response:
    """The agent's leg of a click-to-dial call placed before screening: bridge at once."""
    return _bridge(_int_arg("call_id"))


@bp.post("/voice/notice")
def customer_notice() -> Response:
    """The called customer answered a recorded call: the dealer's name and the notice."""
    text = policy.load(get_session()).recording_notice
    return _twiml(twiml.recording_notice(text.format(dealer=_settings().dealer_name)))


@bp.post("/voice/customer-first")
def customer_first() -> Response:
    """A customer rung first answered: the greeting (and the recording notice), then the
    hotline queue, where the first free agent takes them. A voicemail is hung up on."""
    if (request.form.get("AnsweredBy") or "").startswith("machine"):
        return _twiml(twiml.hangup())
    session = get_session()
    call = ready.customer_waiting(
        session, _int_arg("call_id"), settings=_settings(), telephony=get_telephony()
    )
    if call is None:
        return _twiml(twiml.hangup())
    dealer = _settings().dealer_name
    greeting = " ".join((CUSTOMER_FIRST_GREETING, policy.load(session).recording_notice)).format(
        dealer=dealer
    )
    return _enqueue(call.id, greeting)


@bp.post("/voice/status")
def status() -> Response:
    """Status callbacks of every leg; order and repetition do not matter. A leg that ends
    may free an agent: the queue is served."""
    session = get_session()
    call = calls.record_status(
        session,
        request.form,
        call_id=_int_arg("call_id"),
        parent_call_id=_int_arg("parent_call_id"),
        leg=request.args.get("leg"),
    )
    if call.leg == "agent" and call.status in TERMINAL_CALL_STATUSES:
        session.commit()
        ready.agent_may_be_ready(session, settings=_settings(), telephony=get_telephony())
    return Response(status=204)


@bp.post("/voice/dial")
def dial() -> Response:
    """The ``<Dial>`` (or ``<Enqueue>``) action: the next stage when nobody took the call,
    goodbye only when nobody is left to try."""
    session = get_session()
    call = calls.record_dial_result(session, request.form, call_id=_int_arg("call_id"))
    outcome = request.form.get("DialCallStatus") or request.form.get("QueueResult", "")
    bridged = request.form.get("DialBridged")
    answered = bridged == "true" if bridged else outcome in ANSWERED_DIAL_STATUSES | {"bridged"}
    caller_gone = request.form.get("CallStatus") in TERMINAL_CALL_STATUSES or outcome == "canceled"
    if (call.direction.value != "inbound" and call.queued_at is None) or answered or caller_gone:
        return _twiml(twiml.hangup())
    if outcome == "leave":  # pressed 1 in the queue: the callback is on record
        return _twiml(twiml.after_hours(CALLBACK_PROMISED))
    if "DialCallStatus" in request.form:
        decision = inbound_calls.next_stage(session, call.id, _ids_arg("tried"), _settings())
        if decision is not None:
            return _route(decision)
    return _twiml(twiml.after_hours(NOBODY_ANSWERED))


@bp.post("/voice/queue-wait")
def queue_wait() -> Response:
    """Hold TwiML for a queued caller: their place, the expected wait, after the dealer-set
    wait the offer to press 1 for a callback. Each announcement also serves the queue."""
    session = get_session()
    call = session.get(Call, _int_arg("call_id") or 0)
    rules = policy.load(session)
    place = int(request.form.get("QueuePosition") or 0) or (
        hotline_queue.position(session, call) if call else 1
    )
    average = float(request.form.get("AvgQueueTime") or 0)
    waited = (
        hotline_queue.waited_seconds(call)
        if call is not None
        else float(request.form.get("QueueTime") or 0)
    )
    ready.agent_may_be_ready(session, settings=_settings(), telephony=get_telephony())
    return _twiml(
        twiml.queue_wait(
            position=place,
            expected_wait=hotline_queue.expected_wait(place, average),
            waited=waited,
            callback_after=rules.queue_callback_after_seconds,
            callback_url=public_url("twilio_voice.queue_callback", call_id=_int_arg("call_id")),
        )
    )


@bp.post("/voice/queue-callback")
def queue_callback() -> Response:
    """A queued caller's key: 1 keeps their place as a callback, owed at once."""
    if (request.form.get("Digits") or "").strip() != twiml.ACCEPT_KEY:
        return _twiml(twiml.say(""))
    session = get_session()
    call = session.get(Call, _int_arg("call_id") or 0)
    if call is not None:
        hotline_queue.keep_place_as_callback(session, call)
    return _twiml(twiml.leave_queue())


@bp.post("/voice/pickup-done")
def pickup_done() -> Response:
    """An agent's pickup leg's ``<Dial><Queue>`` ended: whom it was bridged to."""
    session = get_session()
    calls.record_dial_result(session, request.form, call_id=_int_arg("call_id"))
    return _twiml(twiml.hangup())


@bp.post("/voice/fallback")
def fallback() -> Response:
    """The number's fallback URL, requested when the voice URL failed: apologise, and owe the
    caller a callback."""
    inbound_calls.fallback(get_session(), request.form, _settings())
    return _twiml(twiml.fallback_apology(FALLBACK_APOLOGY))


@bp.post("/recording")
def recording() -> Response:
    calls.record_recording(get_session(), request.form)
    return Response(status=204)
