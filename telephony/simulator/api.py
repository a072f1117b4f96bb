"""The simulator's HTTP face: Twilio's REST paths (as the twilio library calls them) and
``/sim/…`` inspection and control endpoints for demos, tests and benchmarks."""

from __future__ import annotations

import hmac
import io
import wave
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from telephony.simulator.engine import Engine, SimApiError
from telephony.simulator.records import API_VERSION, call_json, message_json
from telephony.simulator.twiml_reader import parse_events

ACCOUNT = f"/{API_VERSION}/Accounts/<account_sid>"


def _error(code: int, message: str, status: int) -> Response:
    """An error body shaped like Twilio's, which the twilio library turns into an exception."""
    response = jsonify(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )
    response.status_code = status
    return response


def _number(form: MultiDict[str, str], name: str, default: float | None) -> float | None:
    value = form.get(name)
    if value in {None, ""}:
        return default
    try:
        return float(value)
    except ValueError:
        raise SimApiError(21212, f"Invalid {name}: {value}") from None


def _required(form: MultiDict[str, str], name: str, code: int) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise SimApiError(code, f"A '{name}' phone number is required.")
    return value


def create_app(engine: Engine) -> Flask:
    """Build the WSGI app serving ``engine``."""
    app = Flask("telephony.simulator")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    rfc = engine.clock.rfc2822

    @app.errorhandler(SimApiError)
    def api_error(exc: SimApiError) -> Response:
        return _error(exc.code, exc.message, exc.status)

    @app.errorhandler(ValueError)
    def bad_value(exc: ValueError) -> Response:
        return _error(21000, str(exc), 400)

    @app.before_request
    def authenticate() -> Response | None:
        """HTTP basic auth with the account sid and auth token, like api.twilio.com."""
        if not request.path.startswith(f"/{API_VERSION}/") or "/Recordings/" in request.path:
            return None
        auth = request.authorization
        config = engine.config
        good = (
            auth is not None
            and hmac.compare_digest(auth.username or "", config.account_sid)
            and hmac.compare_digest(auth.password or "", config.auth_token)
        )
        if not good:
            response = _error(20003, "Authenticate", 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        account = (request.view_args or {}).get("account_sid")
        if account != config.account_sid:
            return _error(20404, f"The requested resource {request.path} was not found", 404)
        return None

    # --------------------------------------------------------------------- Twilio REST
    @app.post(f"{ACCOUNT}/Calls.json")
    def create_call(account_sid: str) -> tuple[Response, int]:
        form = request.form
        to = _required(form, "To", 21201)
        from_ = _required(form, "From", 21213)
        url, twiml = form.get("Url"), form.get("Twiml")
        if not url and not twiml and not form.get("ApplicationSid"):
            raise SimApiError(21205, "Url parameter is required.")
        callback = form.get("StatusCallback") or None
        events = " ".join(form.getlist("StatusCallbackEvent"))
        timeout = _number(form, "Timeout", 60.0)
        time_limit = _number(form, "TimeLimit", None)
        record = (form.get("Record") or "").lower() == "true"
        leg = engine.create_call(
            to=to,
            from_=from_,
            url=url,
            method=(form.get("Method") or "POST").upper(),
            twiml=twiml,
            status_callback=callback,
            status_events=parse_events(events, has_callback=bool(callback)),
            status_callback_method=(form.get("StatusCallbackMethod") or "POST").upper(),
            timeout=min(timeout or 60.0, 600.0),
            time_limit=time_limit,
            machine_detection=form.get("MachineDetection") or None,
            record=record,
            recording_channels=2 if form.get("RecordingChannels") == "dual" else 1,
            recording_status_callback=form.get("RecordingStatusCallback") or None,
        )
        return jsonify(call_json(leg, rfc)), 201

    @app.get(f"{ACCOUNT}/Calls/<call_sid>.json")
    def fetch_call(account_sid: str, call_sid: str) -> Response:
        return jsonify(call_json(engine.get_leg(call_sid), rfc))

    @app.post(f"{ACCOUNT}/Calls/<call_sid>.json")
    def update_call(account_sid: str, call_sid: str) -> Response:
        form = request.form
        leg = engine.update_call(
            call_sid,
            status=form.get("Status") or None,
            url=form.get("Url") or None,
            method=(form.get("Method") or "POST").upper(),
            twiml=form.get("Twiml") or None,
        )
        return jsonify(call_json(leg, rfc))

    @app.post(f"{ACCOUNT}/Messages.json")
    def create_message(account_sid: str) -> tuple[Response, int]:
        form = request.form
        to = _required(form, "To", 21604)
        from_ = _required(form, "From", 21603)
        body = form.get("Body") or ""
        if not body:
            raise SimApiError(21602, "Message body is required.")
        message = engine.send_message(
            to=to, from_=from_, body=body, status_callback=form.get("StatusCallback") or None
        )
        return jsonify(message_json(message, rfc)), 201

    @app.get(f"{ACCOUNT}/Messages/<message_sid>.json")
    def fetch_message(account_sid: str, message_sid: str) -> Response:
        return jsonify(message_json(engine.get_message(message_sid), rfc))

    @app.get(f"{ACCOUNT}/Recordings/<recording_sid>")
    @app.get(f"{ACCOUNT}/Recordings/<recording_sid>.wav")
    def recording_audio(account_sid: str, recording_sid: str) -> Response:
        """A silent WAV as long as the recording (capped at a minute), for players."""
        with engine.cv:
            recording = engine.recordings.get(recording_sid)
        if recording is None:
            return _error(20404, "Recording not found", 404)
        return Response(_silence(min(60, int(recording["duration"]))), mimetype="audio/wav")

    # --------------------------------------------------------------------- /sim control
    @app.get("/sim/calls")
    def sim_calls() -> Response:
        return jsonify(engine.calls())

    @app.get("/sim/messages")
    def sim_messages() -> Response:
        return jsonify(engine.message_reports())

    @app.get("/sim/webhooks")
    def sim_webhooks() -> Response:
        return jsonify(
            engine.sender.records(
                kind=request.args.get("kind"), call_sid=request.args.get("call_sid")
            )
        )

    @app.get("/sim/behaviour")
    def sim_behaviours() -> Response:
        return jsonify(engine.behaviours())

    @app.post("/sim/behaviour")
    def sim_behaviour() -> Response:
        data = _json()
        number = str(data.get("number") or "")
        if not number:
            raise SimApiError(21000, "number is required ('*' for the default)")
        behaviour = engine.set_behaviour(number, data.get("behaviour"))
        return jsonify({"number": number, "behaviour": behaviour and behaviour.to_dict()})

    @app.post("/sim/chaos")
    def sim_chaos() -> Response:
        data = _json()
        engine.set_chaos(
            duplicate_events=data.get("duplicate_events"),
            reorder_events=data.get("reorder_events"),
        )
        return jsonify(engine.behaviours()["chaos"])

    @app.post("/sim/inbound")
    def sim_inbound() -> tuple[Response, int]:
        data = _json()
        if not data.get("from") or not data.get("to"):
            raise SimApiError(21000, "'from' and 'to' are required")
        leg = engine.originate_inbound(
            str(data["from"]),
            str(data["to"]),
            voice_url=data.get("voice_url"),
            status_callback=data.get("status_callback"),
        )
        return jsonify({"sid": leg.sid}), 201

    @app.post("/sim/reset")
    def sim_reset() -> Response:
        engine.reset()
        return jsonify({"reset": True})

    @app.post("/sim/wait-idle")
    def sim_wait_idle() -> Response:
        timeout = float(_json().get("timeout", 30))
        try:
            engine.wait_idle(timeout)
        except TimeoutError as exc:
            return _error(21000, str(exc), 504)
        return jsonify({"idle": True})

    return app


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise SimApiError(21000, "expected a JSON object")
    return data


def _silence(seconds: int, rate: int = 8000) -> bytes:
    """A mono 8 kHz silent WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * rate * seconds)
    return buffer.getvalue()
