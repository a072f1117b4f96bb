"""The simulator's HTTP face: Twilio's REST paths (as the twilio library calls them) and
``/sim/…`` inspection and control endpoints for demos, tests and benchmarks."""

from __future__ import annotations

import hmac
import io
import time
import wave
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from telephony.simulator.account import PhoneNumber
from telephony.simulator.engine import Engine, SimApiError
from telephony.simulator.queueing import queue_reports
from telephony.simulator.records import API_VERSION, call_json, message_json
from telephony.simulator.twiml_reader import parse_events

#: Set in the WSGI environ by the in-process REST client: a late answer is reported in the
#: ``X-Sim-Late`` header instead of slept (the client turns it into its own time-out).
INPROCESS = "telephony.simulator.inprocess"

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
        path = request.path
        if not path.startswith(f"/{API_VERSION}/"):
            return None
        if "/Recordings/" in path and not path.endswith(".json"):
            return None  # the audio is fetched by players without credentials
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
            fallback_url=form.get("FallbackUrl") or None,
            fallback_method=(form.get("FallbackMethod") or "POST").upper(),
        )
        return _late(jsonify(call_json(leg, rfc))), 201

    @app.get(f"{ACCOUNT}/Calls.json")
    def list_calls(account_sid: str) -> Response:
        args = request.args
        legs = engine.find_calls(
            to=args.get("To") or None,
            from_=args.get("From") or None,
            status=args.get("Status") or None,
            started_after=_date(args, "StartTime>"),
            started_before=_date(args, "StartTime<"),
        )
        return _page("calls", [call_json(leg, rfc) for leg in legs])

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
        return _late(jsonify(message_json(message, rfc))), 201

    @app.get(f"{ACCOUNT}/Messages.json")
    def list_messages(account_sid: str) -> Response:
        args = request.args
        messages = engine.find_messages(
            to=args.get("To") or None,
            from_=args.get("From") or None,
            sent_after=_date(args, "DateSent>"),
        )
        return _page("messages", [message_json(m, rfc) for m in messages])

    @app.get(f"{ACCOUNT}/Queues.json")
    def list_queues(account_sid: str) -> Response:
        return _page("queues", [_queue_json(q) for q in queue_reports(engine)])

    @app.get(f"{ACCOUNT}/Queues/<queue_sid>.json")
    def fetch_queue(account_sid: str, queue_sid: str) -> Response:
        return jsonify(_queue_json(_queue(queue_sid)))

    @app.get(f"{ACCOUNT}/Queues/<queue_sid>/Members.json")
    def list_members(account_sid: str, queue_sid: str) -> Response:
        queue = _queue(queue_sid)
        return _page("queue_members", [_member_json(queue, m) for m in queue["members"]])

    def _queue(queue_sid: str) -> dict[str, Any]:
        for queue in queue_reports(engine):
            if queue["sid"] == queue_sid:
                return queue
        raise SimApiError(
            20404, f"The requested resource /Queues/{queue_sid}.json was not found", 404
        )

    def _queue_json(queue: dict[str, Any]) -> dict[str, Any]:
        account = engine.config.account_sid
        uri = f"/{API_VERSION}/Accounts/{account}/Queues/{queue['sid']}"
        return {
            "sid": queue["sid"],
            "account_sid": account,
            "friendly_name": queue["name"],
            "current_size": len(queue["members"]),
            "max_size": 100,
            "average_wait_time": queue["average_wait_time"],
            "date_created": None,
            "date_updated": None,
            "uri": uri + ".json",
        }

    def _member_json(queue: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
        account = engine.config.account_sid
        uri = f"/{API_VERSION}/Accounts/{account}/Queues/{queue['sid']}/Members/"
        return {
            "call_sid": member["call_sid"],
            "queue_sid": queue["sid"],
            "position": member["position"],
            "wait_time": member["wait_time"],
            "date_enqueued": rfc(member["enqueued_sim_time"]),
            "uri": uri + member["call_sid"] + ".json",
        }

    def _late(response: Response) -> Response:
        """Answer late when a fault asks for it (the request was accepted all the same)."""
        delay = engine.take_late()
        if delay > 0:
            if request.environ.get(INPROCESS):
                response.headers["X-Sim-Late"] = str(delay)
            else:
                time.sleep(delay)
        return response

    @app.get(f"{ACCOUNT}/Messages/<message_sid>.json")
    def fetch_message(account_sid: str, message_sid: str) -> Response:
        return jsonify(message_json(engine.get_message(message_sid), rfc))

    @app.get(f"{ACCOUNT}/Recordings/<recording_sid>.json")
    def fetch_recording(account_sid: str, recording_sid: str) -> Response:
        """The Recording resource: ``processing`` until it is ``completed``."""
        with engine.cv:
            recording = dict(engine.recordings.get(recording_sid) or {})
        if not recording:
            return _error(20404, "Recording not found", 404)
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"
        return jsonify(
            {
                "sid": recording_sid,
                "account_sid": account_sid,
                "call_sid": recording["call_sid"],
                "status": recording["status"],
                "duration": str(recording["duration"]),
                "channels": recording["channels"],
                "start_time": rfc(recording["start_sim_time"]),
                "api_version": API_VERSION,
                "uri": uri + ".json",
                "media_url": f"{engine.base_url}{uri}",
            }
        )

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

    @app.get("/sim/account")
    def sim_account() -> Response:
        with engine.cv:
            return jsonify(engine.account.to_dict())

    @app.post("/sim/numbers")
    def sim_numbers() -> Response:
        """Own a number (and set its voice, fallback and status URLs), or give it up."""
        data = _json()
        number = str(data.get("number") or "")
        if not number:
            raise SimApiError(21000, "number is required")
        with engine.cv:
            if data.get("owned", True) is False:
                engine.account.numbers.pop(number, None)
            else:
                engine.account.add_number(
                    PhoneNumber(
                        number,
                        voice_url=data.get("voice_url"),
                        voice_fallback_url=data.get("voice_fallback_url"),
                        status_callback=data.get("status_callback"),
                    )
                )
            return jsonify(engine.account.to_dict())

    @app.post("/sim/caller-ids")
    def sim_caller_ids() -> Response:
        """Verify (or forget) a caller ID of the account."""
        data = _json()
        number = str(data.get("number") or "")
        if not number:
            raise SimApiError(21000, "number is required")
        with engine.cv:
            if data.get("verified", True) is False:
                engine.account.verified.discard(number)
            else:
                engine.account.verified.add(number)
            return jsonify(engine.account.to_dict())

    @app.post("/sim/clients")
    def sim_clients() -> Response:
        """Register or unregister a ``client:`` identity's device; ``{"all": true}`` goes back
        to every identity answering."""
        data = _json()
        with engine.cv:
            if data.get("all"):
                engine.account.set_clients(None)
            else:
                identity = str(data.get("identity") or "")
                if not identity:
                    raise SimApiError(21000, "identity is required")
                engine.account.register_client(identity, bool(data.get("registered", True)))
            return jsonify(engine.account.to_dict())

    @app.post("/sim/geo")
    def sim_geo() -> Response:
        """Geographic permissions: ``{"allowed": ["+1"] | null, "blocked": ["+86"]}``."""
        data = _json()
        allowed = data.get("allowed")
        if allowed is not None and not isinstance(allowed, list):
            raise SimApiError(21000, "allowed must be a list of prefixes or null")
        blocked = data.get("blocked") or []
        if not isinstance(blocked, list):
            raise SimApiError(21000, "blocked must be a list of prefixes")
        with engine.cv:
            engine.account.set_geo(allowed, blocked)
            return jsonify(engine.account.to_dict())

    @app.post("/sim/pacing")
    def sim_pacing() -> Response:
        """The account's calls per second: ``{"calls_per_second": 1}``."""
        rate = _json().get("calls_per_second")
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
            raise SimApiError(21000, "calls_per_second must be a positive number")
        with engine.cv:
            engine.account.calls_per_second = float(rate)
            return jsonify(engine.account.to_dict())

    @app.post("/sim/faults")
    def sim_faults() -> Response:
        """``{"respond_late": seconds, "count": n}``: the next n calls or messages are created
        but answered that late, so the client's request times out."""
        data = _json()
        late = data.get("respond_late")
        count = data.get("count", 1)
        if not isinstance(late, int | float) or isinstance(late, bool) or late <= 0:
            raise SimApiError(21000, "respond_late must be a positive number of seconds")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise SimApiError(21000, "count must be a positive whole number")
        engine.respond_late(float(late), count)
        return jsonify({"respond_late": late, "count": count})

    @app.get("/sim/alerts")
    def sim_alerts() -> Response:
        with engine.cv:
            return jsonify(list(engine.alerts))

    @app.get("/sim/queues")
    def sim_queues() -> Response:
        return jsonify(queue_reports(engine))

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


def _page(key: str, items: list[dict[str, Any]]) -> Response:
    """One page of a list resource, shaped as the twilio library reads it (no paging)."""
    return jsonify(
        {
            key: items,
            "first_page_uri": request.full_path,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": max(50, len(items)),
            "start": 0,
            "end": max(0, len(items) - 1),
            "uri": request.full_path,
        }
    )


def _date(args: MultiDict[str, str], name: str) -> datetime | None:
    """A date filter (``2026-12-01`` or ``2026-12-01T18:30:00Z``) as an aware datetime."""
    value = args.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SimApiError(20001, f"Invalid {name}: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
