"""Which calls a provider accepts, as data: checked up front, before anything is dialled.

A dial the provider would refuse should be refused by the app with a clear reason (and no
attempt left half-made), so each adapter carries its provider's published rules and
``check_dial`` applies them. Twilio (checked against its documentation):

- numbers must be E.164 (``+`` and country code);
- Twilio stopped outbound calls to mainland China (``+86``) on 2023-11-30;
- before that it already refused calls to China that present a Chinese caller ID.

Browser / SDK identities (``client:<identity>``) are not phone numbers and are always
accepted. The simulator's own geographic permissions are a separate setting (default: every
destination, as for a domestic carrier), so the embedded demo keeps calling Chinese numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
CLIENT_PREFIX = "client:"


@dataclass(frozen=True)
class DialRules:
    """What a provider accepts: destination prefixes it never calls, and caller-ID prefixes
    it refuses to present to given destination prefixes."""

    provider: str
    blocked_destinations: tuple[tuple[str, str], ...] = ()  # (prefix, reason)
    blocked_caller_ids: tuple[tuple[str, str, str], ...] = ()  # (caller ID, to, reason)
    e164_only: bool = True


TWILIO = DialRules(
    provider="Twilio",
    blocked_destinations=(
        ("+86", "Twilio does not place calls to mainland China numbers (+86) since 2023-11-30"),
    ),
    blocked_caller_ids=(("+86", "+86", "Twilio refuses a Chinese caller ID on calls to China"),),
)

#: A provider with no restrictions of its own (the simulator: its geo permissions decide).
ANYWHERE = DialRules(provider="simulator")


def check_dial(destination: str, caller_id: str | None, rules: DialRules = TWILIO) -> str | None:
    """Why ``rules``' provider would refuse to call ``destination`` showing ``caller_id``, or
    None when it accepts. ``caller_id`` None means the provider's default (not checked)."""
    if destination.startswith(CLIENT_PREFIX):
        return None
    if rules.e164_only and not E164.match(destination):
        return (
            f"{rules.provider} only calls E.164 numbers (+ and country code), not {destination!r}"
        )
    presented = caller_id and not caller_id.startswith(CLIENT_PREFIX)
    if presented and rules.e164_only and not E164.match(caller_id or ""):
        return f"{rules.provider} only presents E.164 caller IDs, not {caller_id!r}"
    for prefix, reason in rules.blocked_destinations:
        if destination.startswith(prefix):
            return reason
    for caller_prefix, to_prefix, reason in rules.blocked_caller_ids:
        if caller_id and caller_id.startswith(caller_prefix) and destination.startswith(to_prefix):
            return reason
    return None
