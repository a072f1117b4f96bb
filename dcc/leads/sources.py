"""Lead sources: where leads come from, and the secret each one signs its deliveries with."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcc.errors import Conflict, NotFound, ValidationError
from dcc.leads.models import Channel, LeadSource

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def create(
    session: Session,
    *,
    slug: str,
    name: str,
    channel: Channel | str,
    secret: str,
    sub_source: str | None = None,
    auth_mode: str = "hmac",
    auto_dial: bool = False,
    team_id: int | None = None,
) -> LeadSource:
    if not _SLUG.match(slug):
        raise ValidationError("slug: lowercase letters, digits, - and _", field="slug")
    try:
        channel = Channel(channel)
    except ValueError as exc:
        choices = ", ".join(c.value for c in Channel)
        raise ValidationError(f"channel must be one of {choices}", field="channel") from exc
    if auth_mode not in {"hmac", "token"}:
        raise ValidationError("auth must be hmac or token", field="auth_mode")
    if len(secret) < 16:
        raise ValidationError("a secret has at least 16 characters", field="secret")
    if session.scalar(select(LeadSource.id).where(LeadSource.slug == slug)) is not None:
        raise Conflict(f"source {slug!r} exists", field="slug")
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
        raise NotFound(f"no source {slug!r}", field="source")
    return source


def rotate_secret(source: LeadSource) -> str:
    source.secret = secrets.token_urlsafe(32)
    return source.secret
