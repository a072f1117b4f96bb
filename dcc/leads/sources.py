"""Lead sources: where leads come from, and the secret each one signs its deliveries with.

A source authenticates its deliveries in one of three ways (``LeadSource.auth_mode``):

- ``hmac``: header ``X-DCC-Signature: sha256=<hex HMAC-SHA256>`` keyed with the source's secret,
  over the raw body; or, when the delivery carries ``X-DCC-Timestamp: <Unix seconds>``, over
  ``<timestamp>.<body>``. A timestamped delivery is refused outside :data:`TIMESTAMP_TOLERANCE`
  of the server's clock, and a copy replayed inside it gets the first answer (its signature is
  its replay key). An untimed body can be re-sent but not altered.
- ``hmac_ts``: the same, with the timestamp required: captured deliveries cannot be replayed.
- ``token``: header ``X-DCC-Token: <secret>``, for portals that cannot sign.

The signature header is read strictly: ``sha256=`` and 64 lowercase hex digits, nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from dcc import clock
from dcc.errors import Conflict, DCCError, NotFound, ValidationError
from dcc.leads import fields
from dcc.leads.models import Channel, LeadSource

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
AUTH_MODES = ("hmac", "hmac_ts", "token")
SIGNED_MODES = frozenset({"hmac", "hmac_ts"})
SIGNATURE_HEADER = "X-DCC-Signature"
TIMESTAMP_HEADER = "X-DCC-Timestamp"
TOKEN_HEADER = "X-DCC-Token"
#: How far a signed timestamp may be from the server's clock, either way (clocks drift).
TIMESTAMP_TOLERANCE = dt.timedelta(minutes=5)
_SIGNATURE = re.compile(r"\Asha256=([0-9a-f]{64})\Z")
_TIMESTAMP = re.compile(r"\A[0-9]{1,12}\Z")
MIN_SECRET_LENGTH = 16


class SourceRef(Protocol):
    """What the intake needs to know of a source (a :class:`LeadSource` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def sub_source(self) -> str | None: ...
    @property
    def team_id(self) -> int | None: ...


@dataclass(frozen=True)
class SourceInfo:
    id: int
    channel: Channel
    sub_source: str | None
    team_id: int | None


_sources = cast(Table, LeadSource.__table__)
_FIRST_OF_CHANNEL = (
    select(_sources.c.id, _sources.c.channel, _sources.c.sub_source, _sources.c.team_id)
    .where(_sources.c.channel == bindparam("channel"))
    .order_by(_sources.c.id)
    .limit(1)
)


@dataclass(frozen=True)
class DeliverySource(SourceInfo):
    """An enabled source as a delivery sees it: what the intake needs, and how to check it."""

    secret: str
    auth_mode: str


_ENABLED_BY_SLUG = select(
    _sources.c.id,
    _sources.c.channel,
    _sources.c.sub_source,
    _sources.c.team_id,
    _sources.c.secret,
    _sources.c.auth_mode,
).where(_sources.c.slug == bindparam("slug"), _sources.c.enabled.is_(True))


def first_of_channel(session: Session, channel: Channel) -> SourceInfo | None:
    """The channel's first source (the hotline's, say), read without loading the ORM object."""
    row = session.connection().execute(_FIRST_OF_CHANNEL, {"channel": channel}).first()
    return SourceInfo(*row) if row is not None else None


class DeliveryUnauthenticated(DCCError):
    """A delivery whose signature or token is missing or wrong."""

    status_code = 401


def create(
    session: Session,
    *,
    slug: str,
    name: str,
    channel: Channel | str,
    secret: str | None = None,
    sub_source: str | None = None,
    auth_mode: str = "hmac",
    auto_dial: bool = False,
    team_id: int | None = None,
) -> LeadSource:
    slug, name = fields.SOURCE_SLUG.clean(slug), fields.SOURCE_NAME.clean(name)
    sub_source = fields.SUB_SOURCE.clean(sub_source)
    if not _SLUG.match(slug):
        raise ValidationError("field.bad_slug", field="slug")
    channel = _channel(channel)
    auth_mode = _auth_mode(auth_mode)
    secret = secret or new_secret()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError("field.secret_too_short", field="secret", min=MIN_SECRET_LENGTH)
    if session.scalar(select(LeadSource.id).where(LeadSource.slug == slug)) is not None:
        raise Conflict("source.exists", field="slug", source=slug)
    source = LeadSource(
        slug=slug,
        name=name,
        channel=channel,
        sub_source=sub_source,
        secret=secret,
        auth_mode=auth_mode,
        auto_dial=auto_dial,
        team_id=team_id,
    )
    session.add(source)
    session.flush()
    return source


def get_by_slug(session: Session, slug: str) -> LeadSource:
    source = session.scalar(select(LeadSource).where(LeadSource.slug == slug))
    if source is None:
        raise NotFound("source.not_found", field="source", source=slug)
    return source


def get_enabled(session: Session, slug: str) -> DeliverySource:
    """The source a delivery names; unknown and disabled sources look the same to callers.

    Read on every delivery, so only the columns a delivery needs and no ORM object."""
    row = session.connection().execute(_ENABLED_BY_SLUG, {"slug": slug}).first()
    if row is None:
        raise NotFound("source.not_found", field="source", source=slug)
    return DeliverySource(*row)


def list_all(session: Session) -> list[LeadSource]:
    return list(session.scalars(select(LeadSource).order_by(LeadSource.slug)))


def update(
    source: LeadSource,
    *,
    name: str | None = None,
    channel: Channel | str | None = None,
    sub_source: str | None = None,
    auth_mode: str | None = None,
    auto_dial: bool | None = None,
) -> LeadSource:
    """Change what is given; ``sub_source=""`` clears it. Validates before changing anything."""
    new_channel = _channel(channel) if channel is not None else None
    new_auth = _auth_mode(auth_mode) if auth_mode is not None else None
    new_name = fields.SOURCE_NAME.clean(name) if name is not None else None
    new_sub_source = fields.SUB_SOURCE.clean(sub_source) if sub_source is not None else None
    if new_name is not None:
        source.name = new_name
    if new_channel is not None:
        source.channel = new_channel
    if sub_source is not None:
        source.sub_source = new_sub_source
    if new_auth is not None:
        source.auth_mode = new_auth
    if auto_dial is not None:
        source.auto_dial = auto_dial
    return source


def set_enabled(source: LeadSource, enabled: bool) -> LeadSource:
    """A disabled source's deliveries are refused (404) until it is enabled again."""
    source.enabled = enabled
    return source


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def rotate_secret(source: LeadSource) -> str:
    """Give the source a new random secret; the old one stops working at once."""
    source.secret = new_secret()
    return source.secret


def sign(secret: str, body: bytes, timestamp: int | str | None = None) -> str:
    """The ``X-DCC-Signature`` value for ``body``: ``sha256=<hex>``; with a ``timestamp`` (the
    ``X-DCC-Timestamp`` sent along), of ``<timestamp>.<body>``."""
    material = body if timestamp is None else f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def authenticate(
    source: DeliverySource,
    body: bytes,
    *,
    signature: str | None,
    token: str | None,
    timestamp: str | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """Check a delivery's raw ``body`` against the source's secret, in constant time.

    Returns the delivery's replay key when its signature is timestamped (a copy sent again
    inside the tolerance is the same delivery), else None. Raises
    :class:`DeliveryUnauthenticated` naming the header that is missing or wrong.
    """
    if source.auth_mode not in SIGNED_MODES:
        if not token:
            raise DeliveryUnauthenticated(
                "auth.header_required", field=TOKEN_HEADER, header=TOKEN_HEADER
            )
        if not hmac.compare_digest(token.strip().encode(), source.secret.encode()):
            raise DeliveryUnauthenticated(
                "auth.header_wrong", field=TOKEN_HEADER, header=TOKEN_HEADER
            )
        return None
    if not signature:
        raise DeliveryUnauthenticated(
            "auth.signature_required", field=SIGNATURE_HEADER, header=SIGNATURE_HEADER
        )
    given = _SIGNATURE.match(signature)
    if given is None:
        raise DeliveryUnauthenticated(
            "auth.signature_format", field=SIGNATURE_HEADER, header=SIGNATURE_HEADER
        )
    if timestamp is None and source.auth_mode == "hmac_ts":
        raise DeliveryUnauthenticated(
            "auth.timestamp_required", field=TIMESTAMP_HEADER, header=TIMESTAMP_HEADER
        )
    if timestamp is not None and not _TIMESTAMP.match(timestamp):
        raise DeliveryUnauthenticated(
            "auth.timestamp_format", field=TIMESTAMP_HEADER, header=TIMESTAMP_HEADER
        )
    expected = sign(source.secret, body, timestamp)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise DeliveryUnauthenticated(
            "auth.signature_mismatch_timestamped"
            if timestamp is not None
            else "auth.signature_mismatch",
            field=SIGNATURE_HEADER,
            header=SIGNATURE_HEADER,
        )
    if timestamp is None:
        return None
    _check_fresh(int(timestamp), now or clock.now())
    return "sig:" + given.group(1)


def _check_fresh(timestamp: int, now: dt.datetime) -> None:
    """A timestamped delivery is taken only near the time it was signed: a copy captured and
    sent again later is refused."""
    drift = abs(now.timestamp() - timestamp)
    if drift > TIMESTAMP_TOLERANCE.total_seconds():
        raise DeliveryUnauthenticated(
            "auth.timestamp_stale",
            field=TIMESTAMP_HEADER,
            header=TIMESTAMP_HEADER,
            minutes=int(TIMESTAMP_TOLERANCE.total_seconds() // 60),
        )


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError as exc:
        choices = ", ".join(c.value for c in Channel)
        raise ValidationError("field.bad_choice", field="channel", choices=choices) from exc


def _auth_mode(value: str) -> str:
    if value not in AUTH_MODES:
        raise ValidationError("field.bad_choice", field="auth_mode", choices=sorted(AUTH_MODES))
    return value
