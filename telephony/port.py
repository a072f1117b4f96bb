"""The telephony port: the small interface ``dcc`` calls to place calls and send messages.

Adapters implement it structurally (no inheritance needed); ``TwilioTelephony`` is the one real
adapter, and pointing it at the local simulator gives the embedded mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

#: The status events the service asks for on every leg (Twilio also offers ``initiated``).
#: ``answered`` arrives as ``CallStatus=in-progress``; ``completed`` also covers busy /
#: no-answer / failed / canceled. ``initiated`` tells nothing ``ringing`` does not tell a
#: moment later (the attempt is on record before it is placed, and a leg that
#: never rings still reports ``completed``): one webhook fewer per leg, a sixth of them all.
CALL_EVENTS: tuple[str, ...] = ("ringing", "answered", "completed")


@dataclass(frozen=True)
class ProviderCall:
    """A call as the provider lists it (for reconciling an attempt whose outcome is unknown)."""

    sid: str
    to: str
    from_: str
    status: str
    direction: str
    parent_sid: str | None
    created_at: datetime | None
    started_at: datetime | None  # when it was dialled; None while still queued


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider lists it."""

    sid: str
    to: str
    from_: str
    status: str
    created_at: datetime | None


@runtime_checkable
class Telephony(Protocol):
    """What the application needs from a voice and messaging provider."""

    def place_bridged_call(
        self,
        *,
        agent: str,
        customer: str,
        caller_id: str,
        bridge_url: str,
        status_callback: str,
        recording_callback: str | None = None,
        machine_detection: bool = False,
        timeout: int = 30,
        time_limit: int | None = None,
    ) -> str:
        """Ring the agent first and return the agent leg's CallSid.

        ``agent`` is an E.164 number or ``client:<identity>``. When the agent answers, the
        provider fetches ``bridge_url``, whose ``<Dial>`` rings ``customer`` with ``caller_id``
        (the hotline) shown; the REST request itself never dials the customer, so ``customer`` is
        here for logging and for adapters that need it. ``status_callback`` receives the agent
        leg's initiated, ringing, answered and completed events. ``recording_callback`` records
        the whole agent leg: leave it ``None`` when the bridge TwiML records (the usual case),
        or the call is recorded twice.

        Raises :class:`~telephony.errors.TelephonyTimeout` when the request may have been
        accepted but no answer came (outcome unknown: reconcile before retrying),
        :class:`~telephony.errors.TelephonyUnavailable` when nothing was sent (safe to retry),
        and :class:`~telephony.errors.TelephonyError` when the provider refused.
        """
        ...

    def place_call(
        self,
        *,
        to: str,
        caller_id: str,
        url: str,
        status_callback: str,
        machine_detection: bool = False,
        timeout: int = 30,
    ) -> str:
        """Ring ``to`` (a customer) with ``caller_id`` shown and return the leg's CallSid; when
        they answer, the provider fetches ``url`` for what they hear (e.g. a greeting, then a
        queue). ``status_callback`` receives the leg's ringing, answered and completed events;
        with ``machine_detection`` the answer's request says who answered (``AnsweredBy``).
        Raises as :meth:`place_bridged_call` does.
        """
        ...

    def end_call(self, sid: str) -> None:
        """Hang up a live call, or cancel one that is still queued or ringing."""
        ...

    def redirect_call(self, sid: str, url: str) -> None:
        """Make a live call leave its current TwiML and run the TwiML served at ``url``."""
        ...

    def update_call(self, sid: str, *, url: str | None = None, twiml: str | None = None) -> None:
        """Give a live call — e.g. a caller waiting in a queue — new TwiML: the document at
        ``url``, or the ``twiml`` itself (exactly one of them)."""
        ...

    def find_calls(self, *, to: str, since: datetime) -> list[ProviderCall]:
        """Calls to ``to`` created or dialled since ``since`` (newest first), queued ones
        included: how an attempt whose request timed out is found (or known not to exist)."""
        ...

    def find_messages(self, *, to: str, since: datetime) -> list[ProviderMessage]:
        """Messages to ``to`` accepted since ``since`` (newest first)."""
        ...

    def check_dial(self, destination: str, caller_id: str | None) -> str | None:
        """Why the provider would refuse to call ``destination`` showing ``caller_id`` (a
        sentence for the user), or None when it accepts: ask before dialling."""
        ...

    def send_sms(
        self, *, to: str, body: str, from_: str, status_callback: str | None = None
    ) -> str:
        """Send a text message and return its sid (``SM…``); errors as for calls."""
        ...

    def validate_request(self, url: str, params: Mapping[str, str] | str, signature: str) -> bool:
        """Tell whether ``signature`` (``X-Twilio-Signature``) signs this webhook request.

        ``url`` is the full public URL the provider requested, query included; ``params`` the
        form parameters (a werkzeug ``MultiDict`` keeps repeated values), or the raw body for
        JSON webhooks signed with ``bodySHA256``.
        """
        ...
