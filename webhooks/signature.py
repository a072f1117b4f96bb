"""One signature check for every Twilio endpoint, before anything is read or written."""

from __future__ import annotations

from flask import current_app, request

from dcc.errors import PermissionDenied
from dcc.voice import get_telephony, mounted_base


def signed_url() -> str:
    """The URL Twilio requested, rebuilt from the configured public base URL and the mount
    prefix the app is served under (``SCRIPT_NAME``), as :func:`dcc.voice.public_url` gave it."""
    settings = current_app.extensions["dcc.settings"]
    base = mounted_base(settings.public_base_url, request.script_root)
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def require_twilio_signature() -> None:
    """Blueprint hook: a forged or missing ``X-Twilio-Signature`` is refused with 403."""
    signature = request.headers.get("X-Twilio-Signature", "")
    # Every form parameter counts, unknown ones included: Twilio adds new ones without notice.
    params = (
        request.form if request.mimetype != "application/json" else request.get_data(as_text=True)
    )
    if not get_telephony().validate_request(signed_url(), params, signature):
        raise PermissionDenied("auth.twilio_signature", field="X-Twilio-Signature")
