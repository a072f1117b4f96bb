"""Admin page for lead sources: the portals and web forms that deliver leads, their secrets.

A secret is shown once, on the page that made it (creation or rotation), and never again; the
list shows each source's webhook URL, how it authenticates, auto-dial and whether it is on.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc import audit
from dcc.db import get_session
from dcc.errors import DCCError
from dcc.leads import sources
from dcc.leads.models import LeadSource
from dcc.users.models import Role
from dcc.web.common import me, refused, roles
from dcc.web.forms import SourceForm, SourceSettingsForm
from dcc.web.manager_forms import flash_errors

bp = Blueprint("web_sources", __name__, url_prefix="/admin/sources")


def _page(*, form: SourceForm | None = None, shown_secret: LeadSource | None = None) -> str:
    session = get_session()
    rows = sources.list_all(session)
    # formdata=None: a page answering a POST shows what is stored, not what was posted.
    settings = {
        row.slug: SourceSettingsForm(formdata=None, obj=row, prefix=row.slug) for row in rows
    }
    return render_template(
        "web/admin_sources.html",
        rows=rows,
        settings=settings,
        form=form or SourceForm(formdata=None, channel="portal", auth_mode="hmac"),
        shown_secret=shown_secret,
        webhook_base=current_app.extensions["dcc.settings"].public_base_url.rstrip("/"),
    )


def _record(action: str, source: LeadSource, **details: object) -> None:
    session = get_session()
    session.flush()
    audit.record(
        session,
        actor_id=me().id,
        action=action,
        entity="lead_source",
        entity_id=source.id,
        slug=source.slug,
        **details,
    )


@bp.get("")
@roles(Role.ADMIN)
def index() -> str:
    return _page()


@bp.post("")
@roles(Role.ADMIN)
def create() -> str | Response:
    """Add a source with a generated secret, shown on the answer and never again."""
    form = SourceForm()
    if not form.validate():
        flash_errors(form)
        return _page(form=form)
    try:
        source = sources.create(
            get_session(),
            slug=(form.slug.data or "").strip(),
            name=form.name.data or "",
            channel=form.channel.data or "",
            sub_source=(form.sub_source.data or "").strip() or None,
            auth_mode=form.auth_mode.data or "",
            auto_dial=bool(form.auto_dial.data),
        )
    except DCCError as error:
        return refused(error, url_for("web_sources.index"))
    _record("lead_source.create", source)
    flash(_("Source %(slug)s added.", slug=source.slug), "info")
    return _page(shown_secret=source)


@bp.post("/<slug>")
@roles(Role.ADMIN)
def update(slug: str) -> Response:
    session = get_session()
    try:
        source = sources.get_by_slug(session, slug)
        form = SourceSettingsForm(prefix=slug)
        if not form.validate():
            flash_errors(form)
            return redirect(url_for("web_sources.index"))
        sources.update(
            source,
            name=form.name.data,
            channel=form.channel.data,
            sub_source=form.sub_source.data or "",
            auth_mode=form.auth_mode.data,
            auto_dial=bool(form.auto_dial.data),
        )
    except DCCError as error:
        return refused(error, url_for("web_sources.index"))
    _record("lead_source.update", source)
    flash(_("Source %(slug)s saved.", slug=slug), "info")
    return redirect(url_for("web_sources.index"))


@bp.post("/<slug>/rotate")
@roles(Role.ADMIN)
def rotate(slug: str) -> str | Response:
    """A new secret at once; the old one stops working (the portal must be told)."""
    try:
        source = sources.get_by_slug(get_session(), slug)
    except DCCError as error:
        return refused(error, url_for("web_sources.index"))
    sources.rotate_secret(source)
    _record("lead_source.rotate", source)
    flash(_("Source %(slug)s has a new secret; the old one no longer works.", slug=slug), "info")
    return _page(shown_secret=source)


@bp.post("/<slug>/enable")
@roles(Role.ADMIN)
def enable(slug: str) -> Response:
    return _switch(slug, enabled=True)


@bp.post("/<slug>/disable")
@roles(Role.ADMIN)
def disable(slug: str) -> Response:
    return _switch(slug, enabled=False)


def _switch(slug: str, *, enabled: bool) -> Response:
    """A disabled source's deliveries are refused (404) until it is enabled again."""
    try:
        source = sources.get_by_slug(get_session(), slug)
    except DCCError as error:
        return refused(error, url_for("web_sources.index"))
    sources.set_enabled(source, enabled)
    _record("lead_source.enable" if enabled else "lead_source.disable", source)
    if enabled:
        flash(_("Source %(slug)s enabled.", slug=slug), "info")
    else:
        flash(_("Source %(slug)s disabled: its deliveries are refused.", slug=slug), "info")
    return redirect(url_for("web_sources.index"))
