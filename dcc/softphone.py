"""The browser softphone: a short-lived Twilio Voice access token for the logged-in agent.

With an API key configured, the hotline rings agents at ``client:<identity>`` (see
:func:`dcc.calls.routing.agent_endpoint`) and the browser answers with the token made here.
"""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from dcc.calls.routing import client_identity
from dcc.config import Settings
from dcc.errors import NotFound
from dcc.users.models import User

TTL_SECONDS = 3600


def identity_for(user: User) -> str:
    """The client identity of ``user``, the one the hotline rings (``client:<identity>``)."""
    return client_identity(user)


def voice_token(user: User, settings: Settings) -> dict[str, object]:
    """A signed token letting ``user``'s browser place and receive calls for an hour."""
    if not (settings.twilio_api_key_sid and settings.twilio_api_key_secret):
        raise NotFound(
            "softphone.not_configured",
            field="softphone",
        )
    identity = identity_for(user)
    token = AccessToken(
        settings.twilio_account_sid,
        settings.twilio_api_key_sid,
        settings.twilio_api_key_secret,
        identity=identity,
        ttl=TTL_SECONDS,
    )
    token.add_grant(
        VoiceGrant(
            outgoing_application_sid=settings.twilio_twiml_app_sid or None,
            incoming_allow=True,
        )
    )
    return {"token": token.to_jwt(), "identity": identity, "ttl": TTL_SECONDS}
