"""Lead sources: where leads come from, and the secret each one signs its deliveries with.

A source authenticates its deliveries in one of two ways (``LeadSource.auth_mode``):

- ``hmac``: header ``X-DCC-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the
  source's secret; a replayed body can be re-sent but not altered.
- ``token``: header ``X-DCC-Token: <secret>``, for portals that cannot sign.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from dcc.errors import Conflict, DCCError, NotFound, ValidationError
from dcc.leads import fields
from dcc.leads.models import Channel, LeadSource

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
AUTH_MODES = ("hmac", "token")
SIGNATURE_HEADER = "X-DCC-Signature"
TOKEN_HEADER = "X-DCC-Token"
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


def sign(secret: str, body: bytes) -> str:
    """The ``X-DCC-Signature`` value for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def authenticate(
    source: DeliverySource, body: bytes, *, signature: str | None, token: str | None
) -> None:
    """Check a delivery's raw ``body`` against the source's secret, in constant time.

    Raises :class:`DeliveryUnauthenticated` naming the header that is missing or wrong.
    """
    if source.auth_mode == "token":
        if not token:
            raise DeliveryUnauthenticated(
                "auth.header_required", field=TOKEN_HEADER, header=TOKEN_HEADER
            )
        if not hmac.compare_digest(token.strip().encode(), source.secret.encode()):
            raise DeliveryUnauthenticated(
                "auth.header_wrong", field=TOKEN_HEADER, header=TOKEN_HEADER
            )
        return
    if not signature:
        raise DeliveryUnauthenticated(
            "auth.signature_required", field=SIGNATURE_HEADER, header=SIGNATURE_HEADER
        )
    given = signature.strip()
    scheme, _, hexdigest = given.partition("=")
    expected = sign(source.secret, body)
    if scheme.lower() != "sha256" or not hmac.compare_digest(
        f"sha256={hexdigest.lower()}".encode(), expected.encode()
    ):
        raise DeliveryUnauthenticated(
            "auth.signature_mismatch", field=SIGNATURE_HEADER, header=SIGNATURE_HEADER
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
