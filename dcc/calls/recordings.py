"""Call recordings, fetched from the provider for a user who may hear them.

Recordings stay with the provider behind its credentials (DOMAIN.md: keep recordings
access-controlled); the app fetches one only for a user who may see the call's lead, and only
from the provider's own API host, so a stored URL can never send the credentials elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from dcc.calls.dialer import ProviderFailed
from dcc.calls.models import Call
from dcc.errors import NotFound
from telephony import Telephony

log = logging.getLogger(__name__)
TIMEOUT = 10.0
CHUNK = 64 * 1024


@dataclass
class Audio:
    content_type: str
    length: str | None
    chunks: Iterator[bytes]


def open_recording(call: Call, telephony: Telephony) -> Audio:
    """Stream the call's recording from the provider (basic auth with the account's keys)."""
    client = getattr(telephony, "client", None)
    if not call.recording_url or client is None:
        raise NotFound("recording.none", field="call_id")
    base = str(client.api.base_url).rstrip("/") + "/"
    if not call.recording_url.startswith(base):
        raise NotFound("recording.foreign_host", field="call_id")
    try:
        response = requests.get(
            call.recording_url,
            auth=(client.username, client.password),
            timeout=TIMEOUT,
            stream=True,
        )
    except requests.RequestException as error:
        log.error(
            "telephony provider did not serve the recording of call %d (lead %s): %s",
            call.id,
            call.lead_id,
            error,
            extra={"call_id": call.id, "lead_id": call.lead_id},
        )
        raise ProviderFailed("recording.unavailable", field="call_id", detail=str(error)) from error
    if response.status_code != 200:
        response.close()
        raise NotFound("recording.missing", field="call_id", status=response.status_code)

    def chunks() -> Iterator[bytes]:
        with response:
            yield from response.iter_content(CHUNK)

    return Audio(
        content_type=response.headers.get("Content-Type", "audio/wav"),
        length=response.headers.get("Content-Length"),
        chunks=chunks(),
    )
