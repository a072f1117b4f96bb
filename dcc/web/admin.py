"""Admin pages: the invitation script (versioned), the offers it mentions, the dealer's
call-flow settings, the job queues and the outbox.

The queues are rq-dashboard's, mounted under ``/admin/rq`` behind the admin login.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import redis
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Response

from dcc import clock
from dcc.broker import get_broker, get_redis
from dcc.calls import policy as call_policy
from dcc.callscripts import service as callscripts
from dcc.callscripts.models import CallScript, Offer
from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import DCCError
from dcc.jobs import outbox
from dcc.jobs.models import OutboxJob
from dcc.queues import QUEUE_NAMES
from dcc.users.models import Role, User
from dcc.web import security
from dcc.web.common import login_manager, me, refused, roles
from dcc.web.forms import OfferForm, ScriptForm
from dcc.web.manager_forms import flash_errors
from dcc.web.messages import say
from dcc.web.panel import active_script

bp = Blueprint("web_admin", __name__, url_prefix="/admin")
RQ_PREFIX = "/admin/rq"
#: rq-dashboard's views that only read; its others change state and answer POST only (its
#: "requeue all" also answers GET, which a link on another site could trigger).
RQ_READ_ONLY = frozenset(
    f"rq_dashboard.{name}"
    for name in (
        "queues_overview",
        "workers_overview",
        "jobs_overview",
        "job_view",
        "list_queues",
        "list_jobs",
        "job_info",
        "list_workers",
        "favicon",
        "static",
    )
)
#: rq-dashboard's pages run inline scripts and underscore templates (which compile with
#: ``new Function``) and set inline styles; the policy of its pages allows that, and still no
#: other site, no framing.
RQ_CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@bp.route("/script", methods=["GET", "POST"])
@roles(Role.ADMIN)
def script() -> str | Response:
    """Edit one variant of the script; every save is a new version (the other variants carried
    over), earlier calls keep theirs. A refused save shows the page again with what was typed."""
    session = get_session()
    current = active_script(session)
    variant = request.values.get("variant") or callscripts.INVITATION_CALL
    if variant not in callscripts.VARIANTS:
        abort(404)
    form = ScriptForm()
    if request.method == "POST":
        if not form.validate():
            flash(_("Every step needs a title and a text."), "error")
            return _script_page(session, current, form, variant)
        steps = [{"title": s.title.data, "text": s.text.data} for s in form.steps]
        try:
            saved = callscripts.save_version(session, steps, author_id=me().id, variant=variant)
        except DCCError as error:
            session.rollback()
            flash(say(error), "error")
            return _script_page(session, current, form, variant)
        flash(_("Saved as version %(version)s.", version=saved.version), "info")
        return redirect(url_for("web_admin.script", variant=variant))
    shown = callscripts.steps_of(current, variant)
    for step in shown:
        form.steps.append_entry(step)
    if len(form.steps) > len(shown):  # min_entries added an empty first row
        form.steps.entries = form.steps.entries[-len(shown) :]
    return _script_page(session, current, form, variant)


def _script_page(session: Session, current: CallScript, form: ScriptForm, variant: str) -> str:
    versions = session.scalars(
        select(CallScript)
        .where(CallScript.name == callscripts.INVITATION)
        .order_by(CallScript.version.desc())
    ).all()
    authors = {u.id: u.name for u in session.scalars(select(User).where(User.role == Role.ADMIN))}
    return render_template(
        "web/admin_script.html",
        form=form,
        current=current,
        versions=versions,
        authors=authors,
        placeholders=callscripts.PLACEHOLDERS,
        variants=callscripts.VARIANTS,
        variant=variant,
    )


@bp.route("/offers", methods=["GET", "POST"])
@roles(Role.ADMIN)
def offers() -> str | Response:
    """The dealer's current offers and events, which the scripts' {offer} mentions by date."""
    session = get_session()
    form = OfferForm()
    if request.method == "POST":
        if form.validate():
            try:
                callscripts.add_offer(
                    session, form.title.data, form.starts_on.data, form.ends_on.data
                )
            except DCCError as error:
                session.rollback()
                flash(say(error, fields={"ends_on": form.ends_on.label.text}), "error")
            else:
                flash(_("Offer added."), "info")
                return redirect(url_for("web_admin.offers"))
        else:
            flash_errors(form)
    rows = session.scalars(
        select(Offer).order_by(Offer.is_active.desc(), Offer.starts_on.desc(), Offer.id.desc())
    ).all()
    return render_template("web/admin_offers.html", form=form, rows=rows, today=_today())


def _today() -> dt.date:
    return clock.local(clock.now(), get_settings().timezone).date()


@bp.post("/offers/<int:offer_id>/end")
@roles(Role.ADMIN)
def end_offer(offer_id: int) -> Response:
    try:
        callscripts.end_offer(get_session(), offer_id)
    except DCCError as error:
        return refused(error, url_for("web_admin.offers"))
    flash(_("The offer is no longer mentioned."), "info")
    return redirect(url_for("web_admin.offers"))


SECONDS, MINUTES = _l("seconds"), _l("minutes")


@dataclass(frozen=True)
class CallSetting:
    """How the page names one call-flow setting: what it is, what it does, its unit (none
    for a count or a text)."""

    label: LazyString | str
    hint: LazyString | str = ""
    unit: LazyString | None = None
    placeholders: tuple[str, ...] = ()


#: The page's words for each field of :class:`dcc.calls.policy.CallPolicy` (the rules that
#: check a value stay in :func:`dcc.calls.policy.update`).
CALL_SETTINGS: dict[str, CallSetting] = {
    "owner_ring_seconds": CallSetting(
        _l("Owner's ring"),
        _l("A caller's own agent rings this long before the team is rung."),
        SECONDS,
    ),
    "agent_ring_seconds": CallSetting(
        _l("Team ring, each round"),
        _l("Each round rings up to ten agents at once for this long."),
        SECONDS,
    ),
    "skip_unanswered_minutes": CallSetting(
        _l("Pause after a missed ring"),
        _l("An agent who let a ring go unanswered is not rung again for this long."),
        MINUTES,
    ),
    "queue_callback_after_seconds": CallSetting(
        _l("Callback offer in the queue"),
        _l("A caller waiting this long in the queue may press 1 to be called back."),
        SECONDS,
    ),
    "wrap_up_seconds": CallSetting(
        _l("Wrap-up time"),
        _l("The wrap-up after a call ends by itself after this long."),
        SECONDS,
    ),
    "wrap_up_extension_seconds": CallSetting(
        _l("Wrap-up extension"),
        _l("What the agent's “More time” adds to the wrap-up, each time."),
        SECONDS,
    ),
    "keep_ready_agents": CallSetting(
        _l("Agents kept free"),
        _l(
            "“Call the next one” leaves follow-ups waiting while fewer other agents than this"
            " are free for the hotline and new leads (0: follow-ups never wait)."
        ),
    ),
    "customer_first_after_seconds": CallSetting(
        _l("Ring the customer first after"),
        _l(
            "A new lead no agent could dial this long after it came in has its customer rung"
            " first, to wait in the hotline queue for the first free agent (0: off)."
        ),
        SECONDS,
    ),
    "recording_notice": CallSetting(
        _l("Recording notice"),
        _l("Said to the customer before a recorded outbound call, with the dealer's name."),
        placeholders=("dealer",),
    ),
}


@dataclass(frozen=True)
class ShownSetting:
    """One row of the settings page: the field, its words, what the box holds, its default."""

    name: str
    words: CallSetting
    value: str
    default: object
    is_text: bool
    invalid: bool


@bp.route("/calls", methods=["GET", "POST"])
@roles(Role.ADMIN)
def calls() -> str | Response | tuple[str, int]:
    """The dealer's call-flow settings, each with what it does, its value and its default.
    A save stores only what was edited, checked by :func:`dcc.calls.policy.update`, all or
    nothing: a refused value is named (422) and the page keeps what was typed."""
    session = get_session()
    current = call_policy.load(session)
    if request.method == "GET":
        return _calls_page(current)
    typed = {name: request.form[name] for name in _call_setting_names() if name in request.form}
    changes = {name: raw for name, raw in typed.items() if _edited(raw, getattr(current, name))}
    if not changes:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for("web_admin.calls"))
    try:
        call_policy.update(session, changes, actor_id=me().id)
    except DCCError as error:
        session.rollback()
        labels = {name: words.label for name, words in CALL_SETTINGS.items()}
        flash(say(error, fields=labels), "error")
        return _calls_page(current, typed=typed, invalid=error.field), 422
    flash(_("Call-flow settings saved."), "info")
    return redirect(url_for("web_admin.calls"))


def _call_setting_names() -> list[str]:
    return [f.name for f in fields(call_policy.CallPolicy)]


def _edited(raw: str, value: object) -> bool:
    """Whether the admin changed a box: a value left as shown is not stored (an unset value
    keeps following the default)."""
    return raw.strip() != str(value)


def _calls_page(
    current: call_policy.CallPolicy,
    *,
    typed: dict[str, str] | None = None,
    invalid: str | None = None,
) -> str:
    defaults = call_policy.CallPolicy()
    rows = [
        ShownSetting(
            name=name,
            words=CALL_SETTINGS.get(name) or CallSetting(name),  # not yet described: its key
            value=(typed or {}).get(name, str(getattr(current, name))),
            default=getattr(defaults, name),
            is_text=isinstance(getattr(defaults, name), str),
            invalid=name == invalid,
        )
        for name in _call_setting_names()
    ]
    return render_template("web/admin_calls.html", rows=rows, longest=call_policy.LONGEST)


@bp.get("/jobs")
@roles(Role.ADMIN)
def jobs() -> str:
    """Queue lengths and failures at a glance, and outbox work that is stuck or failing."""
    queues = []
    # Scheduled work waits in the outbox until it is due (the sweeper enqueues it then).
    waiting = dict(
        get_session()
        .execute(
            select(OutboxJob.queue, func.count())
            .where(
                *outbox.open_work(), OutboxJob.failed_at.is_(None), OutboxJob.run_at > clock.now()
            )
            .group_by(OutboxJob.queue)
        )
        .all()
    )
    try:
        conn = get_redis()
        for name in QUEUE_NAMES:
            queue = Queue(name, connection=conn)
            queues.append(
                {
                    "name": name,
                    "queued": queue.count,
                    "scheduled": waiting.get(name, 0),
                    "failed": FailedJobRegistry(name, connection=conn).count,
                }
            )
    except redis.RedisError:
        flash(_("Redis is not reachable."), "error")
    rows = (
        get_session()
        .scalars(
            select(OutboxJob)
            .where(
                OutboxJob.canceled_at.is_(None),
                or_(OutboxJob.last_error.is_not(None), OutboxJob.done_at.is_(None)),
            )
            .order_by(OutboxJob.last_error.is_(None), OutboxJob.run_at)
            .limit(200)
        )
        .all()
    )
    return render_template("web/admin_jobs.html", queues=queues, rows=rows)


def mount_rq_dashboard(app: Flask) -> None:
    """rq-dashboard's blueprint under /admin/rq, for admins only, on the app's own Redis."""
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app.config["RQ_DASHBOARD_POLL_INTERVAL"] = 5000
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)
    security.relax_for(app, "rq_dashboard", RQ_CONTENT_SECURITY_POLICY)

    @app.before_request
    def _admins_only() -> Response | None:
        if request.blueprint != "rq_dashboard":
            return None
        if not current_user.is_authenticated:
            response: Response = login_manager.unauthorized()
            return response
        if me().role != Role.ADMIN:
            abort(403)
        if request.method in {"GET", "HEAD"} and request.endpoint not in RQ_READ_ONLY:
            # A change of state: POST, with the CSRF token, as the dashboard's buttons send it.
            raise MethodNotAllowed(valid_methods=["POST"])
        if not app.extensions.get("dcc.rq_dashboard"):
            # Resolved on first use: the embedded Redis starts only when something needs it.
            app.config["RQ_DASHBOARD_REDIS_URL"] = get_broker(app).url
            setup_rq_connection(app)
            app.extensions["dcc.rq_dashboard"] = True
        return None

    @app.after_request
    def _dashboard_csrf(response: Response) -> Response:
        # rq-dashboard's scripts send the "_csrf_token" cookie back as X-CSRFToken on POSTs.
        if request.blueprint == "rq_dashboard" and response.mimetype == "text/html":
            response.set_cookie("_csrf_token", generate_csrf(), path=RQ_PREFIX, samesite="Lax")
        return response
