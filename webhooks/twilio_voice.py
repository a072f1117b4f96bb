"""Twilio voice webhooks: the 400 hotline, the click-to-dial bridge, call progress, recordings.

Handlers are thin: the signature hook has already run; each parses the form, calls one
``dcc.calls.service`` function and answers TwiML from the pure builders in ``telephony.twiml``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from dcc.calls import inbound as inbound_calls
from dcc.calls import service as calls
from dcc.calls.models import Call
from dcc.config import Settings
from dcc.db import get_session
from dcc.errors import NotFound
from dcc.voice import AFTER_HOURS, HOTLINE_QUEUE, NOBODY_ANSWERED, NOTICE, WAIT, public_url
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


@bp.post("/voice/inbound")
def inbound() -> Response:
    """The hotline's voice URL: notice, then ring the owner or the inbound agents, or queue."""
    settings = _settings()
    decision = inbound_calls.receive(get_session(), request.form, settings)
    if decision.after_hours:
        return _twiml(twiml.after_hours(AFTER_HOURS))
    notice = NOTICE.format(dealer=settings.dealer_name)
    dial_action = public_url("twilio_voice.dial", call_id=decision.call_id)
    if not decision.endpoints:
        return _twiml(
            twiml.enqueue_caller(
                notice=notice,
                queue=HOTLINE_QUEUE,
                wait_url=public_url("twilio_voice.queue_wait"),
                action_url=dial_action,
            )
        )
    return _twiml(
        twiml.inbound_route(
            notice=notice,
            targets=decision.endpoints,
            action_url=dial_action,
            status_callback=public_url(
                "twilio_voice.status", parent_call_id=decision.call_id, leg="agent"
            ),
            caller_id=request.form.get("From"),
            recording_callback=public_url("twilio_voice.recording"),
        )
    )


@bp.post("/voice/bridge")
def bridge() -> Response:
    """The agent answered a click-to-dial call: ring the customer with the hotline shown."""
    session, settings = get_session(), _settings()
    call_id = _int_arg("call_id")
    call = session.get(Call, call_id) if call_id else None
    if call is None:
        raise NotFound("call.unknown", field="call_id")
    if call.lead is not None and (not call.lead.is_open or call.lead.customer.do_not_call):
        return _twiml(twiml.say("这条线索已关闭或客户拒绝来电，本次呼叫已取消。"))
    return _twiml(
        twiml.bridge(
            customer=calls.customer_number_for(session, call),
            caller_id=settings.hotline_number,
            action_url=public_url("twilio_voice.dial", call_id=call.id),
            status_callback=public_url(
                "twilio_voice.status", parent_call_id=call.id, leg="customer"
            ),
            recording_callback=public_url("twilio_voice.recording"),
        )
    )


@bp.post("/voice/status")
def status() -> Response:
    """Status callbacks of every leg; order and repetition do not matter."""
    calls.record_status(
        get_session(),
        request.form,
        call_id=_int_arg("call_id"),
        parent_call_id=_int_arg("parent_call_id"),
        leg=request.args.get("leg"),
    )
    return Response(status=204)


@bp.post("/voice/dial")
def dial() -> Response:
    """The ``<Dial>`` (or ``<Enqueue>``) action: say goodbye when nobody took the call."""
    call = calls.record_dial_result(get_session(), request.form, call_id=_int_arg("call_id"))
    outcome = request.form.get("DialCallStatus") or request.form.get("QueueResult", "")
    if call.direction.value == "inbound" and outcome not in ANSWERED_DIAL_STATUSES | {"bridged"}:
        return _twiml(twiml.after_hours(NOBODY_ANSWERED))
    return _twiml(twiml.hangup())


@bp.post("/voice/queue-wait")
def queue_wait() -> Response:
    return _twiml(twiml.queue_wait_message(WAIT))


@bp.post("/recording")
def recording() -> Response:
    calls.record_recording(get_session(), request.form)
    return Response(status=204)
