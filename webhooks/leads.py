"""Lead deliveries from web forms and car portals: ``POST /webhooks/leads/<source>``.

Thin on purpose: find the source (404), read at most :data:`MAX_BODY` bytes (413), check the
signature (and its timestamp) or token on the raw bytes (401), parse (415 / 400 / 422), then
one service call, :func:`dcc.leads.deliveries.receive`, which dedups, stays replay-safe and
answers 201.
Nothing is written before the checks pass, and an error answer rolls the request back.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from dcc import clock
from dcc.config import get_settings
from dcc.db import get_session
from dcc.leads import deliveries, sources
from webhooks import lead_payload

bp = Blueprint("lead_webhooks", __name__, url_prefix="/webhooks/leads")

#: A lead is a few hundred bytes; an ADF document with comments a few KiB.
MAX_BODY = 64 * 1024


@bp.post("/<slug>")
def deliver(slug: str) -> Response:
    """Take one lead delivery from the source ``slug``."""
    session, settings = get_session(), get_settings()
    source = sources.get_enabled(session, slug)
    body = _read_body()
    replay_key = sources.authenticate(
        source,
        body,
        signature=request.headers.get(sources.SIGNATURE_HEADER),
        token=request.headers.get(sources.TOKEN_HEADER),
        timestamp=request.headers.get(sources.TIMESTAMP_HEADER),
        now=clock.now(),
    )
    data = lead_payload.parse(
        body,
        request.headers.get("Content-Type"),
        region=settings.default_region,
        today=clock.local(clock.now(), settings.timezone).date(),
    )
    answer = deliveries.receive(
        session,
        source,
        data,
        idempotency_key=request.headers.get(deliveries.IDEMPOTENCY_HEADER),
        replay_key=replay_key,
        region=settings.default_region,
    )
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _read_body() -> bytes:
    """The raw body, refused with 413 beyond :data:`MAX_BODY` (declared or streamed)."""
    too_large = RequestEntityTooLarge(f"the body is larger than {MAX_BODY // 1024} KiB")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_large
    request.max_content_length = MAX_BODY  # a chunked body is cut off while it streams
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY:
        raise too_large
    return body
