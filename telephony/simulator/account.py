"""The simulated account: what it owns and what it is allowed to do.

Twilio refuses a call or a message before anything rings when the account may not make it:
a ``From`` that is neither one of its numbers nor a verified caller ID, a destination outside
its geographic permissions, a browser identity that nobody registered. This module holds those
settings and the checks, as data the REST API, ``<Dial>`` and ``/sim`` share.

Defaults keep the embedded demo working with Chinese numbers: every destination is allowed (as
for a domestic carrier), and caller IDs are only checked once the account has numbers (the
``owned_numbers`` / ``hotline`` settings or ``/sim/numbers``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
CLIENT_PREFIX = "client:"


def is_client(address: str) -> bool:
    """True for a browser/mobile SDK identity (``client:<identity>``)."""
    return address.startswith(CLIENT_PREFIX)


@dataclass(frozen=True)
class Refusal:
    """Why the provider refuses something: Twilio's error code, HTTP status and message."""

    code: int
    message: str
    status: int = 400


@dataclass
class PhoneNumber:
    """A number of the account and its voice configuration (as in Twilio's console)."""

    number: str
    voice_url: str | None = None
    voice_fallback_url: str | None = None
    status_callback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as ``/sim/numbers`` reports it."""
        return {
            "number": self.number,
            "voice_url": self.voice_url,
            "voice_fallback_url": self.voice_fallback_url,
            "status_callback": self.status_callback,
        }


@dataclass
class Account:
    """Numbers, verified caller IDs, registered clients, geographic permissions and pacing.

    - ``numbers``: the account's own numbers; once there is one, every ``From`` / ``callerId``
      must be one of them or a ``verified`` caller ID (or, on ``<Dial>``, the call's own
      ``From`` / ``To``), as at Twilio.
    - ``clients``: registered ``client:`` identities; ``None`` means every identity is online
      (the demo's default); a set means only those answer.
    - ``geo_allowed``: E.164 prefixes the account may call (``None``: everywhere);
      ``geo_blocked``: prefixes it may not (checked first).
    - ``calls_per_second``: REST-created calls start at most this often; the rest wait
      ``queued`` for their slot.
    """

    numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)
    clients: set[str] | None = None
    geo_allowed: frozenset[str] | None = None
    geo_blocked: frozenset[str] = frozenset()
    calls_per_second: float = 1.0

    # ------------------------------------------------------------------ settings
    def add_number(self, number: PhoneNumber) -> None:
        """Own ``number`` (or change its configuration)."""
        check_e164(number.number, "number")
        self.numbers[number.number] = number

    def set_clients(self, identities: Iterable[str] | None) -> None:
        """Register exactly these identities (``None``: every identity answers again)."""
        self.clients = None if identities is None else {_identity(i) for i in identities}

    def register_client(self, identity: str, registered: bool = True) -> None:
        """Register (or unregister) one identity; the first call turns the registry on."""
        identity = _identity(identity)
        if self.clients is None:
            self.clients = set()
        if registered:
            self.clients.add(identity)
        else:
            self.clients.discard(identity)

    def set_geo(self, allowed: Iterable[str] | None, blocked: Iterable[str] = ()) -> None:
        """Geographic permissions as E.164 prefixes (``allowed=None``: everywhere)."""
        self.geo_allowed = None if allowed is None else frozenset(_prefixes(allowed))
        self.geo_blocked = frozenset(_prefixes(blocked))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as ``/sim/account`` reports it."""
        return {
            "numbers": [n.to_dict() for n in self.numbers.values()],
            "verified_caller_ids": sorted(self.verified),
            "clients": None if self.clients is None else sorted(self.clients),
            "geo_allowed": None if self.geo_allowed is None else sorted(self.geo_allowed),
            "geo_blocked": sorted(self.geo_blocked),
            "calls_per_second": self.calls_per_second,
        }

    # ------------------------------------------------------------------ checks
    @property
    def checks_caller_id(self) -> bool:
        """Caller IDs are checked once the account has numbers."""
        return bool(self.numbers)

    def may_present(self, caller_id: str) -> bool:
        """True if ``caller_id`` is a number of the account or a verified caller ID."""
        return not self.checks_caller_id or caller_id in self.numbers or caller_id in self.verified

    def may_call(self, number: str) -> bool:
        """True if the geographic permissions allow calling ``number``."""
        if any(number.startswith(prefix) for prefix in self.geo_blocked):
            return False
        return self.geo_allowed is None or any(number.startswith(p) for p in self.geo_allowed)

    def client_online(self, address: str) -> bool:
        """True if the ``client:`` identity has a registered device (always, without registry)."""
        return self.clients is None or address[len(CLIENT_PREFIX) :] in self.clients

    def refuse_rest_call(self, to: str, from_: str) -> Refusal | None:
        """Why ``POST Calls.json`` with this ``To`` / ``From`` is refused, if it is."""
        if not (is_client(to) or E164.match(to)):
            return Refusal(21211, f"Invalid 'To' Phone Number: {to}")
        if is_client(from_):
            if is_client(to):
                return None
            return Refusal(21212, f"Invalid 'From' Phone Number: {from_}")
        if not E164.match(from_):
            return Refusal(21212, f"Invalid 'From' Phone Number: {from_}")
        if not self.may_present(from_):
            return Refusal(
                21210,
                f"The source phone number provided, {from_}, is not yet verified for your "
                "account. You may only make calls from phone numbers that you've verified or "
                "purchased from Twilio.",
            )
        if not is_client(to) and not self.may_call(to):
            return Refusal(
                21215,
                f"Account not authorized to call {to}. Perhaps you need to enable some "
                "international permissions.",
            )
        return None

    def refuse_message(self, to: str, from_: str) -> Refusal | None:
        """Why ``POST Messages.json`` is refused, if it is."""
        if not E164.match(to):
            return Refusal(21211, f"The 'To' number {to} is not a valid phone number.")
        if self.checks_caller_id and from_ not in self.numbers:
            return Refusal(
                21606,
                f"The 'From' phone number provided ({from_}) is not a valid message-capable "
                "Twilio phone number for this destination/account.",
            )
        if not self.may_call(to):
            return Refusal(
                21408,
                f"Permission to send an SMS has not been enabled for the region indicated by "
                f"the 'To' number: {to}.",
            )
        return None

    def refuse_dial_caller_id(
        self, caller_id: str | None, call_from: str, call_to: str, target: str
    ) -> Refusal | None:
        """Why a ``<Dial>`` from a call (``call_from`` -> ``call_to``) may not show
        ``caller_id`` to ``target`` (Twilio's error 13214), if it may not."""
        if not self.checks_caller_id or is_client(target):
            return None
        shown = caller_id or call_from
        if caller_id is None and is_client(call_from):
            return Refusal(13214, "Dial: a call from a client needs a callerId to dial a number")
        if shown in {call_from, call_to} or self.may_present(shown):
            return None
        return Refusal(
            13214,
            f"Dial: Invalid callerId value {shown}: callerId must be the calling number, the "
            "called number, or a number of the account or a verified caller ID",
        )

    def refuse_dial_target(self, target: str) -> Refusal | None:
        """Why a ``<Dial>`` noun may not be rung, if it may not (format, geo permissions)."""
        if is_client(target):
            return None
        if not E164.match(target):
            return Refusal(13223, f"Dial: Invalid phone number format {target}")
        if not self.may_call(target):
            return Refusal(
                13227, f"Geo Permission configuration is not permitting call to {target}"
            )
        return None


def check_e164(number: str, name: str) -> str:
    """``number`` if it is E.164, else ValueError naming the field."""
    if not E164.match(number):
        raise ValueError(f"{name} must be an E.164 number (e.g. +864008123123), not {number!r}")
    return number


def _identity(value: str) -> str:
    identity = value[len(CLIENT_PREFIX) :] if is_client(value) else value
    if not re.fullmatch(r"[A-Za-z0-9_]+", identity):
        raise ValueError(f"client identity must be letters, digits and '_', not {value!r}")
    return identity


def _prefixes(values: Iterable[str]) -> list[str]:
    prefixes = [str(v).strip() for v in values if str(v).strip()]
    for prefix in prefixes:
        if not re.fullmatch(r"\+\d{1,15}", prefix):
            raise ValueError(f"geo permission prefixes look like '+86' or '+1', not {prefix!r}")
    return prefixes


def account_from_settings(
    *,
    owned_numbers: Iterable[str] = (),
    verified_caller_ids: Iterable[str] = (),
    clients: Iterable[str] | None = None,
    geo_allowed: Iterable[str] | None = None,
    geo_blocked: Iterable[str] = (),
    calls_per_second: float = 1.0,
    numbers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Account:
    """Build an :class:`Account` from plain settings (constructor or command line)."""
    if calls_per_second <= 0:
        raise ValueError("calls_per_second must be positive")
    account = Account(calls_per_second=float(calls_per_second))
    for number in owned_numbers:
        account.add_number(PhoneNumber(number))
    for number, config in (numbers or {}).items():
        account.add_number(PhoneNumber(number, **dict(config)))
    account.verified = {check_e164(n, "verified caller ID") for n in verified_caller_ids}
    account.set_clients(clients)
    account.set_geo(geo_allowed, geo_blocked)
    return account
